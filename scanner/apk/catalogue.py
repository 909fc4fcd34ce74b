"""The sensitive-API catalogue (``rules/android-apis.yaml``): method or DEX descriptor -> PI types.

An entry names either a method (``method: "Lcls;->name"``: every overload of that method, in
every API level, present and future) or one exact member (``descriptor:``, a method prototype
or a field). Exact method entries refine method entries of the same class and name: an
overload spelled by an exact entry is that entry's, the rest are the method entry's.

:func:`load_catalogue` reads and validates the pack (PI types against the shared vocabulary,
descriptor syntax, argument constraints) and returns a frozen :class:`ApiCatalogue` carrying the
pack's version and sha256 for provenance. Bad data raises :class:`~scanner.errors.UsageError`
naming the file and the entry; a missing or unparsable file raises it too (the catalogue is a
data pack, like a rule pack).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..datapack import DataFile, DataKind, load, parse
from ..errors import UsageError
from ..pi import PiVocabulary, vocabulary
from ..resources import rules_dir

PACK_ID = "android-apis"
_METHOD_RE = re.compile(r"^(L[^;\s]+;)->([^(\s]+)\(([^)\s]*)\)(\S+)$")
_FIELD_RE = re.compile(r"^(L[^;\s]+;)->([^:\s]+):(\S+)$")
_NAME_RE = re.compile(r"^(L[^;\s]+;)->([^(:\s]+)$")
_MARKS = ("V", "P", "U")
_SOURCES = ("A", "C", "H", "K", "U")
_KEYS = {"id", "descriptor", "method", "access", "pi_types", "permission", "api_level", "verification", "argument",
         "note", "self_check", "restricted_from_api", "checked_api_levels"}
_REQUIRED = _KEYS - {"argument", "note", "self_check", "restricted_from_api", "descriptor", "method", "checked_api_levels"}


@dataclass(frozen=True)
class ArgumentConstraint:
    """The call counts only when parameter ``param`` is a const-string matching ``values``."""

    param: int
    match: str  # "exact" | "prefix"
    values: tuple[str, ...]

    def accepts(self, value: str) -> bool:
        """True when the constant ``value`` satisfies the constraint."""
        if self.match == "exact":
            return value in self.values
        return any(value.startswith(v) for v in self.values)


@dataclass(frozen=True)
class ApiEntry:
    """One catalogue entry; ``class_name``/``name``/``proto`` split the descriptor.

    For methods ``proto`` is ``(params)ret``; for fields it is the field type; for a method
    entry (every overload) it is ``None`` and ``descriptor`` is ``Lcls;->name``.
    """

    id: str
    descriptor: str
    access: str  # "invoke" | "field"
    pi_types: tuple[str, ...]
    permission: str | None
    api_level: int | None
    verification: str
    sources: tuple[str, ...]
    argument: ArgumentConstraint | None
    note: str | None
    class_name: str
    name: str
    proto: str | None
    self_check: str | None = None  #: package_name | own_process (see rules/android-apis.yaml)
    restricted_from_api: int | None = None  #: no value for ordinary apps from this Android version
    checked_api_levels: tuple[int, ...] = ()  #: Android API levels whose SDK this entry was checked against

    @property
    def all_overloads(self) -> bool:
        """A method entry: every overload of ``class_name->name`` that no exact entry spells."""
        return self.proto is None

    @property
    def key(self) -> tuple[str, str, str | None]:
        """(class descriptor, member name, prototype or type; ``None`` for every overload) --
        how DEX ids are matched."""
        return (self.class_name, self.name, self.proto)

    def site_descriptor(self, proto: str) -> str:
        """The descriptor of a site: the entry's own, or for a method entry the overload called."""
        return self.descriptor if self.proto is not None else f"{self.descriptor}{proto}"


