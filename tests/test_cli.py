"""The CLI contract: --version, --help on every command, exit codes and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from scanner import __version__
from scanner.cli import COMMANDS, cli, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"piscan {__version__}"


def test_top_help_lists_every_command_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out
    assert "3 unreadable or invalid input" in out


def _all_command_paths() -> list[list[str]]:
    paths: list[list[str]] = []
    ctx = click.Context(cli)
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        paths.append([name])
        if isinstance(command, click.Group):
            paths.extend([name, sub] for sub in sorted(command.commands))
    return paths


@pytest.mark.parametrize("path", _all_command_paths(), ids=" ".join)
def test_help_on_every_command(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    assert "Usage: piscan " + " ".join(path) in capsys.readouterr().out


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "does-not-exist.apk"], "does-not-exist.apk: no such file or directory"),
        (["scan", "--format", "docx", "x.apk"], "unknown format 'docx'"),
    ],
)
def test_bad_input_is_one_line(args: list[str], message: str, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(args)
    err = capsys.readouterr().err
    assert code in (2, 3)
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not (tmp_path / "piscan-out").exists()


def test_directory_is_rejected(tmp_path, capsys) -> None:
    assert main(["scan", str(tmp_path), "-o", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "is a directory" in err and len(err.strip().splitlines()) == 1


def test_console_script_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "scanner", "--version"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == f"piscan {__version__}"
