"""End to end: an APK whose strings carry HTML/script payloads, scanned and opened in Chromium.

tests/data/piscan-xss.apk is built from tests/data/xss-app (smali + manifest) by
tests/data/build_xss_apk.sh, like the sample. Its label, meta-data, resources and DEX strings
carry payloads; the report must show them as literal text and run none of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.cli import main
from scanner.report.chromium import audit_page, find_chromium
from scanner.testing.corpus import REPO

XSS_APK = REPO / "tests" / "data" / "piscan-xss.apk"
LITERALS = (
    "<script>document.title='XSS'</script>",  # the app label
    "1.0.0<b>x</b>",  # the version name
)

pytestmark = pytest.mark.skipif(
    find_chromium() is None, reason="headless Chromium not installed (Debian package `chromium`)"
)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_payloads_show_as_text_and_never_run(lang: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["scan", "-q", str(XSS_APK), "-o", str(out), "--format", "json,html", "--lang", lang]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>document.title='XSS'</script>" not in html  # escaped in the markup
    audit = audit_page(out / "report.html")
    # The label is part of the <title>: it must be there as text, and the payload must not have
    # replaced the title with 'XSS'.
    assert audit.title != "XSS" and "<script>document.title='XSS'</script>" in audit.title
    assert audit.active_elements == 0
    assert audit.console_errors == ()
    assert audit.external_requests == ()
    for literal in LITERALS:
        assert literal in audit.text, f"payload not shown as literal text: {literal}"
