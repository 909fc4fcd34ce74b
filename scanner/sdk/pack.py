"""Load the SDK knowledge pack (``rules/sdks/*.yaml``) into frozen records.

The pack is data built by ``rules/build_sdk_pack.py``: ``_pack.yaml`` carries its id and version,
one file per category carries the SDK records. Loading validates every record (ids unique,
categories and signature kinds known, PI types from ``rules/pi-types.yaml``) and computes a sha256
over the pack files for the result's provenance. YAML is read with the safe loader only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..datapack import DataError, DataFile, DataKind, load_source, read_checked, unique
from ..errors import UsageError
from ..resources import rules_dir

SIGNATURE_KINDS = ("code_prefix", "class_suffix", "component", "meta_data", "action", "native_lib", "host")
SOURCES = ("apk-analyzer", "appscan", "curated", "exodus", "libchecker")
ORIGINS = ("cn", "intl", "unknown")


@dataclass(frozen=True)
class Signature:
    """One signature of an SDK and the data sets it came from.

    In the pack files a signature kind maps each value to its sources; a value starting with
    ``re:`` is a regular expression matched against the whole name.
    """

    kind: str
    value: str
    regex: bool
    sources: tuple[str, ...]

    def matches_name(self, name: str) -> bool:
        """Exact (or, for a regex signature, full-match) comparison with a name."""
        return name_matches(self.value, self.regex, name)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def name_matches(value: str, regex: bool, name: str) -> bool:
    """Whether ``name`` equals a signature ``value``, or fully matches it when it is a regex."""
    if regex:
        return _compiled(value).fullmatch(name) is not None
    return name == value


@dataclass(frozen=True)
class SdkRecord:
    """One SDK of the pack."""

    id: str
    name_zh: str
    name_en: str
    vendor_zh: str | None
    vendor_en: str | None
    origin: str
    category: str
    signatures: tuple[Signature, ...]
    pi_types: tuple[str, ...]
    privacy_policy_url: str | None
    website: str | None
    aliases: tuple[str, ...]
    provenance: tuple[str, ...]

    def name(self) -> dict[str, str]:
        """``{"zh", "en"}`` as in the result format."""
        return {"zh": self.name_zh, "en": self.name_en}

    def vendor(self) -> dict[str, str] | None:
        """``{"zh", "en"}`` of the legal entity, or ``None`` when unknown."""
        if self.vendor_zh is None and self.vendor_en is None:
            return None
        return {"zh": self.vendor_zh or self.vendor_en or "", "en": self.vendor_en or self.vendor_zh or ""}

    def of_kind(self, kind: str) -> tuple[Signature, ...]:
        """The signatures of one kind."""
        return tuple(s for s in self.signatures if s.kind == kind)

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``piscan sdks show --json``."""
        sigs: dict[str, list[dict[str, Any]]] = {}
        for sig in self.signatures:
            row: dict[str, Any] = {"value": sig.value, "sources": list(sig.sources)}
            if sig.regex:
                row["regex"] = True
            sigs.setdefault(sig.kind, []).append(row)
        return {
            "id": self.id,
            "name": self.name(),
            "vendor": self.vendor(),
            "origin": self.origin,
            "category": self.category,
            "signatures": sigs,
            "pi_types": list(self.pi_types),
            "privacy_policy_url": self.privacy_policy_url,
            "website": self.website,
            "aliases": list(self.aliases),
            "provenance": list(self.provenance),
        }


@dataclass(frozen=True)
class SdkPack:
    """The whole pack: records sorted by id, plus identity for provenance."""

    id: str
    version: str
    sha256: str
    sdks: tuple[SdkRecord, ...]
    path: str
    _by_id: dict[str, SdkRecord] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({s.id: s for s in self.sdks})

    def __len__(self) -> int:
        return len(self.sdks)

    def __contains__(self, sdk_id: object) -> bool:
        return sdk_id in self._by_id

    def get(self, sdk_id: str) -> SdkRecord | None:
        """The record with this id, or ``None``."""
        return self._by_id.get(sdk_id)

    def categories(self) -> list[str]:
        """Every category used, sorted."""
        return sorted({s.category for s in self.sdks})

    def provenance_row(self) -> dict[str, str]:
        """Arguments for :func:`scanner.result.add_pack`."""
        return {"pack_id": self.id, "kind": "sdks", "version": self.version, "sha256": self.sha256}


