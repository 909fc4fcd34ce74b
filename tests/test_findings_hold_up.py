"""Findings that hold up (issue 13): library code and self-checks are not collection, calls that
cannot return the PI are not counted, a consent guard is seen, and the report is short, Chinese
and counts each fact once. Real scans of the demo APK, a rebuilt variant and a corpus APK."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scanner.cli import main
from scanner.report.chromium import find_chromium
from scanner.testing.corpus import REPO
from scanner.testing.requirements import needs_mitmproxy

BUILD = REPO / "samples" / "build_sample.sh"
GETACTIVITY = "apk/getactivity-androidproject-2019-09.apk"
#: PDF pages of this APK's report before one-fact entries (PIScan 0.1, measured 2026-12-03)
GETACTIVITY_PAGES_BEFORE = 351


def _scan(target: Path, out: Path, *extra: str) -> dict[str, Any]:
    assert main(["scan", "-q", str(target), "-o", str(out), "--reproducible", *extra]) == 0
    return json.loads((out / "result.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def getactivity(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("getactivity")
    formats = "json,html,pdf" if find_chromium() and shutil.which("pdftotext") else "json,html"
    return _scan(corpus / GETACTIVITY, out, "-f", formats), out


def _calls(result: dict[str, Any], caller_prefix: str, api_id: str | None = None) -> list[dict[str, Any]]:
    return [c for c in result["facts"]["api_calls"] if c["caller"]["class"].startswith(caller_prefix)
            and (api_id is None or c["api_id"] == api_id)]


def _cited(result: dict[str, Any]) -> set[str]:
    return {e["ref"] for f in result["findings"] for e in f["evidence"]}


def test_leakcanary_checking_its_own_process_is_not_collection(getactivity) -> None:
    result, _ = getactivity
    calls = _calls(result, "com.squareup.leakcanary", "activitymanager.getRunningAppProcesses")
    assert calls
    for call in calls:
        assert call["owner"]["kind"] == "library"
        assert call["capability"]["status"] in ("library", "self_check")
        assert call["id"] not in _cited(result)


def test_own_package_lookups_are_self_checks_not_installed_app_lists(getactivity) -> None:
    result, _ = getactivity
    lookups = [c for c in result["facts"]["api_calls"]
               if c["api_id"] in ("packagemanager.getPackageInfo", "packagemanager.getApplicationInfo")
               and c["self_check"] == "package_name"]
    owners = {c["caller"]["class"] for c in lookups}
    # Glide's version signature and AndroidX's compat helpers look the app itself up
    assert "com.bumptech.glide.signature.ApplicationVersionSignature" in owners
    assert all(c["capability"]["status"] == "self_check" for c in lookups)
    assert not {c["id"] for c in lookups} & _cited(result)


def test_twilight_manager_without_a_location_permission_is_library_code_that_cannot_locate(getactivity) -> None:
    result, _ = getactivity
    declared = {p["name"] for p in result["facts"]["permissions"]}
    assert not {"android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION"} & declared
    twilight = _calls(result, "androidx.appcompat.app.TwilightManager")
    assert twilight
    for call in twilight:
        assert call["owner"]["kind"] == "library" and call["capability"]["status"] == "library"
        assert call["id"] not in _cited(result)
    location_reads = [c for c in result["facts"]["api_calls"] if c["api_id"] == "location.getLastKnownLocation"]
    assert all(c["capability"]["status"] != "counted" or
               any(cond.get("declared") for cond in c["capability"]["conditions"]) for c in location_reads)


def test_androidx_and_other_libraries_are_never_a_responsible_party(getactivity) -> None:
    result, _ = getactivity
    library_ids = {c["owner"]["sdk_id"] for c in result["facts"]["api_calls"] if c["owner"]["kind"] == "library"}
    assert {"leakcanary", "glide"} <= library_ids and any(i.startswith("jetpack") for i in library_ids)
    assert not [f for f in result["findings"] if f["party"].get("sdk_id") in library_ids]
    assert not [f for f in result["findings"] if f["severity"] == "high"]


def test_getactivity_report_is_a_quarter_of_its_old_length_and_loses_no_fact(getactivity) -> None:
    result, out = getactivity
    if not (out / "report.pdf").exists():
        pytest.skip("needs headless Chromium (Debian package `chromium`) and pdftotext (poppler-utils)")
    info = subprocess.run(["pdfinfo", str(out / "report.pdf")], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages * 4 <= GETACTIVITY_PAGES_BEFORE, pages
    html = (out / "report.html").read_text(encoding="utf-8")
    # every finding is anchored in the report, every fact it cites is in the JSON and listed once
    for finding in result["findings"]:
        assert f'id="{finding["id"]}"' in html
    ids = {item["id"] for item in result["facts"]["api_calls"]}
    assert _cited(result) - {"manifest"} - {f"sdk:{s['sdk_id']}" for s in result["facts"]["sdks"]} \
        - {p["id"] for p in result["facts"]["permissions"]} - {c["id"] for c in result["facts"]["components"]} <= ids


@pytest.fixture(scope="module")
def guarded_apk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo APK rebuilt from smali with ``if (!prefs.getBoolean("agreed", false)) return;``
    at the start of ``DemoApplication.onCreate``."""
    if not all(shutil.which(t) for t in ("apktool", "zipalign", "apksigner")):
        pytest.skip("apktool, zipalign and apksigner (Debian packages) are needed to rebuild the sample from smali")
    tmp = tmp_path_factory.mktemp("guarded")
    project = tmp / "project"
    shutil.copytree(REPO / "samples" / "demo-app", project)
    smali = project / "smali" / "cn" / "piscan" / "demo" / "DemoApplication.smali"
    text = smali.read_text(encoding="utf-8")
    guard = """    invoke-super {p0}, Landroid/app/Application;->onCreate()V

    const-string v0, "privacy"

    const/4 v1, 0x0

    invoke-virtual {p0, v0, v1}, Lcn/piscan/demo/DemoApplication;->getSharedPreferences(Ljava/lang/String;I)Landroid/content/SharedPreferences;

    move-result-object v0

    const-string v2, "agreed"

    invoke-interface {v0, v2, v1}, Landroid/content/SharedPreferences;->getBoolean(Ljava/lang/String;Z)Z

    move-result v0

    if-nez v0, :agreed

    return-void

    :agreed
"""
    text = text.replace("    invoke-super {p0}, Landroid/app/Application;->onCreate()V\n", guard, 1)
    smali.write_text(text, encoding="utf-8")
    apk = tmp / "guarded.apk"
    subprocess.run([str(BUILD), str(project), str(apk)], check=True, capture_output=True)
    return apk


