"""Static checks run with the tests (so CI runs them with the README's test command).

ruff (settings in ruff.toml) over the code, and mypy --strict over the contract between stages:
scanner/model (the result model) and scanner/rules (the rule engine). Both come with the test
extras; a clone without them gets a skip that says how to install them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(module: str) -> list[str]:
    if shutil.which(module) is None and subprocess.run([sys.executable, "-m", module, "--version"],
                                                        capture_output=True).returncode != 0:
        pytest.skip(f"{module} is not installed: pip install '.[test]' brings it")
    return [sys.executable, "-m", module]


def test_ruff_finds_nothing() -> None:
    run = subprocess.run([*_tool("ruff"), "check", "scanner", "rules", "tests", "bench", "samples"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_strict_on_the_model_and_the_rule_engine() -> None:
    run = subprocess.run([*_tool("mypy"), "--strict", "--follow-imports=silent", "--ignore-missing-imports",
                          "--cache-dir", "/dev/null", "scanner/model", "scanner/rules"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
