"""The report in real headless Chromium: no console errors, no requests, no script ever runs."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from scanner.errors import UsageError
from scanner.report.chromium import (
    Browser,
    ChromiumError,
    audit_page,
    dump_dom,
    find_chromium,
    print_pdf,
    require_chromium,
    screenshot,
)
from scanner.report.html import render_html
from scanner.testing.samples import XSS_MARKERS, XSS_PAYLOADS, hostile_result, sample_result

needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="headless Chromium not installed (Debian package `chromium`)"
)


def write(tmp_path: Path, name: str, html: str) -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


def test_missing_chromium_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PISCAN_CHROMIUM", "/nonexistent/chromium")
    assert find_chromium() is None
    with pytest.raises(UsageError, match=r"needs headless Chromium, which was not found; install the Debian package `chromium`"):
        require_chromium("PDF output")


@needs_chromium
def test_instrumentation_sees_requests_and_console_errors(tmp_path: Path) -> None:
    # positive control: a page that does load something and logs an error is caught
    page_path = write(
        tmp_path, "noisy.html",
        '<!DOCTYPE html><html><head><title>noisy</title></head><body>'
        '<img src="http://127.0.0.1:9/pixel.png"><script>console.error("boom")</script></body></html>',
    )
    with Browser() as browser:
        load = browser.open(page_path).collect()
    assert "http://127.0.0.1:9/pixel.png" in load.external_requests()
    assert any("boom" in line for line in load.console_errors)


@needs_chromium
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_report_loads_cleanly(tmp_path: Path, lang: str) -> None:
    result = sample_result()
    page_path = write(tmp_path, "report.html", render_html(result, lang=lang))
    with Browser() as browser:
        page = browser.open(page_path)
        title = page.title()
        finding_ids = page.evaluate("Array.from(document.querySelectorAll('article.entry span.anchor')).map(a => a.id)")
        load = page.collect()
    assert load.console_errors == []
    assert load.external_requests() == []
    assert load.requests == [page_path.resolve().as_uri()]
    assert title.endswith(f"– {result['case']['case_id']}")
    assert sorted(finding_ids) == sorted(f["id"] for f in result["findings"])


@needs_chromium
def test_screenshot(tmp_path: Path) -> None:
    page_path = write(tmp_path, "report.html", render_html(sample_result(), lang="en"))
    png = tmp_path / "shot.png"
    load = screenshot(page_path, png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280 and height > 2000  # full page, not just the viewport
    assert load.console_errors == [] and load.external_requests() == []


@needs_chromium
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_hostile_strings_never_run(tmp_path: Path, lang: str) -> None:
    audit = audit_page(write(tmp_path, "hostile.html", render_html(hostile_result(), lang=lang, unmask=True)))
    result = hostile_result()
    name = result["app"]["label"]["zh-CN" if lang == "zh-CN" else "default"]
    heading = "个人信息合规检测报告" if lang == "zh-CN" else "Personal-information compliance report"
    # a payload that ran would have replaced the title with one of the markers
    assert audit.title == f"{heading} – {name} – {result['case']['case_id']}"
    assert audit.title not in XSS_MARKERS
    assert audit.active_elements == 0
    for payload in XSS_PAYLOADS:
        assert payload in audit.text, payload  # shown as literal text
    assert audit.clean


@needs_chromium
def test_audit_detects_injected_markup(tmp_path: Path) -> None:
    # positive control for the XSS check: the same payloads pasted raw are found
    audit = audit_page(write(tmp_path, "raw.html", "<!DOCTYPE html><title>t</title><body>" + "".join(XSS_PAYLOADS)))
    assert audit.active_elements >= 3 and not audit.clean


@needs_chromium
def test_dump_dom_and_print_pdf_helpers(tmp_path: Path) -> None:
    result = sample_result()
    page_path = write(tmp_path, "report.html", render_html(result, lang="en"))
    dom = dump_dom(page_path)
    assert dom.startswith('<html lang="en">') and f'id="{result["findings"][0]["id"]}"' in dom
    pdf = tmp_path / "out.pdf"
    load = print_pdf(page_path, pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and load.console_errors == []


def test_browser_that_dies_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    with pytest.raises(ChromiumError, match="Chromium exited unexpectedly: cannot open display"):
        with Browser(str(fake), timeout=20) as browser:
            browser.open(write(tmp_path, "x.html", "<!DOCTYPE html><title>x</title>"))


@needs_chromium
def test_audit_of_a_normal_report_is_clean(tmp_path: Path) -> None:
    audit = audit_page(write(tmp_path, "report.html", render_html(sample_result(), lang="en")))
    assert audit.clean, audit
    assert "IMEI read before the user consents to the privacy policy" in audit.text
