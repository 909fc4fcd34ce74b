"""The case workflow end to end on the sample APK, through the real CLI.

scan → three verdicts (one with a screenshot) → bundle → verify → tamper (verify names the
file) → verdict edits noticed → a "fixed" rebuild of the sample from smali (one call removed, one
SDK added) compared with the original: the removed call's finding is no longer found, the SDK's
finding is new, the rest is unchanged or changed only in evidence; the 复测 HTML opens in Chromium.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from scanner.case.bundle import verify_bundle
from scanner.case.review import read_review
from scanner.cli import main
from scanner.keys import create_key

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "piscan-demo.apk"
DEMO_PROJECT = REPO / "samples" / "demo-app"
BUILD = REPO / "samples" / "build_sample.sh"
BUGLY = """.class public Lcom/tencent/bugly/crashreport/CrashReport;
.super Ljava/lang/Object;
.source "CrashReport.java"

.method public static initCrashReport(Landroid/content/Context;)V
    .registers 3
    invoke-virtual {p0}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v0
    const-string v1, "android_id"
    invoke-static {v0, v1}, Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;
    return-void
.end method
"""
INSTALLED_APPS_CALL = """    const/4 v1, 0x0

    invoke-virtual {v0, v1}, Landroid/content/pm/PackageManager;->getInstalledPackages(I)Ljava/util/List;

    move-result-object v0
"""


def _png() -> bytes:
    """A real 1×1 PNG (a stand-in screenshot with valid structure)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    made = create_key(tmp_path / "keys" / "examiner.pem")
    monkeypatch.setenv("PISCAN_KEY", str(made.path))
    monkeypatch.setenv("PISCAN_KEY_FINGERPRINT", made.fingerprint)
    return made.fingerprint


def _scan(apk: Path, out: Path) -> Path:
    assert main(["scan", str(apk), "-o", str(out), "--format", "json,html", "--category", "38", "--reproducible"]) == 0
    return out / "result.json"


@pytest.fixture
def case(tmp_path: Path, key: str) -> Path:
    case_dir = tmp_path / "case-17"
    result = _scan(SAMPLE, case_dir)
    shot = tmp_path / "consent-dialog.png"
    shot.write_bytes(_png())
    assert main(["review", str(result), "--set", "RD-1.2=violation", "--note", "隐私政策入口需四次点击", "--attach", str(shot),
                 "--examiner", "检测员甲"]) == 0
    assert main(["review", str(result), "--set", "M164-4-targeted-push=no_violation", "--examiner", "检测员甲"]) == 0
    assert main(["review", str(result), "--set", "RD-1.1=undetermined", "--note", "需厂商补充材料"]) == 0
    # the report re-rendered after the verdicts shows them (the bundle carries this report)
    assert main(["report", str(result), "-o", str(case_dir / "report.html")]) == 0
    return case_dir


def test_verdicts_are_recorded_signed_and_the_result_is_untouched(case: Path, key: str) -> None:
    result = case / "result.json"
    before = result.read_bytes()
    state = read_review(result, expected_fingerprint=key)
    assert state.ok, state.problems
    current = {k[1]: v for k, v in state.current.items()}
    assert current["RD-1.2"].verdict == "violation"
    assert current["RD-1.2"].attachments[0].name == "consent-dialog.png"
    assert (case / current["RD-1.2"].attachments[0].stored).read_bytes() == _png()
    assert current["M164-4-targeted-push"].verdict == "no_violation"
    assert current["RD-1.1"].note == "需厂商补充材料"
    assert result.read_bytes() == before


