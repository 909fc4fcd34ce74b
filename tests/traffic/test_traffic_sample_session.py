"""samples/session is what the real code records, byte for byte, and it verifies."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from scanner.cli import main
from scanner.traffic.verify import verify_session

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "session"


def _builder():
    spec = importlib.util.spec_from_file_location("build_sample_session", SAMPLE / "build_sample_session.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sample_session_is_reproducible(tmp_path: Path) -> None:
    _builder().build(tmp_path)
    for name in ("session.json", "observations.jsonl", "marks.jsonl"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), f"rebuild samples/session ({name} differs)"
    assert verify_session(tmp_path).flows.flows == verify_session(SAMPLE).flows.flows == 24


def test_sample_session_verifies(capsys) -> None:
    assert main(["verify", str(SAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "observations.jsonl: 24 records, chain OK" in out
    assert "marks.jsonl: 2 records, chain OK" in out
    assert "flows.mitm: 24 flows, OK" in out
