"""The Android collector: an APK (or a bundle's base APK) into facts, in two stages.

1. :meth:`AndroidCollector.inventory`: manifest, signing, permissions, components, endpoints (in
   resources, assets and DEX strings), the DEX index, SDKs and packers. ``piscan sdks match``
   stops here, so its SDK list is the scan's by construction.
2. :meth:`AndroidCollector.collect`: the inventory plus the code facts (sensitive-API call sites,
   their owners, pre-UI reachability; ``--deep`` smali).

Packs used (permission and API catalogues, SDK pack, packers) are recorded for provenance.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..model.collector import CollectContext, FactBundle
from ..model.records import Limitation
from .archive import ApkInput, open_apk
from .code import DexIndex, analyse_code, load_dex_index
from .endpoints import extract_endpoints
from .static import StaticFacts, collect_static, is_native_lib


@dataclass
class Inventory:
    """What the first stage found: the opened APK, its facts so far, the DEX index, SDKs, packers."""

    apk: ApkInput
    static: StaticFacts
    index: DexIndex
    app: dict[str, Any]
    sections: dict[str, Any]
    limitations: list[Limitation] = field(default_factory=list)
    packs: list[dict[str, str]] = field(default_factory=list)


def _pack_row(row: dict[str, str]) -> dict[str, str]:
    """A provenance row with an ``id`` key (modules give ``pack_id``, the keyword of ``add_pack``)."""
    return {"id": row["pack_id"], "kind": row["kind"], "version": row["version"], "sha256": row["sha256"]}


@dataclass(frozen=True)
class AndroidCollector:
    """Collects the facts of an Android APK; accepts any regular file the other collectors do not
    claim (so a file that is not an APK gets the APK opener's one-line reason)."""

    deep: bool = False
    reach_seconds: float = 30.0
    name: str = "android"

    def accepts(self, target: Path) -> bool:
        """Any regular file (the pipeline asks the mini-program collector first)."""
        try:
            return stat.S_ISREG(target.stat().st_mode)
        except OSError:
            return False

    def inventory(self, target: Path, progress: Any = None) -> Inventory:
        """Stage 1: everything but the code facts (see the module docstring)."""
        from ..sdk.detect import detect_sdks, evidence_from_facts
        from ..sdk.pack import load_sdk_pack
        from ..sdk.packers import detect_packers, load_packers

        say = progress or (lambda _m: None)
        say(f"reading {target.name}")
        apk = open_apk(target)
        static = collect_static(apk)
        sections = dict(static.sections)
        limitations = list(static.limitations)
        packs = [_pack_row(row) for row in static.packs]

        for amb in apk.ambiguities:
            limitations.append(Limitation(kind="zip_ambiguity", detail=f"{amb.detail}: a sign of tampering", where=amb.name))
        say("indexing DEX code")
        index = load_dex_index(apk)
        limitations += index.limitations
        sections["endpoints"] = merge_endpoints(sections.get("endpoints", []), extract_endpoints(dex_string_sources(index)))

        say("detecting SDKs and packers")
        pack, packer_table = load_sdk_pack(), load_packers()
        packs += [_pack_row(pack.provenance_row()), _pack_row(packer_table.provenance_row())]
        split_entries = [n for split in apk.splits for n in split.entries]  # native libs and assets of splits too
        libs = [n for n in apk.entries if is_native_lib(n)]
        libs += [f"{split.name}!{n}" for split in apk.splits for n in split.entries if is_native_lib(n)]  # named after the split
        evidence = replace(evidence_from_facts(static.app, sections, index.class_names()),
                           asset_names=sorted(set(apk.entries) | set(split_entries)), native_libs=sorted(libs),
                           class_splits=index.class_splits())
        sections["sdks"] = detect_sdks(pack, evidence)
        sections["packers"] = packers = detect_packers(packer_table, evidence)
        for packer in packers:
            limitations.append(Limitation(
                kind="packed",
                detail=f"code is protected by the packer {packer['name']}; call sites and SDK code may be hidden",
                where=packer["packer_id"],
            ))
        return Inventory(apk=apk, static=static, index=index, app=dict(static.app), sections=sections,
                         limitations=limitations, packs=packs)

    def collect(self, ctx: CollectContext) -> FactBundle:
        """Stage 1 and the code facts, as a :class:`FactBundle`."""
        from ..sdk.attribution import Attributor
        from ..sdk.pack import load_sdk_pack
        from .capability import classify_calls
        from .catalogue import load_catalogue

        inv = self.inventory(ctx.target, ctx.progress)
        ctx.progress("finding sensitive API call sites and pre-consent reachability")
        catalogue = load_catalogue()
        attributor = Attributor(load_sdk_pack(), inv.sections["sdks"], inv.app.get("first_party_prefixes", []))
        code = analyse_code(inv.index, catalogue, inv.static.entry_points, attributor.owner_of_class,
                            deep=self.deep, apk_path=ctx.target, max_seconds=self.reach_seconds)
        classify_calls(code.sections.get("api_calls") or [], catalogue, inv.sections.get("permissions") or [],
                       inv.app.get("min_sdk"), inv.app.get("target_sdk"))
        return FactBundle(
            app=inv.app,
            sections={**inv.sections, **code.sections},
            inputs=[{"role": "apk", "name": ctx.target.name, **inv.apk.digests}],
            limitations=[*inv.limitations, *code.limitations],
            packs=[*inv.packs, _pack_row(catalogue.pack_row())],
        )


def dex_string_sources(index: DexIndex) -> list[tuple[str, str, Iterator[str]]]:
    """``(dex name, "dex", strings)`` sources for endpoint extraction.

    Every URL, host name and e-mail address has a dot (the endpoint scanner skips strings without
    one), so only those strings are decoded, lazily, one DEX at a time.
    """
    dexes = sorted((dex for dex in index.dexes if dex.string_count), key=lambda dex: dex.name)
    return [(dex.name, "dex", dex.strings_with(b".")) for dex in dexes]


def merge_endpoints(*lists: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Union endpoint facts by id, merging their source files; sorted by kind and value."""
    merged: dict[str, dict[str, Any]] = {}
    for rows in lists:
        for row in rows:
            current = merged.get(row["id"])
            if current is None:
                merged[row["id"]] = {**row, "sources": list(row["sources"])}
                continue
            for source in row["sources"]:
                if source not in current["sources"]:
                    current["sources"].append(source)
    for row in merged.values():
        row["sources"].sort(key=lambda s: (s["kind"], s["file"]))
    return sorted(merged.values(), key=lambda r: (r["kind"], r["value"]))
