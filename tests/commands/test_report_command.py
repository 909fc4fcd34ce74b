"""``piscan report``: formats, languages, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.result import dumps
from scanner.testing.samples import sample_result


@pytest.fixture
def result_file(tmp_path: Path) -> Path:
    path = tmp_path / "result.json"
    path.write_text(dumps(sample_result()), encoding="utf-8")
    return path


def test_html_default_language_is_chinese(result_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    assert main(["report", str(result_file), "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "个人信息合规检测报告" in html


def test_english_sarif_and_json(result_file: Path, tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    assert main(["report", str(result_file), "-f", "html", "--lang", "en", "-o", str(html)]) == 0
    assert "Personal-information compliance report" in html.read_text(encoding="utf-8")
    sarif = tmp_path / "r.sarif"
    assert main(["report", str(result_file), "-f", "sarif", "-o", str(sarif)]) == 0
    assert json.loads(sarif.read_text(encoding="utf-8"))["version"] == "2.1.0"
    out = tmp_path / "r.json"
    assert main(["report", str(result_file), "-f", "json", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == result_file.read_text(encoding="utf-8")


def test_missing_input_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert main(["report", str(missing), "-o", str(tmp_path / "x.html")]) == 3
    assert capsys.readouterr().err == f"piscan: {missing}: no such file\n"
    assert not (tmp_path / "x.html").exists()


def test_not_a_result_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something-else"}', encoding="utf-8")
    assert main(["report", str(bad), "-o", str(tmp_path / "x.html")]) == 3
    assert "not a PIScan result" in capsys.readouterr().err


def test_bad_format_is_usage_error(result_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(result_file), "-f", "docx", "-o", str(tmp_path / "x")]) == 2
    assert "'docx' is not one of 'html', 'json', 'sarif', 'pdf'" in capsys.readouterr().err


def test_pdf_without_chromium_names_package(
    result_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PISCAN_CHROMIUM", "/nonexistent/chromium")
    assert main(["report", str(result_file), "-f", "pdf", "-o", str(tmp_path / "x.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "install the Debian package `chromium`" in err