@dataclass(frozen=True)
class ApiCatalogue:
    """All entries of the pack in file order, plus provenance."""

    version: str
    sha256: str
    path: str
    entries: tuple[ApiEntry, ...]

    def by_id(self, api_id: str) -> ApiEntry:
        """The entry with this id; ``KeyError`` when unknown."""
        for entry in self.entries:
            if entry.id == api_id:
                return entry
        raise KeyError(api_id)

    def by_key(self) -> dict[tuple[str, str, str | None], tuple[ApiEntry, ...]]:
        """Entries grouped by (class, name, proto or ``None``); one descriptor may carry several
        entries that differ by argument constraint (``Uri.parse`` with different authorities)."""
        grouped: dict[tuple[str, str, str | None], list[ApiEntry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.key, []).append(entry)
        return {k: tuple(v) for k, v in grouped.items()}

    def pack_row(self) -> dict[str, str]:
        """The provenance row for ``provenance.packs`` (see :func:`scanner.result.add_pack`)."""
        return {"pack_id": PACK_ID, "kind": "catalogue", "version": self.version, "sha256": self.sha256}


def _fail(path: Path, message: str) -> UsageError:
    return UsageError(message, path)


def _parse_argument(raw: Any, where: str, path: Path) -> ArgumentConstraint | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"param", "match", "values"}:
        raise _fail(path, f"{where}: argument must be a mapping with keys param, match, values")
    param, match, values = raw["param"], raw["match"], raw["values"]
    if not isinstance(param, int) or isinstance(param, bool) or param < 0:
        raise _fail(path, f"{where}: argument.param must be a non-negative integer")
    if match not in ("exact", "prefix"):
        raise _fail(path, f"{where}: argument.match must be 'exact' or 'prefix', not {match!r}")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise _fail(path, f"{where}: argument.values must be a non-empty list of strings")
    return ArgumentConstraint(param=param, match=match, values=tuple(values))


def _param_count(params: str) -> int:
    """Number of parameters in a DEX parameter list such as ``ILjava/lang/String;[B``."""
    count, i = 0, 0
    while i < len(params):
        while params[i] == "[":
            i += 1
        if params[i] == "L":
            i = params.index(";", i)
        i += 1
        count += 1
    return count


def _parse_entry(row: Any, index: int, vocab: PiVocabulary, path: Path) -> ApiEntry:
    where = f"apis[{index}]"
    if not isinstance(row, dict):
        raise _fail(path, f"{where}: entry must be a mapping")
    where = f"apis[{index}] ({row.get('id', '?')})"
    unknown = sorted(set(row) - _KEYS)
    if unknown:
        raise _fail(path, f"{where}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(_KEYS))}")
    missing = sorted(_REQUIRED - set(row))
    if missing:
        raise _fail(path, f"{where}: missing key(s) {', '.join(missing)}")
    api_id, access = row["id"], row["access"]
    if not isinstance(api_id, str) or not re.fullmatch(r"[A-Za-z0-9_.$]+", api_id):
        raise _fail(path, f"{where}: id must be a dotted identifier")
    if access not in ("invoke", "field"):
        raise _fail(path, f"{where}: access must be 'invoke' or 'field', not {access!r}")
    if ("descriptor" in row) == ("method" in row):
        raise _fail(path, f"{where}: give exactly one of descriptor (one member) or method (every overload)")
    params = ""
    if "method" in row:
        if access != "invoke":
            raise _fail(path, f"{where}: method (every overload) applies to invoke entries only")
        descriptor = row["method"]
        m = _NAME_RE.match(descriptor if isinstance(descriptor, str) else "")
        if not m:
            raise _fail(path, f"{where}: method {descriptor!r} is not Lcls;->name (no prototype: every overload)")
        class_name, name, proto = m.group(1), m.group(2), None
        if row.get("argument") is not None:
            raise _fail(path, f"{where}: an argument constraint needs one overload: give its descriptor")
    else:
        descriptor = row["descriptor"]
        m = (_METHOD_RE if access == "invoke" else _FIELD_RE).match(descriptor if isinstance(descriptor, str) else "")
        if not m:
            shape = "Lcls;->name(params)ret" if access == "invoke" else "Lcls;->NAME:type"
            raise _fail(path, f"{where}: descriptor {descriptor!r} is not a DEX {access} reference ({shape})")
        if access == "invoke":
            class_name, name, proto, params = m.group(1), m.group(2), f"({m.group(3)}){m.group(4)}", m.group(3)
        else:
            class_name, name, proto = m.group(1), m.group(2), m.group(3)
    pi_types = row["pi_types"]
    if not isinstance(pi_types, list) or not all(isinstance(p, str) for p in pi_types):
        raise _fail(path, f"{where}: pi_types must be a list of PI type ids")
    for pi in pi_types:
        if pi not in vocab:
            raise _fail(path, f"{where}: unknown PI type {pi!r}; valid: {', '.join(sorted(vocab.types))}")
    permission = row["permission"]
    if permission is not None and not isinstance(permission, str):
        raise _fail(path, f"{where}: permission must be a string or null")
    level = row["api_level"]
    if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 1):
        raise _fail(path, f"{where}: api_level must be a positive integer or null")
    ver = row["verification"]
    if not isinstance(ver, dict) or ver.get("mark") not in _MARKS or not isinstance(ver.get("sources"), list):
        raise _fail(path, f"{where}: verification must be {{mark: V|P|U, sources: [A|C|H|K|U, ...]}}")
    bad = [s for s in ver["sources"] if s not in _SOURCES]
    if bad or not ver["sources"]:
        raise _fail(path, f"{where}: verification.sources must be letters from {', '.join(_SOURCES)}")
    argument = _parse_argument(row.get("argument"), where, path)
    if argument is not None:
        if access != "invoke":
            raise _fail(path, f"{where}: argument constraints apply to invoke entries only")
        if argument.param >= _param_count(params):
            raise _fail(path, f"{where}: argument.param {argument.param} is beyond the method's parameters")
    note = row.get("note")
    if note is not None and not isinstance(note, str):
        raise _fail(path, f"{where}: note must be a string or null")
    self_check = row.get("self_check")
    if self_check not in (None, "package_name", "own_process"):
        raise _fail(path, f"{where}: self_check must be package_name or own_process")
    restricted = row.get("restricted_from_api")
    if restricted is not None and (not isinstance(restricted, int) or isinstance(restricted, bool) or restricted < 1):
        raise _fail(path, f"{where}: restricted_from_api must be a positive API level")
    checked = row.get("checked_api_levels", [])
    if not isinstance(checked, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in checked):
        raise _fail(path, f"{where}: checked_api_levels must be a list of API levels")
    return ApiEntry(
        id=api_id, descriptor=descriptor, access=access, pi_types=tuple(pi_types), permission=permission,
        api_level=level, verification=ver["mark"], sources=tuple(ver["sources"]), argument=argument,
        note=note, class_name=class_name, name=name, proto=proto, self_check=self_check,
        restricted_from_api=restricted, checked_api_levels=tuple(checked),
    )


