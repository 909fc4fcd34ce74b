"""samples/session is what the real code records, byte for byte, and it verifies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from scanner.cli import main
from scanner.traffic.verify import verify_session

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "session"
DEMO_KEY = SAMPLE.parent / "examiner-demo-key.pem"


def _builder():
    spec = importlib.util.spec_from_file_location("build_sample_session", SAMPLE / "build_sample_session.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_session_is_reproducible(tmp_path: Path) -> None:
    _builder().build(tmp_path)
    for name in ("session.json", "events.jsonl", "observations.jsonl", "marks.jsonl"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), f"rebuild samples/session ({name} differs)"
    if (tmp_path / "flows.mitm").read_bytes() == (SAMPLE / "flows.mitm").read_bytes():
        # the same mitmproxy flow format: the index and the seals are the same bytes too
        for name in ("flows.index.jsonl", "seals.jsonl"):
            assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), f"rebuild samples/session ({name})"
    assert verify_session(tmp_path).flows == verify_session(SAMPLE).flows == 24


def test_sample_session_verifies(capsys) -> None:
    assert main(["verify", str(SAMPLE), "--key", str(DEMO_KEY)]) == 0
    out = capsys.readouterr().out
    assert "flows.mitm: 24 flows" in out and "observations.jsonl: 24 lines" in out and "marks.jsonl: 2 lines" in out
    assert "verify: OK: fully sealed and consistent (24 flows, 24 observations, 2 seals by ed25519:" in out


def test_sample_session_fails_against_another_key(tmp_path: Path, capsys) -> None:
    from scanner.keys import create_key

    other = create_key(tmp_path / "other.pem")
    assert main(["verify", str(SAMPLE), "--fingerprint", other.fingerprint]) == 3
    assert "not by the expected key " + other.fingerprint in capsys.readouterr().out
