"""Budgets for hostile inputs: how much a scan reads, inflates, nests and parses.

Every input comes from a suspect who may want the scan to fail. Each reader checks its budget
*while* it reads (never "read it all, then look"), and a part over budget becomes a limitation
naming the part and the budget, so the result is marked incomplete, never silently clean.

The defaults are far above any real app (the largest DEX files of real apps are about 12 MiB,
the largest APKs about 300 MiB) and far below what takes a machine down. They can be raised
with ``PISCAN_MAX_<NAME>`` environment variables (bytes or counts), which batch drivers and
CI can set; the result records the budgets in force (``docs/result-format.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

MiB = 1 << 20


@dataclass(frozen=True)
class Budgets:
    """Limits on one scan; each field can be overridden by ``PISCAN_MAX_<FIELD>``."""

    entry_bytes: int = 256 * MiB  #: inflated size of one archive entry (DEX, base.apk, wxapkg file)
    total_bytes: int = 2048 * MiB  #: inflated bytes read from one archive in all
    ratio: int = 1000  #: inflated / compressed size of one entry (a zip bomb exceeds it)
    entries: int = 100_000  #: entries in one archive (zip or wxapkg)
    file_bytes: int = 64 * MiB  #: one source file of a folder, a JSON or YAML document, a HAR
    tree_bytes: int = 1024 * MiB  #: all files of a mini-program source folder
    depth: int = 200  #: nesting of JSON, YAML, tnetstring, XML and JS
    yaml_nodes: int = 1_000_000  #: nodes of a YAML document after alias expansion
    js_bytes: int = 8 * MiB  #: one JavaScript file handed to the parser

    def as_dict(self) -> dict[str, int]:
        """The budgets in force, for the result's provenance."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _from_env() -> Budgets:
    values: dict[str, int] = {}
    for item in fields(Budgets):
        raw = os.environ.get(f"PISCAN_MAX_{item.name.upper()}")
        if raw is None:
            continue
        try:
            value = int(raw)
        except ValueError:
            continue
        if value > 0:
            values[item.name] = value
    return Budgets(**values)


def budgets() -> Budgets:
    """The budgets of this process (defaults, raised or lowered by ``PISCAN_MAX_*``)."""
    return _from_env()


def size_text(n: int) -> str:
    """``256 MiB`` / ``4,016 bytes``: a size for a one-line message."""
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB:,} MiB"
    return f"{n:,} bytes"