def test_a_consent_guard_in_front_of_the_imei_read_is_reported_with_its_flag(guarded_apk: Path, tmp_path: Path) -> None:
    result = _scan(guarded_apk, tmp_path / "out", "-f", "json,html")
    direct = _calls(result, "cn.piscan.demo.DemoApplication", "telephony.getDeviceId")
    assert len(direct) == 1
    [call] = direct
    assert call["reachable_before_ui"] is False
    assert call["consent_guard"]["flag"] == "agreed" and call["consent_guard"]["store"] == "SharedPreferences"
    assert call["consent_guard"]["where"].startswith("cn.piscan.demo.DemoApplication.onCreate()V@0x")
    # the same IMEI read through DeviceHelper is still reached, unguarded, from the boot receiver
    [helper] = _calls(result, "cn.piscan.demo.DeviceHelper", "telephony.getDeviceId")
    assert helper["reachable_before_ui"] is True and helper["consent_guard"] is None
    assert helper["reach_path"][0].startswith("cn.piscan.demo.BootReceiver.onReceive")
    pre_consent = [f for f in result["findings"] if f["rule_id"] == "RD-3.1-api-before-ui"]
    assert not [f for f in pre_consent if call["id"] in {e["ref"] for e in f["evidence"]}]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "受同意标志保护" in html and "“agreed”" in html


def test_the_unguarded_sample_reads_the_imei_before_consent(sample_apk: Path, tmp_path: Path) -> None:
    result = _scan(sample_apk, tmp_path / "out")
    [call] = _calls(result, "cn.piscan.demo.DemoApplication", "telephony.getDeviceId")
    assert call["reachable_before_ui"] is True and call["consent_guard"] is None
    # a code capability: at most medium, and its conditions are stated
    assert {c["kind"] for c in call["capability"]["conditions"]} == {"permission", "android_version"}
    assert not [f for f in result["findings"] if f["severity"] == "high"]


