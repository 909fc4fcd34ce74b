"""End to end: static facts joined with a recorded proxy session (`piscan scan --session`)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from scanner.cli import main
from scanner.schema import validation_errors
from scanner.testing.corpus import REPO
from scanner.testing.requirements import needs_mitmproxy

pytestmark = needs_mitmproxy  # every test joins a proxy session

SESSION = REPO / "samples" / "session"  #: recorded for the demo APK, with another app's traffic mixed in
UNBOUND = REPO / "tests" / "data" / "session-unbound"  #: recorded for no app


def _scan(tmp_path: Path, session: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "out"
    code = main(["scan", "-q", str(REPO / "samples" / "piscan-demo.apk"), "--session", str(session),
                 "-o", str(out), "--category", "38", "--reproducible", *extra])
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
    # the other app's requests on the same phone are listed apart, and the result says so
    assert any(lim["kind"] == "traffic_unattributed" for lim in result["limitations"])
    assert result["complete"] is False
    assert result["facts"]["traffic"]["session"]["app_binding"] == {
        "recorded_for": "cn.piscan.demo", "scanned": "cn.piscan.demo", "status": "bound", "note": None}


def test_each_flow_of_a_two_app_session_is_attributed_by_its_ties(tmp_path: Path) -> None:
    """samples/session holds the demo app's requests and another app's (com.example.shop) on one phone."""
    code, result = _scan(tmp_path, SESSION)
    assert code == 0
    traffic = result["facts"]["traffic"]
    ties = {o["host"]: {t["kind"] for t in o["ties"]} for o in traffic["observations"]}
    assert ties == {"stat.piscan-demo.cn": {"host"}, "api.piscan-demo.cn": {"host"},
                    "ulogs.umeng.com": {"package", "app_key"}}
    umeng = next(o for o in traffic["observations"] if o["host"] == "ulogs.umeng.com")
    assert {(t["kind"], t["location"], t["detail"]) for t in umeng["ties"]} == {
        ("package", "body:$.header.package_name", ""), ("app_key", "body:$.header.appkey", "UMENG_APPKEY")}
    # the other app's Getui request lists the demo app among installed apps: a list item is no tie
    assert [o["host"] for o in traffic["unattributed"]] == [
        "sdk.open.phone.igexin.com", "stream.dcloud.net.cn", "cdn.unknown-tracker.net", "tsis.jpush.cn",
        "android.bugly.qq.com"]
    cited = {e["ref"] for f in result["findings"] for e in f["evidence"]}
    assert not cited & {o["id"] for o in traffic["unattributed"]}
    assert not {f["party"]["sdk_id"] for f in result["findings"]} & {"getui", "jpush", "jiguang_core", "dcloud", "bugly"}
    # the app's own server (its contact e-mail's domain) is the first party, not a third party
    stat = next(o for o in traffic["observations"] if o["host"] == "stat.piscan-demo.cn")
    assert stat["party"]["kind"] == "first_party"
    assert not [f for f in result["findings"] if f["rule_id"].startswith("RD-5.1") and f["party"]["kind"] == "first_party"]


def test_a_session_recorded_for_no_app_is_refused(tmp_path: Path, capsys) -> None:
    code, _ = _scan(tmp_path, UNBOUND)
    assert code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "recorded for no app" in err and "--session-app-unverified" in err
    assert not (tmp_path / "out").exists()


def test_a_session_recorded_for_another_app_is_refused(tmp_path: Path, capsys) -> None:
    session = tmp_path / "other"
    shutil.copytree(SESSION, session)
    meta = json.loads((session / "session.json").read_text(encoding="utf-8"))
    meta["app_package"] = meta["apk"]["package"] = "com.example.shop"
    (session / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    code, _ = _scan(tmp_path, session, "--accept-unverified")  # the edit breaks its seals: accepted for this test
    assert code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "recorded for com.example.shop, not cn.piscan.demo" in err


def test_an_unbound_session_joins_only_when_told_and_every_traffic_finding_says_so(tmp_path: Path) -> None:
    code, result = _scan(tmp_path, UNBOUND, "--session-app-unverified", "-f", "json,html")
    assert code == 0
    assert validation_errors(result) == []
    binding = result["facts"]["traffic"]["session"]["app_binding"]
    assert binding["status"] == "unverified" and binding["recorded_for"] is None
    assert any(lim["kind"] == "session_app_unverified" for lim in result["limitations"])
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    traffic_findings = [f for f in result["findings"] if f["evidence_level"] == "observed_traffic"]
    # the unbound session's requests carry no tie to the demo app (other than the Umeng host it
    # shares with every app), so none becomes a finding
    assert traffic_findings == []
    assert "抓包会话未绑定到被测应用" in html


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


def test_every_traffic_entry_says_when_the_session_is_not_bound_to_the_app(tmp_path: Path) -> None:
    session = tmp_path / "nobody"
    shutil.copytree(SESSION, session)
    meta = json.loads((session / "session.json").read_text(encoding="utf-8"))
    meta["app_package"] = meta["apk"] = None
    (session / "session.json").write_text(json.dumps(meta), encoding="utf-8")
    code, result = _scan(tmp_path, session, "--accept-unverified", "--session-app-unverified", "-f", "json,html",
                         "--source", "downloaded from the vendor site on 2026-12-01")
    assert code == 0
    assert result["case"]["source"] == "downloaded from the vendor site on 2026-12-01"
    traffic = [f for f in result["findings"] if f["evidence_level"] == "observed_traffic"]
    assert traffic  # the demo app's own requests still carry their ties
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    entries = re.findall(r'(?s)<article class="entry[^"]*" id="E-[0-9a-f]+" data-kind="observation".*?</article>', html)
    assert entries and all("该抓包会话未绑定到被测应用" in e for e in entries)
    assert "downloaded from the vendor site on 2026-12-01" in html
    assert "Xiaomi Redmi Note 12 (23021RAAEG)" in html  # the test device from the device profile
    assert 'id="unattributed"' in html and "sdk.open.phone.igexin.com" in html
