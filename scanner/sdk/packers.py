"""Detect packers (加固) that hide an app's real code: stub classes, native libraries, asset files.

The table is ``rules/packers.yaml`` (data only). :func:`detect_packers` returns the rows of
``facts.packers`` (docs/result-format.md) sorted by ``packer_id``; the scan marks code facts
incomplete (limitation kind ``packed``) whenever a packer is found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..datapack import DataError, DataFile, DataKind, load, unique
from ..resources import rules_dir
from .pack import name_matches

SIGNAL_KINDS = ("native_lib", "file", "class")


@dataclass(frozen=True)
class PackerSignal:
    """One signal of a packer: a native library basename, a ZIP entry path or a class name."""

    kind: str
    value: str
    regex: bool

    def matches(self, name: str) -> bool:
        """Exact comparison, or a full regex match for ``re:`` signals."""
        return name_matches(self.value, self.regex, name)


@dataclass(frozen=True)
class Packer:
    """One packer of the table."""

    id: str
    name: str
    vendor: str | None
    signals: tuple[PackerSignal, ...]
    min_signals: int
    required: tuple[PackerSignal, ...]


@dataclass(frozen=True)
class PackerTable:
    """All packers plus identity for provenance."""

    version: str
    sha256: str
    packers: tuple[Packer, ...]

    def provenance_row(self) -> dict[str, str]:
        """Arguments for :func:`scanner.result.add_pack`."""
        return {"pack_id": "piscan-packers", "kind": "packers", "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True)
class PackerEvidence:
    """What packer detection looks at: ZIP entry names, native library basenames (also taken from
    ``lib/*/*.so`` entries), DEX class names (dotted), the application class and components."""

    entries: Sequence[str] = ()
    class_names: Sequence[str] = ()
    application_class: str | None = None
    components: Sequence[str] = ()
    native_libs: Sequence[str] = ()


def packer_evidence_from(evidence: Any) -> PackerEvidence:
    """A :class:`PackerEvidence` from itself or from an ``SdkEvidence`` (its asset names, native
    libraries, class names and components)."""
    if isinstance(evidence, PackerEvidence):
        return evidence
    return PackerEvidence(
        entries=tuple(getattr(evidence, "asset_names", ())),
        class_names=getattr(evidence, "class_names", ()),
        components=getattr(evidence, "components", ()),
        native_libs=tuple(getattr(evidence, "native_libs", ())),
    )


def _signal(raw: dict[str, str]) -> PackerSignal:
    ((kind, value),) = raw.items()
    regex = value.startswith("re:")
    return PackerSignal(kind, value[3:] if regex else value, regex)


def check_packers(data: dict[str, Any]) -> None:
    """What the schema cannot say: packer ids unique, regex signals compile."""
    unique(data["packers"], "id", "packers")
    for i, row in enumerate(data["packers"]):
        for section in ("signals", "require"):
            for j, raw in enumerate(row.get(section) or ()):
                ((kind, value),) = raw.items()
                if value.startswith("re:"):
                    try:
                        re.compile(value[3:])
                    except re.error as exc:
                        raise DataError(["packers", i, section, j, kind], f"bad regular expression {value[3:]!r}: {exc}") from None


def build_packers(source: DataFile) -> PackerTable:
    """Build the packer table from checked ``packers.yaml`` data."""
    packers: dict[str, Packer] = {}
    for row in source.data["packers"]:
        signals = tuple(_signal(s) for s in row["signals"])
        required = tuple(_signal(s) for s in row.get("require") or ())
        packers[row["id"]] = Packer(row["id"], str(row["name"]), row.get("vendor"), signals, int(row.get("min", 1)), required)
    return PackerTable(version=source.version, sha256=source.sha256, packers=tuple(packers[k] for k in sorted(packers)))


PACKERS_KIND: DataKind[PackerTable] = DataKind(
    name="packers", title="packer table", schema="packers.schema.json", build=build_packers, keys=frozenset({"packers"}),
    check=check_packers,
)


def load_packers(path: str | Path | None = None) -> PackerTable:
    """Load a packer table (default: the shipped ``rules/packers.yaml``)."""
    return load(PACKERS_KIND, Path(path) if path is not None else rules_dir() / "packers.yaml")


def _matched(sig: PackerSignal, libs: Sequence[str], entries: Sequence[str], classes: frozenset[str]) -> list[str]:
    if sig.kind == "native_lib":
        return sorted({lib for lib in libs if sig.matches(lib)})
    if sig.kind == "file":
        return sorted({e for e in entries if sig.matches(e)})
    if sig.regex:
        return sorted(c for c in classes if sig.matches(c))
    return [sig.value] if sig.value in classes else []


def detect_packers(table: Any, evidence: Any = None) -> list[dict[str, Any]]:
    """Rows of ``facts.packers``: every packer whose signals match, sorted by packer_id.

    Called as ``detect_packers(table_or_None, evidence)`` or ``detect_packers(evidence)`` (shipped
    table); ``evidence`` is a :class:`PackerEvidence` or an ``SdkEvidence``.
    """
    if evidence is None and not isinstance(table, PackerTable):
        table, evidence = None, table
    if evidence is None:
        raise TypeError("detect_packers needs evidence")
    table = table or load_packers()
    evidence = packer_evidence_from(evidence)
    entries = sorted(set(evidence.entries))
    libs = sorted({e.rsplit("/", 1)[-1] for e in entries if e.startswith("lib/") and e.endswith(".so")} | set(evidence.native_libs))
    wanted = {s.value for p in table.packers for s in p.signals + p.required if s.kind == "class" and not s.regex}
    classes = frozenset(c for c in (*evidence.class_names, *evidence.components, evidence.application_class or "") if c in wanted)
    rows = []
    for packer in table.packers:
        hits: list[dict[str, Any]] = []
        for sig in packer.signals:
            for value in _matched(sig, libs, entries, classes):
                detail = f"matches {sig.value}" if sig.regex else None
                if sig.kind == "class" and value == evidence.application_class:
                    detail = "the manifest's application class"
                hits.append({"kind": sig.kind, "value": value, "detail": detail})
        matched_signals = sum(1 for sig in packer.signals if _matched(sig, libs, entries, classes))
        required_ok = all(_matched(sig, libs, entries, classes) for sig in packer.required)
        if matched_signals >= packer.min_signals and required_ok and hits:
            rows.append({
                "id": f"packer:{packer.id}",
                "packer_id": packer.id,
                "name": packer.name,
                "vendor": packer.vendor,
                "signals": sorted(hits, key=lambda h: (h["kind"], h["value"])),
            })
    return rows
