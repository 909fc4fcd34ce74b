"""Load the SDK knowledge pack (``rules/sdks/*.yaml``) into frozen records.

The pack is data built by ``rules/build_sdk_pack.py``: ``_pack.yaml`` carries its id and version,
one file per category carries the SDK records. Loading validates every record (ids unique,
categories and signature kinds known, PI types from ``rules/pi-types.yaml``) and computes a sha256
over the pack files for the result's provenance. YAML is read with the safe loader only.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError
from ..pi import vocabulary
from ..resources import rules_dir

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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


def pack_sha256(files: list[Path]) -> str:
    """sha256 over the pack files: each file's name and the sha256 of its bytes, in name order."""
    outer = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        outer.update(path.name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).hexdigest().encode("ascii") + b"\n")
    return outer.hexdigest()


def _fail(path: Path, message: str) -> UsageError:
    return UsageError(f"invalid SDK pack: {message}", path)


def _record(row: Any, path: Path, pi_ids: set[str]) -> SdkRecord:
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        raise _fail(path, f"an SDK record without an id: {str(row)[:80]}")
    sid = row["id"]
    name = row.get("name") or {}
    if not isinstance(name, dict) or not name.get("zh") or not name.get("en"):
        raise _fail(path, f"SDK {sid!r}: name needs zh and en")
    vendor = row.get("vendor")
    if vendor is not None and not isinstance(vendor, dict):
        raise _fail(path, f"SDK {sid!r}: vendor must be a mapping or null")
    if row.get("origin") not in ORIGINS:
        raise _fail(path, f"SDK {sid!r}: origin must be one of {', '.join(ORIGINS)}")
    sigs: list[Signature] = []
    raw = row.get("signatures") or {}
    if not isinstance(raw, dict) or not raw:
        raise _fail(path, f"SDK {sid!r}: no signatures")
    for kind, items in raw.items():
        if kind not in SIGNATURE_KINDS:
            raise _fail(path, f"SDK {sid!r}: unknown signature kind {kind!r}")
        if not isinstance(items, dict):
            raise _fail(path, f"SDK {sid!r}: {kind} must map each value to its sources")
        for value, source_list in items.items():
            sources = tuple(source_list or ())
            if not sources or any(s not in SOURCES for s in sources):
                raise _fail(path, f"SDK {sid!r}: signature {value!r} needs sources from {', '.join(SOURCES)}")
            value = str(value)
            regex = value.startswith("re:")
            if regex:
                value = value[3:]
                try:
                    _compiled(value)
                except re.error as exc:
                    raise _fail(path, f"SDK {sid!r}: bad regex {value!r}: {exc}") from None
            sigs.append(Signature(kind, value, regex, sources))
    pis = tuple(row.get("pi_types") or ())
    unknown = [p for p in pis if p not in pi_ids]
    if unknown:
        raise _fail(path, f"SDK {sid!r}: unknown PI types {', '.join(unknown)} (see rules/pi-types.yaml)")
    provenance = tuple(row.get("provenance") or ())
    if not provenance:
        raise _fail(path, f"SDK {sid!r}: no provenance")
    return SdkRecord(
        id=sid,
        name_zh=str(name["zh"]),
        name_en=str(name["en"]),
        vendor_zh=(vendor or {}).get("zh"),
        vendor_en=(vendor or {}).get("en"),
        origin=row["origin"],
        category=str(row.get("category") or "other"),
        signatures=tuple(sigs),
        pi_types=pis,
        privacy_policy_url=row.get("privacy_policy_url"),
        website=row.get("website"),
        aliases=tuple(row.get("aliases") or ()),
        provenance=provenance,
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


def parse_pack_text(text: str) -> Any:
    """Parse one pack file. The build writes YAML in its JSON-compatible flow style, which the json
    module reads much faster; anything else (a hand-written pack) goes through the safe YAML loader."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    if body.lstrip().startswith("{"):
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            pass
    return yaml.load(text, Loader=_LOADER)


def _load(folder: Path) -> SdkPack:
    meta_path = folder / "_pack.yaml"
    if not meta_path.is_file():
        raise UsageError("not an SDK pack folder (no _pack.yaml)", folder)
    files = sorted(p for p in folder.glob("*.yaml"))
    try:
        meta = yaml.load(meta_path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _fail(meta_path, str(exc).splitlines()[0]) from None
    if not isinstance(meta, dict) or not meta.get("id") or not meta.get("version"):
        raise _fail(meta_path, "_pack.yaml needs id and version")
    pi_ids = set(vocabulary().types)
    records: dict[str, SdkRecord] = {}
    for path in files:
        if path.name == "_pack.yaml":
            continue
        try:
            data = parse_pack_text(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise _fail(path, str(exc).splitlines()[0]) from None
        if not isinstance(data, dict) or not isinstance(data.get("sdks"), list):
            raise _fail(path, "expected a mapping with an 'sdks' list")
        for row in data["sdks"]:
            rec = _record(row, path, pi_ids)
            if rec.id in records:
                raise _fail(path, f"duplicate SDK id {rec.id!r}")
            records[rec.id] = rec
    return SdkPack(
        id=str(meta["id"]),
        version=str(meta["version"]),
        sha256=pack_sha256(files),
        sdks=tuple(records[k] for k in sorted(records)),
        path=str(folder),
    )