def build_catalogue(source: DataFile) -> ApiCatalogue:
    """Build the catalogue from checked data: every entry's descriptor, PI types, argument
    constraint; ids unique; no descriptor listed twice with the same argument."""
    path, vocab = source.path, vocabulary()
    entries = tuple(_parse_entry(row, i, vocab, path) for i, row in enumerate(source.data["apis"]))
    seen_ids: set[str] = set()
    seen_rules: set[tuple[tuple[str, str, str | None], ArgumentConstraint | None]] = set()
    for entry in entries:
        if entry.id in seen_ids:
            raise _fail(path, f"duplicate id {entry.id!r}")
        seen_ids.add(entry.id)
        rule = (entry.key, entry.argument)
        if rule in seen_rules:
            raise _fail(path, f"{entry.id}: descriptor {entry.descriptor} listed twice with the same argument")
        seen_rules.add(rule)
    return ApiCatalogue(version=source.version, sha256=source.sha256, path=str(path), entries=entries)


CATALOGUE_KIND: DataKind[ApiCatalogue] = DataKind(
    name="android-apis", title="Android API catalogue", schema="android-apis.schema.json", build=build_catalogue,
    keys=frozenset({"apis"}),
)


def parse_catalogue(data: bytes, path: str | Path) -> ApiCatalogue:
    """Validate catalogue bytes (YAML) and build the catalogue; ``UsageError`` on bad data."""
    return parse(CATALOGUE_KIND, data, path)


def load_catalogue(path: str | Path | None = None) -> ApiCatalogue:
    """Load a catalogue file (default: the shipped ``android-apis.yaml``)."""
    return load(CATALOGUE_KIND, Path(path) if path is not None else rules_dir() / "android-apis.yaml")


@cache
def default_catalogue() -> ApiCatalogue:
    """The shipped catalogue, loaded once."""
    return load_catalogue()
