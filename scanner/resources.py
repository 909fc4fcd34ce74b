"""Locate the data shipped with PIScan: rule packs (``rules/``), templates (``reports/``), schemas.

In a wheel, ``rules/`` is installed as ``scanner/_packs`` and ``reports/`` as ``scanner/_templates``;
in a source checkout they stand beside the package. Both layouts are supported.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _first_dir(*candidates: Path) -> Path:
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(f"PIScan data folder missing; looked in {', '.join(map(str, candidates))}")


@cache
def rules_dir() -> Path:
    """The folder of shipped rule and data packs (``rules/`` in the source tree)."""
    return _first_dir(_HERE / "_packs", _HERE.parent / "rules")


@cache
def templates_dir() -> Path:
    """The folder of report templates (``reports/`` in the source tree)."""
    return _first_dir(_HERE / "_templates", _HERE.parent / "reports")


def schema_path(name: str) -> Path:
    """Path of a JSON Schema shipped in ``scanner/schemas`` (e.g. ``result.schema.json``)."""
    return _HERE / "schemas" / name
