"""PDF renderer: printed by real headless Chromium; pages and extractable text checked with poppler."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scanner.errors import UsageError
from scanner.report import render
from scanner.report.chromium import find_chromium
from scanner.testing.samples import sample_result

needs_tools = pytest.mark.skipif(
    find_chromium() is None or shutil.which("pdftotext") is None or shutil.which("pdfinfo") is None,
    reason="needs headless Chromium (Debian package `chromium`) and poppler-utils (pdftotext, pdfinfo)",
)


def cjk_font_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return bool(out.strip())


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Pages:\s+(\d+)$", info, re.M)
    assert match, info
    return int(match.group(1))


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if find_chromium() is None or shutil.which("pdftotext") is None:
        pytest.skip("needs headless Chromium (Debian package `chromium`) and poppler-utils")
    out = tmp_path_factory.mktemp("pdf")
    paths = {}
    for lang in ("zh-CN", "en"):
        paths[lang] = out / f"report.{lang}.pdf"
        render(sample_result(), "pdf", paths[lang], lang=lang)
    return paths


@needs_tools
def test_pdf_pages_and_english_text(pdfs: dict[str, Path]) -> None:
    path = pdfs["en"]
    assert path.read_bytes()[:5] == b"%PDF-"
    pages = pdf_pages(path)
    assert pages >= 2  # sections start on new pages
    text = pdf_text(path)
    result = sample_result()
    for finding in result["findings"]:
        assert finding["id"] in text
    assert "com.example.notes" in text and "Appendix: provenance and reproduction" in text
    # @page margin boxes: running header with the case id and "page N of M" footers on every page
    assert len(re.findall(rf"page \d+ of {pages}", text)) == pages
    assert text.count("0193") >= pages  # the case id's ASCII tail is in every page header


@needs_tools
def test_pdf_chinese_text_extractable(pdfs: dict[str, Path]) -> None:
    path = pdfs["zh-CN"]
    assert pdf_pages(path) >= 2
    text = pdf_text(path)
    result = sample_result()
    assert result["findings"][0]["id"] in text and "ulogs.umeng.com" in text
    if not cjk_font_installed():
        pytest.skip("no CJK font installed: Chinese glyphs print as boxes; install the Debian package fonts-noto-cjk")
    assert "个人信息合规检测报告" in text
    assert "在用户同意隐私政策前读取IMEI" in text


def test_pdf_without_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PISCAN_CHROMIUM", "/nonexistent/chromium")
    out = tmp_path / "report.pdf"
    with pytest.raises(UsageError, match="install the Debian package `chromium`"):
        render(sample_result(), "pdf", out)
    assert not out.exists()
