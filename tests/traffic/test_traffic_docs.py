"""docs/traffic.md stays true: every `piscan` command line it shows exists with those options."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest

from scanner.cli import cli
from scanner.traffic.phases import phase_for_mark

DOC = Path(__file__).resolve().parents[2] / "docs" / "traffic.md"


def _command_lines() -> list[str]:
    lines, inside = [], False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if inside and line.strip().startswith("piscan "):
            lines.append(line.strip().split("  #", 1)[0].strip())
    return lines


@pytest.mark.parametrize("line", _command_lines())
def test_documented_command_exists(line: str) -> None:
    args = shlex.split(line)[1:]
    ctx = click.Context(cli)
    command: click.Command = cli
    while isinstance(command, click.Group):
        command = command.get_command(ctx, args.pop(0))
        assert command is not None, line
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for token in args:
        if token.startswith("-") and token != "--":
            assert token in options, f"{line}: {token} is not an option of {command.name}"
    if command.name == "mark":
        custom = args[0] == "--custom"
        phase_for_mark(args[1] if custom else args[0], custom=custom)


def test_the_guide_covers_the_whole_workflow() -> None:
    names = {shlex.split(line)[1] for line in _command_lines()}
    assert {"device", "proxy", "mark", "verify", "traffic", "scan"} <= names
