"""The CLI contract: --version, --help on every command, exit codes and one-line errors."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import click
import pytest

from scanner import __version__
from scanner.cli import COMMANDS, cli, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"piscan {__version__} (distribution piscan-compliance)"


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
    assert proc.returncode == 0 and proc.stdout.strip() == f"piscan {__version__} (distribution piscan-compliance)"


def test_no_arguments_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out.startswith("Usage: piscan [OPTIONS] COMMAND")
    assert main(["rules"]) == 0
    assert capsys.readouterr().out.startswith("Usage: piscan rules [OPTIONS] COMMAND")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan"], "Missing argument 'TARGET' (see `piscan scan --help`)"),
        (["scan", "x.apk", "--fail-on", "urgent"], "'urgent' is not one of 'never', 'info', 'low', 'medium', 'high'"),
        (["report", "r.json"], "Missing option '-o' / '--output' (see `piscan report --help`)"),
        (["proxy", "--listen-port", "0"], "0 is not in the range 1<=x<=65535"),
        (["no-such-command"], "No such command 'no-such-command'"),
    ],
)
def test_click_usage_errors_are_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("piscan: ") and captured.err.count("\n") == 1
    assert message in captured.err


def _root_context() -> click.Context:
    return cli.make_context("piscan", [], resilient_parsing=True)


EXAMPLE_RE = re.compile(r"^\s+(piscan \S.*?)(?:\s{2,}\S.*)?$")


def _help_examples() -> list[tuple[str, str]]:
    examples = []
    for path in [[], *_all_command_paths()]:
        # contexts come from make_context so the group's -h/--help settings apply: click caches
        # each command's help option from the first context it sees (docs/cli.md depends on it)
        ctx = _root_context()
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.get_command(ctx, name)  # type: ignore[assignment]
            ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        text = command.get_help(ctx)
        for line in text.splitlines():
            match = EXAMPLE_RE.match(line)
            if match:
                for part in match.group(1).split("&&"):
                    examples.append((" ".join(path), part.strip()))
    return examples


HELP_EXAMPLES = _help_examples()
#: examples that need no input file: they are run, so the ids they name must exist
RUNNABLE = ("piscan rules list", "piscan rules show", "piscan sdks list", "piscan sdks show")


@pytest.mark.parametrize(("where", "example"), HELP_EXAMPLES, ids=[e for _w, e in HELP_EXAMPLES])
def test_every_help_example_parses(where: str, example: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The example command lines in --help use only real commands, options and choices."""
    args = shlex.split(example)[1:]
    command: click.Command = cli
    ctx = _root_context()
    while isinstance(command, click.Group):
        name, args = args[0], args[1:]
        default = getattr(command, "default_command", None)
        if default and command.get_command(ctx, name) is None:  # `piscan batch INPUT...` means `batch run INPUT...`
            name, args = default, [name, *args]
        sub = command.get_command(ctx, name)
        assert sub is not None, f"{where}: unknown command {name!r} in {example!r}"
        command = sub
        if isinstance(command, click.Group):
            ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    command.make_context(command.name, list(args), parent=ctx)
    if example.startswith(RUNNABLE):
        argv = shlex.split(example)[1:]
        assert main(argv) == 0, capsys.readouterr().err
        named = argv[2] if argv[1] == "show" else argv[argv.index("--pack" if "--pack" in argv else "--category") + 1]
        assert named in capsys.readouterr().out


def test_top_help_shows_typical_use(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Typical use:" in out and "piscan mark consent --session s17" in out


def test_expat_out_of_memory_is_the_memory_budget_not_a_bug() -> None:
    """Under a low PISCAN_MAX_MEMORY_BYTES a library's expat parser can report "out of memory" as
    an ExpatError instead of raising MemoryError (seen once in CI): that is exit 3, not exit 4."""
    import xml.parsers.expat as expat

    from scanner.cli import _allocation_failure

    parser = expat.ParserCreate()
    try:
        parser.Parse(b"<a><b></a>", True)
    except expat.ExpatError as syntax:
        assert not _allocation_failure(syntax)  # a real parse error stays what it is
    no_memory = expat.ExpatError(expat.errors.XML_ERROR_NO_MEMORY)
    no_memory.code = expat.errors.codes[expat.errors.XML_ERROR_NO_MEMORY]
    assert _allocation_failure(no_memory) and not _allocation_failure(ValueError("out of memory"))
