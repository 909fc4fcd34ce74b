"""PDF renderer: the HTML report printed by headless Chromium (A4, CSS page margin boxes)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..result import write_atomic
from .chromium import Browser, require_chromium
from .html import render_html


def render_pdf_bytes(result: dict[str, Any], *, lang: str = "zh-CN", unmask: bool = False) -> bytes:
    """The PDF of the HTML report; ``UsageError`` naming the package ``chromium`` when it is missing."""
    binary = require_chromium("PDF output")
    with tempfile.TemporaryDirectory(prefix="piscan-pdf-") as tmp:
        html_path = Path(tmp) / "report.html"
        html_path.write_text(render_html(result, lang=lang, unmask=unmask), encoding="utf-8")
        with Browser(binary) as browser:
            return browser.open(html_path).pdf()


class PdfRenderer:
    """Writes the report as PDF through headless Chromium."""

    name = "pdf"
    suffix = ".pdf"

    def render(self, result: dict[str, Any], out: Path, *, lang: str, unmask: bool) -> None:
        """Print the HTML report of ``result`` and write the PDF atomically to ``out``."""
        write_atomic(out, render_pdf_bytes(result, lang=lang, unmask=unmask))