def combined_sha256(digests: dict[str, str]) -> str:
    """sha256 over the pack files: each file's name and the sha256 of its bytes, in name order."""
    outer = hashlib.sha256()
    for name in sorted(digests):
        outer.update(name.encode("utf-8") + b"\0" + digests[name].encode("ascii") + b"\n")
    return outer.hexdigest()


def pack_sha256(files: list[Path]) -> str:
    """:func:`combined_sha256` of files on disk."""
    return combined_sha256({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files})


def check_category(data: dict[str, Any]) -> None:
    """What the schema cannot say about a category file: ids unique, regex signatures compile."""
    unique(data["sdks"], "id", "sdks")
    for i, row in enumerate(data["sdks"]):
        for kind, items in row["signatures"].items():
            for value in items:
                if value.startswith("re:"):
                    try:
                        re.compile(value[3:])
                    except re.error as exc:
                        raise DataError(["sdks", i, "signatures", kind], f"bad regular expression {value[3:]!r}: {exc}") from None


def _record(row: dict[str, Any]) -> SdkRecord:
    sigs = [Signature(kind, value[3:], True, tuple(sources)) if value.startswith("re:") else Signature(kind, value, False, tuple(sources))
            for kind, items in row["signatures"].items() for value, sources in items.items()]
    name, vendor = row["name"], row.get("vendor") or {}
    return SdkRecord(
        id=row["id"],
        name_zh=str(name["zh"]),
        name_en=str(name["en"]),
        vendor_zh=vendor.get("zh"),
        vendor_en=vendor.get("en"),
        origin=row["origin"],
        category=str(row.get("category") or "other"),
        signatures=tuple(sigs),
        pi_types=tuple(row.get("pi_types") or ()),
        privacy_policy_url=row.get("privacy_policy_url"),
        website=row.get("website"),
        aliases=tuple(row.get("aliases") or ()),
        provenance=tuple(row["provenance"]),
    )


def build_category(source: DataFile) -> tuple[SdkRecord, ...]:
    """The records of one checked category file."""
    return tuple(_record(row) for row in source.data["sdks"])


SDK_META_KIND: DataKind[DataFile] = DataKind(
    name="sdk-pack", title="SDK pack metadata (_pack.yaml)", schema="sdk-pack.schema.json", build=lambda source: source,
    keys=frozenset({"id", "kind", "version", "sources"}),
)
SDK_SOURCE_KIND: DataKind[DataFile] = DataKind(
    name="sdk-source", title="SDK pack build source, read by rules/build_sdk_pack.py (never by a scan)",
    schema="sdk-source.schema.json", build=lambda source: source, keys=frozenset({"vendors"}),
)
SDK_CATEGORY_KIND: DataKind[tuple[SdkRecord, ...]] = DataKind(
    name="sdk-category", title="SDK pack category file", schema="sdk-category.schema.json", build=build_category,
    keys=frozenset({"category", "sdks"}), check=check_category,
)


def load_sdk_pack(folder: str | Path | None = None) -> SdkPack:
    """Load and validate the pack in ``folder`` (default: the shipped ``rules/sdks``)."""
    if folder is None:
        return default_pack()
    return _load(Path(folder))


@cache
def default_pack() -> SdkPack:
    """The shipped pack, loaded once per process."""
    return _load(rules_dir() / "sdks")


def _load(folder: Path) -> SdkPack:
    meta_path = folder / "_pack.yaml"
    if not meta_path.is_file():
        raise UsageError("not an SDK pack folder (no _pack.yaml)", folder)
    meta = read_checked(SDK_META_KIND, meta_path)
    digests = {meta_path.name: meta.sha256}
    records: dict[str, SdkRecord] = {}
    for path in sorted(p for p in folder.glob("*.yaml") if p.name != "_pack.yaml"):
        category, source = load_source(SDK_CATEGORY_KIND, path)
        digests[path.name] = source.sha256
        for rec in category:
            if rec.id in records:
                raise UsageError(f"invalid SDK pack: duplicate SDK id {rec.id!r} (also in another category file)", path)
            records[rec.id] = rec
    return SdkPack(
        id=str(meta.data["id"]),
        version=str(meta.data["version"]),
        sha256=combined_sha256(digests),
        sdks=tuple(records[k] for k in sorted(records)),
        path=str(folder),
    )
