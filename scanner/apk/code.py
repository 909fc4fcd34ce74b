"""Code facts of an APK: the DEX index, sensitive-API call sites, pre-UI reachability.

The orchestrator calls :func:`load_dex_index` once per APK (class names and strings feed SDK
detection and endpoint extraction), then :func:`analyse_code` for the ``api_calls``,
``reachability`` and ``dex`` fact sections (see docs/result-format.md). Unreadable, encrypted or
run-time-loaded code never stops the scan: it becomes a :class:`~scanner.result.Limitation` and the
rest is read.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

from ..errors import InputError
from ..hashing import sha256_bytes
from ..model.records import Limitation
from ..safeio import OverBudget
from .callgraph import CallGraph, ClassHierarchy
from .callsites import CallSite, find_call_sites
from .catalogue import ApiCatalogue
from .dex import DexError, DexFile, classify_unreadable, dotted
from .guards import consent_guard, stop_at_consent_check
from .reflection import describe, find_reflective_sites
from .reachability import EntryPointsLike, Reachability, compute_reachability, entry_label, method_label

_DEX_NAME = re.compile(r"classes(\d*)\.dex")
_RUNTIME_SUFFIXES = (".dex", ".jar", ".apk", ".odex")
_LOADERS = ("Ldalvik/system/DexClassLoader;", "Ldalvik/system/InMemoryDexClassLoader;")


class ApkEntries(Protocol):
    """What :func:`load_dex_index` needs from an opened APK (``ApkInput`` or a zip wrapper)."""

    entries: Sequence[str]

    def read(self, name: str, copy: int = 0) -> bytes:
        """Bytes of one zip entry (``copy``: which of several entries of that name)."""


def dex_entry_names(entries: Sequence[str]) -> list[str]:
    """The ``classes*.dex`` entries at the APK root, in class-loader order (classes, 2, 3 ... 10)."""
    found = [(int(m.group(1) or 1), n) for n in entries if (m := _DEX_NAME.fullmatch(n))]
    return [n for _k, n in sorted(found)]


@dataclass
class DexIndex:
    """The readable DEX files of an APK, one summary row per DEX entry and what could not be read."""

    dexes: list[DexFile]
    files: list[dict[str, Any]]
    limitations: list[Limitation] = field(default_factory=list)

    def class_names(self) -> list[str]:
        """Dotted names of every class defined in the readable DEX files, sorted, unique."""
        names = {dotted(d.type_name(c.type_idx)) for d in self.dexes for c in d.class_defs()}
        return sorted(names)

    def class_splits(self) -> dict[str, tuple[str, ...]]:
        """Dotted name -> the split APKs or feature modules (``split_feature.apk``, ``pay``) of each
        class that only their DEX files define, sorted. Empty for a single APK, and when a base DEX
        file could not be read (it might define them too)."""
        if not any("!" in row["name"] for row in self.files) or any(
                not row["readable"] for row in self.files if "!" not in row["name"]):
            return {}
        splits: dict[str, set[str]] = {}
        in_base: set[str] = set()
        for dex in self.dexes:
            split = dex.name.rsplit("!", 1)[0] if "!" in dex.name else None
            for class_def in dex.class_defs():
                name = dotted(dex.type_name(class_def.type_idx))
                if split is None:
                    in_base.add(name)
                else:
                    splits.setdefault(name, set()).add(split)
        return {name: tuple(sorted(where)) for name, where in splits.items() if name not in in_base}

    def strings(self) -> Iterator[tuple[str, str]]:
        """(dex name, string) for every string table entry, DEX by DEX in table order."""
        for dex in self.dexes:
            for text in dex.strings():
                yield dex.name, text

    def summary(self) -> dict[str, Any]:
        """``facts.dex``: per-file rows plus class and method totals of the readable files."""
        return {
            "files": [dict(row) for row in self.files],
            "class_count": sum(r["classes"] for r in self.files if r["readable"]),
            "method_count": sum(r["methods"] for r in self.files if r["readable"]),
        }


def _read_one(name: str, data: bytes) -> tuple[DexFile | None, dict[str, Any], Limitation | None]:
    row: dict[str, Any] = {"name": name, "size": len(data), "sha256": sha256_bytes(data), "classes": 0,
                           "methods": 0, "readable": False, "reason": None}
    try:
        dex = DexFile(name, data)
        classes = len(dex.class_defs())
        methods = dex.method_count()
    except DexError as exc:
        kind = classify_unreadable(data) if "magic" in exc.message else "dex_unreadable"
        row["reason"] = exc.message
        detail = f"{exc.message}; its code was not inspected"
        if kind == "dex_encrypted":
            detail = f"{exc.message}; the content looks encrypted (high entropy), its code was not inspected"
        return None, row, Limitation(kind=kind, detail=detail, where=name)
    row.update(classes=classes, methods=methods, readable=True, reason=dex.note)
    return dex, row, None


def _add_dex(name: str, read: Callable[[], bytes], dexes: list[DexFile], files: list[dict[str, Any]],
             limitations: list[Limitation]) -> None:
    """Read one DEX entry into ``dexes`` (or a limitation naming it) and its summary row."""
    try:
        data = read()
    except InputError as exc:
        kind = "over_budget" if isinstance(exc, OverBudget) else "dex_unreadable"
        files.append({"name": name, "size": 0, "sha256": sha256_bytes(b""), "classes": 0, "methods": 0,
                      "readable": False, "reason": exc.message})
        limitations.append(Limitation(kind, f"cannot read the entry: {exc.message}; its code was not inspected", name))
        return
    dex, row, lim = _read_one(name, data)
    files.append(row)
    if dex is not None:
        dexes.append(dex)
    if lim is not None:
        limitations.append(lim)


def load_dex_index(apk_input: ApkEntries) -> DexIndex:
    """Read every ``classes*.dex`` of the APK and note code that is unreadable or loaded at run time."""
    dexes: list[DexFile] = []
    files: list[dict[str, Any]] = []
    limitations: list[Limitation] = []
    copies = getattr(apk_input, "copy_count", None)
    for entry in dex_entry_names(apk_input.entries):
        count = copies(entry) if copies is not None else 1
        for copy in range(max(count, 1)):
            # every copy of a duplicated name is scanned, the later ones named classes.dex#2 ...
            name = entry if copy == 0 else f"{entry}#{copy + 1}"
            _add_dex(name, lambda e=entry, c=copy, n=count: apk_input.read(e, c) if n > 1 else apk_input.read(e),
                     dexes, files, limitations)
    for split in getattr(apk_input, "splits", ()):
        for entry in dex_entry_names(split.entries):
            # a split's code is named after it: split_feature.apk!classes.dex
            _add_dex(f"{split.name}!{entry}", lambda e=entry, a=split.archive: a.read(e), dexes, files, limitations)
    for split, reason in getattr(apk_input, "split_problems", ()):
        limitations.append(Limitation("entry_unreadable", f"split APK not scanned: {reason}", split))
    for name in sorted(apk_input.entries):
        if name.startswith("assets/") and name.lower().endswith(_RUNTIME_SUFFIXES):
            limitations.append(Limitation(
                "dex_runtime_loaded",
                f"{name} is code packaged as an asset; it can be loaded at run time and was not inspected", name))
    for dex in dexes:
        for loader in _LOADERS:
            if dex.find_type(loader) is not None:
                limitations.append(Limitation(
                    "dex_runtime_loaded",
                    f"the code references {dotted(loader)}: it can load code at run time that this scan cannot see",
                    dex.name))
    return DexIndex(dexes=dexes, files=files, limitations=limitations)


@dataclass
class CodeFacts:
    """The ``api_calls``, ``reachability`` and ``dex`` sections plus what limited them."""

    sections: dict[str, Any]
    limitations: list[Limitation]
    sites: list[CallSite] = field(default_factory=list)
    reachability: Reachability | None = None


def _site_rows(sites: list[CallSite], catalogue: ApiCatalogue, reach: Reachability | None,
               owner_of: Callable[[str], dict[str, Any]], smali: dict[CallSite, str],
               graph: CallGraph | None = None, before_consent: Reachability | None = None) -> list[dict[str, Any]]:
    entries = {e.id: e for e in catalogue.entries}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    owners: dict[str, dict[str, Any]] = {}
    for site in sites:
        entry = entries[site.api_id]
        fact_id = f"api:{site.dex}:{site.caller_class_desc}->{site.caller_method}{site.caller_descriptor}@0x{site.offset:x}"
        if fact_id in seen:  # two catalogue entries on one instruction
            fact_id = f"{fact_id}:{site.api_id}"
        seen.add(fact_id)
        reached = reach.reached(site.caller_key) if reach is not None else None
        path = reach.path_to(site.caller_key) if reached else None
        guard = None
        if reached and before_consent is not None and before_consent.reached(site.caller_key) is False:
            # reachable, but only through a consent check: not before consent; name the check
            guard = consent_guard(graph, path, site.dex, site.file_offset) if graph is not None and path else None
            if guard is not None:
                reached = False
        elif reached and before_consent is not None:
            path = before_consent.path_to(site.caller_key) or path  # a path that passes no consent check
            # the caller itself may check consent before the call
            guard = consent_guard(graph, [site.caller_key], site.dex, site.file_offset) if graph is not None else None
            if guard is not None:
                reached = False
        if site.caller_class not in owners:
            owners[site.caller_class] = dict(owner_of(site.caller_class))
        rows.append({
            "id": fact_id, "api_id": site.api_id, "api": site.api, "access": site.access,
            "pi_types": list(entry.pi_types), "permission": entry.permission,
            "caller": {"class": site.caller_class, "method": site.caller_method, "descriptor": site.caller_descriptor},
            "dex": site.dex, "offset": site.offset, "file_offset": site.file_offset, "argument": site.argument,
            "self_check": site.self_ref,
            "owner": dict(owners[site.caller_class]),
            "reachable_before_ui": reached,
            "reach_entry": entry_label(path[0]) if path else None,
            "reach_path": [method_label(k) for k in path] if path else None,
            "smali": smali.get(site),
            "consent_guard": guard,
        })
    return rows


def analyse_code(index: DexIndex, catalogue: ApiCatalogue, entry_points: EntryPointsLike,
                 owner_of: Callable[[str], dict[str, Any]], *, deep: bool = False,
                 apk_path: str | Path | None = None, max_seconds: float = 30.0,
                 max_methods: int | None = None) -> CodeFacts:
    """Call sites of the catalogue APIs, their owners and pre-UI reachability, as fact sections."""
    limitations = list(index.limitations)
    sites: list[CallSite] = []
    unresolved = 0
    for dex in index.dexes:
        try:
            sites.extend(find_call_sites(dex, catalogue))
        except DexError as exc:
            limitations.append(Limitation("dex_unreadable", f"call-site scan stopped: {exc.message}", dex.name))
        except (IndexError, struct.error) as exc:  # bytecode running past its code item
            limitations.append(Limitation("dex_unreadable", f"call-site scan stopped: malformed bytecode ({exc})", dex.name))
    for dex in index.dexes:  # apart: a malformed lookup must not cost the direct call sites of its DEX
        try:
            reflective, computed = find_reflective_sites(dex, catalogue)
        except (DexError, IndexError, struct.error, ValueError) as exc:
            limitations.append(Limitation("dex_unreadable", f"reflection scan stopped: malformed bytecode ({exc})", dex.name))
            continue
        unresolved += computed
        sites.extend(CallSite(api_id=r.entry.id, api=r.entry.descriptor, access="reflection", dex=dex.name,
                              caller_class=dotted(r.caller[0]), caller_method=r.caller[1], caller_descriptor=r.caller[2],
                              caller_class_desc=r.caller[0], offset=(r.pos - r.start) // 2, argument=describe(r),
                              file_offset=r.pos) for r in reflective)
    if unresolved:
        limitations.append(Limitation(
            "reflection_unresolved", f"{unresolved} reflective method lookup(s) (Class.getMethod/getDeclaredMethod) take a "
            "name computed at run time; what they call was not resolved, so a catalogue API read that way is not "
            "reported", None))
    sites.sort(key=CallSite.sort_key)
    graph = CallGraph(ClassHierarchy(index.dexes))
    kwargs: dict[str, Any] = {"max_seconds": max_seconds}
    if max_methods is not None:
        kwargs["max_methods"] = max_methods
    try:
        reach: Reachability | None = compute_reachability(graph, entry_points, **kwargs)
    except DexError as exc:
        reach = None
        limitations.append(Limitation("dex_unreadable", f"reachability not computed: {exc.message}", exc.path))
    except (IndexError, struct.error) as exc:
        reach = None
        limitations.append(Limitation("dex_unreadable", f"reachability not computed: malformed bytecode ({exc})", None))
    before_consent: Reachability | None = None
    if reach is not None and not reach.bound_hit:
        # the same search over calls that no consent check precedes (scanner/apk/guards.py)
        try:
            before_consent = compute_reachability(CallGraph(graph.hierarchy, stop_at=stop_at_consent_check),
                                                  entry_points, **kwargs)
        except (DexError, IndexError, struct.error):
            before_consent = None
        if before_consent is not None and before_consent.bound_hit:
            before_consent = None
    if reach is not None and not reach.bound_hit and not reach.entries:
        limitations.append(Limitation("no_entry_point", "no code that runs before any screen (an Application subclass, "
                                      "a content provider or a boot receiver with code in this APK) was found; exported "
                                      "services and receivers of other broadcasts also run without a screen and are not "
                                      "followed, so call sites are reported as present in code, not as unreachable", None))
    if reach is not None and reach.bound_hit:
        limitations.append(Limitation("reachability_bound",
                                      f"call-graph search bound hit ({reach.reason}); pre-UI reachability unknown", None))
    smali: dict[CallSite, str] = {}
    if deep and sites:
        from .deep import smali_for_sites  # androguard's full analysis: only with --deep

        if apk_path is None:
            raise ValueError("deep analysis needs apk_path")
        smali = smali_for_sites(Path(apk_path), sites)
    if reach is not None:
        reach_json = reach.to_json()
    else:
        reach_json = {"id": "reachability", "computed": False, "bound_hit": False,
                      "reason": "the call graph could not be built", "entry_points": [], "methods": 0, "edges": 0}
    sections = {
        "api_calls": _site_rows(sites, catalogue, reach, owner_of, smali, graph, before_consent),
        "reachability": reach_json,
        "dex": index.summary(),
    }
    return CodeFacts(sections=sections, limitations=limitations, sites=sites, reachability=reach)
