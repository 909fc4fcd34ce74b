"""Generated documentation stays in step with the code."""

from __future__ import annotations

from scanner.testing.corpus import REPO
from scanner.clidoc import render_cli_reference


def test_cli_reference_is_current() -> None:
    committed = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == render_cli_reference(), "regenerate: python -m scanner.clidoc > docs/cli.md"


def test_readme_quick_start_matches_ci() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    blocks = readme.split("## Quick start", 1)[1].split("## ", 1)[0].split("```sh\n")[1:]
    commands = [b.split("\n```", 1)[0].strip() for b in blocks]
    assert len(commands) == 2
    for command in commands:
        assert command in ci, f"README command not run by .ci/run: {command}"
