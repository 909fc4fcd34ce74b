"""End to end: static facts joined with a recorded proxy session (`piscan scan --session`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from scanner.cli import main
from scanner.schema import validation_errors
from scanner.testing.corpus import REPO

SESSION = REPO / "samples" / "session"


def _scan(tmp_path: Path, session: Path) -> tuple[int, dict]:
    out = tmp_path / "out"
    code = main(["scan", "-q", str(REPO / "samples" / "piscan-demo.apk"), "--session", str(session),
                 "-o", str(out), "--category", "38", "--reproducible"])
    return code, json.loads((out / "result.json").read_text(encoding="utf-8")) if code == 0 else {}


def test_joined_result_has_traffic_and_traffic_findings(tmp_path: Path) -> None:
    code, result = _scan(tmp_path, SESSION)
    assert code == 0
    assert validation_errors(result) == []
    observations = result["facts"]["traffic"]["observations"]
    assert observations and all(o["id"] == f"obs:{o['seq']}" for o in observations)
    phases = {o["phase"] for o in observations}
    assert {"before_consent", "after_consent", "background"} <= phases
    traffic_findings = [f for f in result["findings"] if f["evidence_level"] == "observed_traffic"]
    assert traffic_findings
    for finding in traffic_findings:
        assert all(e["ref"].startswith("obs:") or ":" in e["ref"] for e in finding["evidence"])
    umeng = next(s for s in result["facts"]["sdks"] if s["sdk_id"] == "umeng_analytics")
    assert umeng["seen_in_traffic"] is True
    # SDK payloads the proxy could not decode are reported, never counted as clean.
    assert any(lim["kind"] == "payload_opaque" for lim in result["limitations"])
    assert result["complete"] is False


def test_tampered_session_is_reported(tmp_path: Path) -> None:
    session = tmp_path / "session"
    shutil.copytree(SESSION, session)
    lines = (session / "observations.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace('"phase":"before_consent"', '"phase":"after_consent"', 1)
    (session / "observations.jsonl").write_text("".join(lines), encoding="utf-8")
    assert main(["verify", str(session)]) != 0
    code, result = _scan(tmp_path, session)
    assert code == 0
    assert any(lim["kind"] == "entry_unreadable" and "observations.jsonl" in (lim["where"] or "")
               for lim in result["limitations"])
    assert len(result["facts"]["traffic"]["observations"]) < len(lines)
