"""Detect packers (加固) that hide an app's real code: stub classes, native libraries, asset files.

The table is ``rules/packers.yaml`` (data only). :func:`detect_packers` returns the rows of
``facts.packers`` (docs/result-format.md) sorted by ``packer_id``; the scan marks code facts
incomplete (limitation kind ``packed``) whenever a packer is found.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from ..resources import rules_dir
from ..safeyaml import safe_load
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


def _signal(raw: Any, path: Path, pid: str) -> PackerSignal:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise UsageError(f"packer {pid!r}: each signal is one of {', '.join(SIGNAL_KINDS)}: {raw!r}", path)
    ((kind, value),) = raw.items()
    if kind not in SIGNAL_KINDS or not isinstance(value, str) or not value:
        raise UsageError(f"packer {pid!r}: bad signal {raw!r} (kinds: {', '.join(SIGNAL_KINDS)})", path)
    regex = value.startswith("re:")
    if regex:
        value = value[3:]
        try:
            re.compile(value)
        except re.error as exc:
            raise UsageError(f"packer {pid!r}: bad regex {value!r}: {exc}", path) from None
    return PackerSignal(kind, value, regex)


def parse_packers(text: str, path: Path) -> PackerTable:
    """Parse and validate the packer table text; ``UsageError`` naming the file on a problem."""
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"invalid packer table: {str(exc).splitlines()[0]}", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("packers"), list) or not data.get("version"):
        raise UsageError("invalid packer table: expected 'version' and a 'packers' list", path)
    packers: dict[str, Packer] = {}
    for row in data["packers"]:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row.get("name"):
            raise UsageError(f"invalid packer table: a packer needs id and name: {str(row)[:80]}", path)
        pid = row["id"]
        if pid in packers:
            raise UsageError(f"invalid packer table: duplicate packer id {pid!r}", path)
        signals = tuple(_signal(s, path, pid) for s in row.get("signals") or ())
        if not signals:
            raise UsageError(f"invalid packer table: packer {pid!r} has no signals", path)
        required = tuple(_signal(s, path, pid) for s in row.get("require") or ())
        packers[pid] = Packer(pid, str(row["name"]), row.get("vendor"), signals, int(row.get("min", 1)), required)
    return PackerTable(
        version=str(data["version"]),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        packers=tuple(packers[k] for k in sorted(packers)),
    )


def load_packers(path: str | Path | None = None) -> PackerTable:
    """Load a packer table (default: the shipped ``rules/packers.yaml``, read once)."""
    if path is None:
        return _default_table()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read packer table: {exc}", path) from None
    return parse_packers(text, path)


@cache
def _default_table() -> PackerTable:
    path = rules_dir() / "packers.yaml"
    return parse_packers(path.read_text(encoding="utf-8"), path)


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
