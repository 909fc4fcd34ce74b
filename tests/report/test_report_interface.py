"""The renderer mapping and ``render()``: formats, languages, atomic output."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import UsageError
from scanner.report import FORMATS, render
from scanner.report.interface import renderer_for
from scanner.testing.samples import sample_result


def test_formats() -> None:
    assert FORMATS == ("html", "json", "sarif", "pdf")
    assert {renderer_for(f).suffix for f in FORMATS} == {".html", ".json", ".sarif", ".pdf"}


def test_unknown_format_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^unknown report format 'docx'; valid: html, json, sarif, pdf$"):
        render(sample_result(), "docx", tmp_path / "x.docx")
    assert list(tmp_path.iterdir()) == []


def test_unknown_language(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown report language 'fr'; valid: zh-CN, en"):
        render(sample_result(), "html", tmp_path / "x.html", lang="fr")


@pytest.mark.parametrize("fmt", ["html", "sarif", "json"])
def test_render_writes_only_the_output_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "sub" / f"report.{fmt}"
    render(sample_result(), fmt, out, lang="en")
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert out.stat().st_size > 1000
