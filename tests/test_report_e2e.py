"""End to end: reports of the sample APK (golden, both languages) and of real corpus APKs in Chromium."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.report.chromium import audit_page, find_chromium, screenshot
from scanner.report.html import render_html
from scanner.testing.golden import normalise_html
from scanner.testing.corpus import REPO, apk_params, corpus_dir

GOLDEN = REPO / "tests" / "data" / "golden"
CORPUS_REPORT_APKS = [
    "getactivity-androidproject-2019-09.apk",  # Umeng, Bugly, QQ, WeChat; Chinese app template
    "umeng-crossweather-qwe.apk",  # legacy Umeng, CNZZ, Flurry, Apsalar; cleartext trackers
    "exodus-leaninstapaper.apk",  # Facebook, Crashlytics, Firebase
]
needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="headless Chromium not installed (Debian package `chromium`)"
)


def pinned(result: dict) -> dict:
    """The result with the fields that depend on the machine pinned (library versions, command)."""
    data = json.loads(json.dumps(result))
    prov = data["provenance"]
    prov.update(python_version="3.x", androguard_version="4.x", mitmproxy_version="11.x",
                command=["piscan", "scan", "samples/piscan-demo.apk"], reproduce="piscan scan samples/piscan-demo.apk")
    return data


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("sample-report")
    assert main(["scan", "-q", str(REPO / "samples" / "piscan-demo.apk"), "-o", str(out), "--category", "38",
                 "--reproducible", "--case-id", "DEMO-1", "--examiner", "PIScan CI", "--format", "json"]) == 0
    return pinned(json.loads((out / "result.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_sample_report_golden(sample_result: dict, lang: str) -> None:
    html = normalise_html(render_html(sample_result, lang=lang, unmask=False))
    golden = GOLDEN / f"piscan-demo.report.{lang}.html"
    if os.environ.get("PISCAN_UPDATE_GOLDEN") == "1":
        golden.write_text(html, encoding="utf-8")
    assert html == golden.read_text(encoding="utf-8"), f"{golden.name} differs; PISCAN_UPDATE_GOLDEN=1 regenerates it"


@needs_chromium
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize(
    "apk",
    [REPO / "samples" / "piscan-demo.apk"]
    + [p for p in apk_params([corpus_dir() / "apk" / n for n in CORPUS_REPORT_APKS] if corpus_dir() else [])],
)
def test_report_opens_clean_in_chromium(apk: Path, lang: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["scan", "-q", str(apk), "-o", str(out), "--format", "json,html", "--lang", lang]) == 0
    report = out / "report.html"
    audit = audit_page(report)
    assert audit.console_errors == () and audit.external_requests == () and audit.active_elements == 0
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert result["app"]["package"] in audit.text
    for finding in result["findings"]:
        assert finding["id"] in report.read_text(encoding="utf-8")
    png = tmp_path / "shot.png"
    screenshot(report, png, full_page=False)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
