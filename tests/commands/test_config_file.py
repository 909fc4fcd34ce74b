"""Option defaults from piscan.toml (or the user config): used when the flag is absent, never
over a flag given on the command line; a bad file is one line naming it (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.testing.corpus import REPO

SAMPLE = REPO / "samples" / "piscan-demo.apk"


@pytest.fixture
def case_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PISCAN_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-config"))
    return tmp_path


def test_the_case_folder_config_sets_defaults_and_flags_win(case_folder: Path) -> None:
    (case_folder / "piscan.toml").write_text(
        '[defaults]\nexaminer = "张三"\n\n[scan]\nformat = "json"\ncategory = "38"\n', encoding="utf-8")
    assert main(["scan", "-q", str(SAMPLE), "-o", "a", "--reproducible"]) == 0
    assert sorted(p.name for p in (case_folder / "a").iterdir()) == ["result.json"]
    result = json.loads((case_folder / "a" / "result.json").read_text(encoding="utf-8"))
    assert result["case"]["examiner"] == "张三" and result["case"]["category"]
    # a flag on the command line wins over the file
    assert main(["scan", "-q", str(SAMPLE), "-o", "b", "-f", "html", "--examiner", "李四", "--reproducible"]) == 0
    assert (case_folder / "b" / "report.html").is_file()
    assert json.loads((case_folder / "b" / "result.json").read_text(encoding="utf-8"))["case"]["examiner"] == "李四"


def test_the_user_config_applies_when_the_case_folder_has_none(case_folder: Path, monkeypatch) -> None:
    user = case_folder / "xdg" / "piscan" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[scan]\nformat = "json"\nexaminer = "王五"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(case_folder / "xdg"))
    assert main(["scan", "-q", str(SAMPLE), "-o", "c", "--reproducible"]) == 0
    assert json.loads((case_folder / "c" / "result.json").read_text(encoding="utf-8"))["case"]["examiner"] == "王五"


@pytest.mark.parametrize(("text", "message"), [
    ('[scan]\nfromat = "json"\n', "[scan] unknown option 'fromat'; valid:"),
    ('[scna]\nformat = "json"\n', "unknown table [scna]"),
    ('[scan]\nformat = ["json"]\n', "[scan] format: expected a string or a number"),
    ('[scan\n', "not a valid TOML config file"),
])
def test_a_bad_config_is_one_line_naming_the_file(case_folder: Path, text: str, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (case_folder / "piscan.toml").write_text(text, encoding="utf-8")
    assert main(["scan", "-q", str(SAMPLE), "-o", "d"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "piscan.toml" in err and message in err, err
    assert not (case_folder / "d").exists()


def test_shell_completion_scripts_and_answers() -> None:
    """The completion the README documents: the bash script, and an answer for `piscan sc<TAB>`."""
    import os
    import subprocess
    import sys

    piscan = [sys.executable, "-m", "scanner"]
    script = subprocess.run(piscan, env={**os.environ, "_PISCAN_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60)
    assert "_piscan_completion()" in script.stdout
    answer = subprocess.run(piscan, env={**os.environ, "_PISCAN_COMPLETE": "bash_complete", "COMP_WORDS": "piscan sc",
                                         "COMP_CWORD": "1"}, capture_output=True, text=True, timeout=60)
    assert "plain,scan" in answer.stdout.split()
