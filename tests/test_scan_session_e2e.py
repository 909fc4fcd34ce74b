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


def test_joined_result_records_the_session_files_and_seals(tmp_path: Path) -> None:
    code, result = _scan(tmp_path, SESSION)
    assert code == 0
    session = result["facts"]["traffic"]["session"]
    names = [f["name"] for f in session["files"]]
    assert names == sorted(["events.jsonl", "flows.index.jsonl", "flows.mitm", "marks.jsonl", "observations.jsonl",
                            "seals.jsonl", "session.json"])
    assert all(len(f["sha256"]) == 64 for f in session["files"])
    assert session["seal"]["fingerprint"].startswith("ed25519:") and session["seal"]["closed"] is True
    assert session["verify"]["ok"] is True and session["verify"]["problems"] == []
    assert not any(lim["kind"] == "session_unverified" for lim in result["limitations"])


def test_a_session_that_fails_verify_is_refused_unless_accepted(tmp_path: Path, capsys) -> None:
    session = tmp_path / "session"
    shutil.copytree(SESSION, session)
    lines = (session / "observations.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace('"phase":"before_consent"', '"phase":"after_consent"', 1)
    (session / "observations.jsonl").write_text("".join(lines), encoding="utf-8")
    assert main(["verify", str(session)]) != 0
    capsys.readouterr()
    code, _ = _scan(tmp_path, session)
    assert code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fails piscan verify" in err and "--accept-unverified" in err
    assert not (tmp_path / "out").exists()
    out = tmp_path / "out2"
    assert main(["scan", "-q", str(REPO / "samples" / "piscan-demo.apk"), "--session", str(session), "-o", str(out),
                 "--category", "38", "--reproducible", "--accept-unverified", "-f", "json,html,sarif"]) == 0
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert validation_errors(result) == []
    unverified = [lim for lim in result["limitations"] if lim["kind"] == "session_unverified"]
    assert len(unverified) == 1 and "observations.jsonl line 4: changed" in unverified[0]["detail"]
    assert result["facts"]["traffic"]["session"]["verify"]["ok"] is False
    assert result["complete"] is False
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "observations.jsonl line 4" in html
    sarif = json.loads((out / "result.sarif").read_text(encoding="utf-8"))
    assert sarif["runs"][0]["properties"]["session"]["verify_ok"] is False