def test_wrong_verdicts_are_refused_with_one_line(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = str(case / "result.json")
    assert main(["review", result, "--set", "RD-1.2=confirmed"]) == 2
    assert main(["review", result, "--set", "NO-SUCH-RULE=violation"]) == 2
    finding = json.loads((case / "result.json").read_text())["findings"][0]["id"]
    assert main(["review", result, "--set", f"{finding}=disputed"]) == 2  # a dispute needs its reason
    assert main(["review", result, "--set", f"{finding}=disputed", "--note", "调用受同意标志保护"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "a verdict on a manual check is one of violation, no_violation, not_applicable, undetermined" in err


@pytest.mark.parametrize("edit", ["verdict", "drop_line", "attachment", "result"])
def test_edited_verdicts_are_noticed(case: Path, key: str, edit: str) -> None:
    review = case / "review.jsonl"
    lines = review.read_bytes().splitlines(keepends=True)
    if edit == "verdict":
        review.write_bytes(lines[0].replace(b'"violation"', b'"no_violation"') + b"".join(lines[1:]))
    elif edit == "drop_line":
        review.write_bytes(lines[0] + b"".join(lines[2:]))
    elif edit == "attachment":
        next((case / "review-attachments").iterdir()).write_bytes(b"another picture")
    else:
        data = json.loads((case / "result.json").read_text())
        data["findings"] = data["findings"][1:]
        (case / "result.json").write_text(json.dumps(data))
    state = read_review(case / "result.json", expected_fingerprint=key)
    assert not state.ok
    assert main(["review", str(case / "result.json"), "--show"]) == 3


def test_a_chain_rebuilt_with_another_key_is_refused(case: Path, key: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    other = create_key(tmp_path / "other.pem")
    (case / "review.jsonl").unlink()
    monkeypatch.setenv("PISCAN_KEY", str(other.path))
    assert main(["review", str(case / "result.json"), "--set", "RD-1.2=no_violation"]) == 0
    state = read_review(case / "result.json", expected_fingerprint=key)
    assert not state.ok and "not by the expected key" in state.problems[0]


def test_bundle_verifies_and_names_a_tampered_file(case: Path, key: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "case-17.zip"
    assert main(["bundle", str(case), "-o", str(bundle)]) == 0
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert {"README.txt", "case/result.json", "case/report.html", "case/review.jsonl"} <= set(names)
    assert any(n.startswith("inputs/") and n.endswith("piscan-demo.apk") for n in names)
    assert any(n == "packs/cn-rd-2019.yaml" for n in names)
    assert manifest["fingerprint"] == key
    capsys.readouterr()
    assert main(["verify", str(bundle)]) == 0
    assert "verify: OK" in capsys.readouterr().out

    # the same case bundled again gives the same bytes (sorted entries, fixed times, same key)
    again = tmp_path / "again.zip"
    assert main(["bundle", str(case), "-o", str(again)]) == 0
    with zipfile.ZipFile(again) as one, zipfile.ZipFile(bundle) as two:
        assert [i.filename for i in one.infolist()] == [i.filename for i in two.infolist()]

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(tampered, "w") as sink:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "case/report.html":
                data = data.replace("个人信息".encode(), "个人资料".encode(), 1)
            sink.writestr(info, data)
    assert main(["verify", str(tampered)]) == 3
    out = capsys.readouterr().out
    assert "PROBLEM: case/report.html: changed" in out
    report = verify_bundle(tampered, expected_fingerprint=key)
    assert [p.split(":")[0] for p in report.problems] == ["case/report.html"]


def test_bundle_by_another_key_fails_against_the_case_fingerprint(case: Path, key: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    other = create_key(tmp_path / "intruder.pem")
    bundle = tmp_path / "b.zip"
    assert main(["bundle", str(case), "-o", str(bundle), "--key", str(other.path)]) == 0
    assert main(["verify", str(bundle), "--fingerprint", key]) == 3


def test_rerendering_from_the_bundle_gives_the_bundled_report(case: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "case.zip"
    assert main(["bundle", str(case), "-o", str(bundle), "--hash-only"]) == 0
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked)
        assert not any(n.startswith("inputs/") for n in archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["payload"]["inputs"][0]["included"] is False
    again = tmp_path / "again.html"
    assert main(["report", str(unpacked / "case" / "result.json"), "-o", str(again)]) == 0
    assert again.read_bytes() == (unpacked / "case" / "report.html").read_bytes()


def test_rescan_reproduces_the_result(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "case.zip"
    assert main(["bundle", str(case), "-o", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["verify", str(bundle), "--rescan"]) == 0
    out = capsys.readouterr().out
    assert "case/result.json: rescan gives" in out


def test_bundle_refuses_links_and_missing_results(tmp_path: Path, key: str, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    assert main(["bundle", str(empty), "-o", str(tmp_path / "e.zip")]) == 3
    linked = tmp_path / "linked"
    _scan(SAMPLE, linked)
    (linked / "passwd").symlink_to("/etc/passwd")
    assert main(["bundle", str(linked), "-o", str(tmp_path / "l.zip")]) == 3
    err = capsys.readouterr().err
    assert "no result.json" in err and "not a regular file" in err and "Traceback" not in err
    assert not (tmp_path / "e.zip").exists() and not (tmp_path / "l.zip").exists()


def _build_fixed_variant(tmp_path: Path) -> Path:
    if not all(shutil.which(tool) for tool in ("apktool", "zipalign", "apksigner")):
        pytest.skip("apktool, zipalign and apksigner (Debian packages) are needed to rebuild the sample from smali")
    project = tmp_path / "fixed-app"
    shutil.copytree(DEMO_PROJECT, project)
    main_activity = project / "smali" / "cn" / "piscan" / "demo" / "MainActivity.smali"
    text = main_activity.read_text()
    assert INSTALLED_APPS_CALL in text
    main_activity.write_text(text.replace(INSTALLED_APPS_CALL, ""))
    manifest = project / "AndroidManifest.xml"
    permission = '<uses-permission android:name="android.permission.QUERY_ALL_PACKAGES"/>'
    assert permission in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(permission, ""))  # the fix drops the permission with the call
    bugly = project / "smali" / "com" / "tencent" / "bugly" / "crashreport" / "CrashReport.smali"
    bugly.parent.mkdir(parents=True)
    bugly.write_text(BUGLY)
    apk = tmp_path / "piscan-demo-fixed.apk"
    subprocess.run(["bash", str(BUILD), str(project), str(apk)], check=True, capture_output=True, timeout=600)
    return apk


def test_retest_comparison_of_a_fixed_build(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixed = _build_fixed_variant(tmp_path)
    retest = tmp_path / "case-17-retest"
    _scan(fixed, retest)
    out_json = tmp_path / "compare.json"
    assert main(["compare", str(case / "result.json"), str(retest / "result.json"), "-f", "json", "-o", str(out_json)]) == 0
    comparison = json.loads(out_json.read_text())
    by_state: dict[str, list[dict]] = {}
    for row in comparison["findings"]:
        by_state.setdefault(row["state"], []).append(row)
    fixed_rows = by_state.get("fixed", [])
    new_rows = by_state.get("new", [])
    # the installed-app list read was removed: its finding is no longer found
    assert [r["rule_id"] for r in fixed_rows] == ["GB41391-6.3-installed-apps"]
    # the added SDK is new: every new finding is Bugly's
    assert new_rows and all((r.get("party") or {}).get("sdk_id") == "bugly" for r in new_rows), new_rows
    # everything else is still there, by id or with its evidence moved (offsets in MainActivity shift)
    old_ids = {f["id"] for f in json.loads((case / "result.json").read_text())["findings"]}
    carried = {r["id"] for r in by_state.get("still_present", [])} | {r["previous_id"] for r in by_state.get("changed", [])}
    assert carried == old_ids - {r["id"] for r in fixed_rows}
    assert comparison["sdks"]["added"] == ["bugly"]
    assert comparison["verdicts"][0]["state"] == "not_repeated"

    # the CI gate: new findings at or above --fail-on exit 1
    gate = tmp_path / "gate.sarif"
    rc = main(["compare", str(case / "result.json"), str(retest / "result.json"), "-f", "sarif", "-o", str(gate),
               "--fail-on", "low"])
    assert rc == 1
    states = {r["baselineState"] for r in json.loads(gate.read_text())["runs"][0]["results"]}
    assert {"new", "absent", "unchanged"} <= states

    html = tmp_path / "retest.html"
    assert main(["compare", str(case / "result.json"), str(retest / "result.json"), "-o", str(html)]) == 0
    text = html.read_text()
    assert "复测比对报告" in text and 'id="' + fixed_rows[0]["id"] + '"' in text
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian package chromium is needed to open the 复测 HTML headless")
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and 'data-fixed="1"' in dom.stdout


def test_reports_show_the_verdicts_with_the_screenshot_embedded(case: Path, tmp_path: Path) -> None:
    result = case / "result.json"
    html = (case / "report.html").read_text(encoding="utf-8")
    row = html[html.index('<tr data-rule="RD-1.2">'):]
    row = row[:row.index("</tr>")]
    assert "存在问题" in row and "隐私政策入口需四次点击" in row and "检测员甲" in row
    digest = hashlib.sha256(_png()).hexdigest()
    assert f'<img src="data:image/png;base64,{base64.b64encode(_png()).decode()}" alt="consent-dialog.png">' in row
    assert f"SHA-256 {digest}" in row
    from scanner.report.chromium import Browser, find_chromium

    if find_chromium() is not None:  # the screenshot loads from the page itself: no request, no CSP error
        with Browser() as browser:
            page = browser.open(case / "report.html")
            loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)")
            load = page.collect()
        # the only request besides the page is the embedded screenshot itself (a data: URL)
        assert loaded == [True] and load.console_errors == []
        assert [u for u in load.external_requests() if not u.startswith("data:image/png;base64,")] == []
    # the JSON names the attachment by hash and carries no image data; SARIF carries the verdicts
    assert main(["report", str(result), "-f", "json", "-o", str(tmp_path / "r.json")]) == 0
    review = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["review"]
    assert review["ok"] is True and "images" not in review
    verdict = next(v for v in review["verdicts"] if v["target_id"] == "RD-1.2")
    assert verdict["attachments"][0]["sha256"] == digest
    assert main(["report", str(result), "-f", "sarif", "-o", str(tmp_path / "r.sarif")]) == 0
    run = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))["runs"][0]
    checks = {m["ruleId"]: m for m in run["properties"]["manualChecks"]}
    assert checks["RD-1.2"]["examinerVerdict"]["verdict"] == "violation"
    assert "examinerVerdict" not in checks["RD-1.3"]
