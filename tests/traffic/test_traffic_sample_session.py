"""samples/session and tests/data/session-unbound are what the real code records, byte for byte, and they verify."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from scanner.cli import main
from scanner.keys import load_key
from scanner.traffic.verify import verify_session

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "session-unbound"
BOUND = Path(__file__).resolve().parents[2] / "samples" / "session"
DEMO_KEY = BOUND.parent / "examiner-demo-key.pem"


def _builder():
    spec = importlib.util.spec_from_file_location("build_sample_session", BOUND / "build_sample_session.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bound_sample_session_is_reproducible_and_names_the_demo_app(tmp_path: Path) -> None:
    _builder().build(tmp_path, "demo")
    for name in ("session.json", "events.jsonl", "observations.jsonl", "marks.jsonl"):
        assert (tmp_path / name).read_bytes() == (BOUND / name).read_bytes(), f"rebuild samples/session ({name} differs)"
    meta = json.loads((BOUND / "session.json").read_text(encoding="utf-8"))
    assert meta["app_package"] == meta["apk"]["package"] == "cn.piscan.demo"
    assert verify_session(BOUND, expected_fingerprint=load_key(DEMO_KEY).fingerprint).ok
    assert verify_session(BOUND).flows == 12


def test_sample_session_is_reproducible(tmp_path: Path) -> None:
    _builder().build(tmp_path, "unbound")
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
