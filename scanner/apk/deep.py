"""``--deep``: androguard's full analysis adds the smali around each call site as evidence.

Only used when the examiner asks for it: AnalyzeAPK takes seconds to minutes and hundreds of MB.
For every site the calling method is disassembled by androguard and the instructions from
:data:`CONTEXT` before to :data:`CONTEXT` after the call are kept, one per line, as
``<code-unit offset in hex>: <instruction>``, with ``=>`` marking the site itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .archive import quiet_androguard
from .callsites import CallSite

CONTEXT = 4


def _format(rows: list[tuple[int, Any]], at: int) -> str:
    lines = []
    for off, ins in rows:
        mark = "=>" if off == at else "  "
        lines.append(f"{mark} {off // 2:04x}: {ins.get_name()} {ins.get_output()}".rstrip())
    return "\n".join(lines)


def smali_for_sites(apk_path: Path, sites: list[CallSite]) -> dict[CallSite, str]:
    """Smali excerpt per site (sites whose method androguard cannot find are left out)."""
    from androguard.misc import AnalyzeAPK

    quiet_androguard()
    wanted = {s.caller_key for s in sites}
    classes = {k[0] for k in wanted}
    _apk, dexes, _dx = AnalyzeAPK(str(apk_path))
    methods: dict[tuple[str, str, str], Any] = {}
    for dex in dexes:
        for cls in dex.get_classes():
            if cls.get_name() not in classes:
                continue
            for m in cls.get_methods():
                key = (cls.get_name(), m.get_name(), m.get_descriptor().replace(" ", ""))
                if key in wanted and key not in methods:
                    methods[key] = m
    out: dict[CallSite, str] = {}
    listings: dict[tuple[str, str, str], list[tuple[int, Any]]] = {}
    for site in sites:
        method = methods.get(site.caller_key)
        if method is None:
            continue
        rows = listings.get(site.caller_key)
        if rows is None:
            rows = list(method.get_instructions_idx())
            listings[site.caller_key] = rows
        at = site.offset * 2
        pos = next((i for i, (off, _ins) in enumerate(rows) if off == at), None)
        if pos is None:
            continue
        out[site] = _format(rows[max(0, pos - CONTEXT): pos + CONTEXT + 1], at)
    return out