def test_offsets_are_checked_against_androguard(sample_apk: Path, tmp_path: Path) -> None:
    """file_offset (bytes into the DEX) = the method's code_off + 16 + 2 x the code-unit offset."""
    import zipfile

    from androguard.core.dex import DEX
    from loguru import logger

    logger.disable("androguard")
    result = _scan(sample_apk, tmp_path / "out")
    dex = DEX(zipfile.ZipFile(sample_apk).read("classes.dex"))
    starts = {(m.get_class_name(), m.get_name(), m.get_descriptor()): m.get_code_off() + 16
              for m in dex.get_encoded_methods() if m.get_code_off()}
    for call in result["facts"]["api_calls"]:
        caller = call["caller"]
        key = ("L" + caller["class"].replace(".", "/") + ";", caller["method"], caller["descriptor"])
        assert call["file_offset"] == starts[key] + 2 * call["offset"], call["id"]


_LATIN_WORD = re.compile(r"[A-Za-z]{3,}(?:[ -][A-Za-z]{3,})+")


def _prose(html: str) -> str:
    """Visible text of the report minus code, identifiers, quotes and values that are data."""
    html = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", html)
    html = re.sub(r'(?s)<(code|pre|mark)\b.*?</\1>', " ", html)
    html = re.sub(r'(?s)<(td|span|div|p)\s+class="(?:[^"]*\b(?:mono|fid|nowrap|path|tag|data)\b[^"]*)"[^>]*>.*?</\1>', " ", html)
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"“[^”]*”|「[^」]*」|\"[^\"]*\"", " ", text)  # quotations are data
    return re.sub(r"[\w-]+(?:\.[\w-]+)+", " ", text)  # host names, package and class names


@needs_mitmproxy  # the sample report joins samples/session
def test_the_zh_report_has_no_english_prose(tmp_path: Path, sample_apk: Path) -> None:
    _scan(sample_apk, tmp_path / "out", "--session", str(REPO / "samples" / "session"), "--category", "38",
          "-f", "json,html", "--policy", str(REPO / "samples" / "policy" / "privacy-policy.md"),
          "--policy", str(REPO / "samples" / "policy" / "sdk-list.md"))
    text = _prose((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    # identifiers a Chinese legal text also writes in Latin script
    allowed = re.compile(r"(?i)^(PIScan|Android(?: ID)?|SDK|App|IMEI|MEID|OAID|MAC|HTTP|HTTPS|SHA-256|UTC|JSON|"
                         r"GB/T|WLAN|SSID|BSSID|ICCID|IMSI|GAID|VAID|AAID|AppID|API|URL|DEX|PDF|PIScan Demo)$")
    offenders = sorted({m.group(0) for m in _LATIN_WORD.finditer(text) if not allowed.match(m.group(0))})
    assert offenders == [], offenders


@needs_mitmproxy  # the sample report joins samples/session
def test_the_conclusion_table_of_the_sample_fits_the_first_a4_page(tmp_path: Path, sample_apk: Path) -> None:
    if not (find_chromium() and shutil.which("pdftotext")):
        pytest.skip("needs headless Chromium (Debian package `chromium`) and pdftotext (poppler-utils)")
    result = _scan(sample_apk, tmp_path / "out", "--session", str(REPO / "samples" / "session"), "--category", "38",
                   "-f", "json,html,pdf")
    pages = subprocess.run(["pdftotext", "-layout", str(tmp_path / "out" / "report.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout.split("\f")
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-entry="(E-[0-9a-f]{12})"><td>(\d+)</td>', html)
    assert rows and "结论摘要" in pages[0]
    # the table ends on page 1 (the last row's text is there) and the case details start page 2
    last_title = re.search(rf'<tr data-entry="{rows[-1][0]}"><td>\d+</td><td><a href="#[^"]+">([^<]+)</a>', html).group(1)
    assert re.sub(r"\s+", "", last_title)[:12] in re.sub(r"\s+", "", pages[0])
    assert "案件信息" not in pages[0] and "案件信息" in pages[1]
    # each fact once: the entries' facts are distinct, and there are fewer entries than findings
    assert len(rows) < len(result["findings"])
