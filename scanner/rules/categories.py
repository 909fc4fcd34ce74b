"""The 39 NPI app types (``rules/npi-types.yaml``) and ``--category`` resolution."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..datapack import DataFile, DataKind, load, unique
from ..errors import UsageError
from ..resources import rules_dir

NPI_FILE = "npi-types.yaml"


@dataclass(frozen=True)
class NecessaryItem:
    """One necessary-PI item of an app type, mapped to PI-type ids."""

    zh: str
    en: str
    pi_types: tuple[str, ...]


@dataclass(frozen=True)
class AppType:
    """One of the 39 app types of the 2021 necessary-PI provision."""

    id: int
    zh: str
    en: str
    basic_function: dict[str, str]
    no_pi_needed: bool
    necessary_pi: tuple[NecessaryItem, ...]
    source: str
    verification: str

    @property
    def necessary_pi_types(self) -> frozenset[str]:
        """Every PI-type id the basic function needs."""
        return frozenset(t for item in self.necessary_pi for t in item.pi_types)

    def to_case(self) -> dict[str, Any]:
        """The ``case.category`` object of the result format."""
        return {"id": self.id, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class AppTypeTable:
    """All 39 types, by id, with the table's version and file digest."""

    version: str
    sha256: str
    types: dict[int, AppType]


def build_app_types(source: DataFile) -> AppTypeTable:
    """Build the table from the checked ``npi-types.yaml`` data (PI types are checked by the schema)."""
    rows = source.data["types"]
    unique(rows, "id", "types")
    types: dict[int, AppType] = {}
    for row in rows:
        items = tuple(NecessaryItem(zh=i["zh"], en=i["en"], pi_types=tuple(i["pi_types"])) for i in row["necessary_pi"])
        types[int(row["id"])] = AppType(
            id=int(row["id"]), zh=row["zh"], en=row["en"], basic_function=dict(row["basic_function"]),
            no_pi_needed=bool(row["no_pi_needed"]), necessary_pi=items, source=row["source"],
            verification=row["verification"],
        )
    return AppTypeTable(version=source.version, sha256=source.sha256, types=types)


NPI_KIND: DataKind[AppTypeTable] = DataKind(
    name="npi-types", title="necessary-PI table", schema="npi-types.schema.json", build=build_app_types,
    keys=frozenset({"types"}),
)


@cache
def app_types() -> AppTypeTable:
    """Load (once) the shipped NPI table."""
    return load(NPI_KIND, rules_dir() / NPI_FILE)


def _valid_list() -> str:
    return "; ".join(f"{t.id} {t.zh} ({t.en})" for t in app_types().types.values())


def resolve_category(value: str | int) -> dict[str, Any]:
    """Resolve ``--category`` given as an id ("38"), a Chinese name ("实用工具类") or an English name.

    Returns ``{id, zh, en}``; raises :class:`UsageError` listing the valid types otherwise.
    """
    table = app_types().types
    text = str(value).strip()
    if text.isdigit() and int(text) in table:
        return table[int(text)].to_case()
    folded = text.casefold()
    for app_type in table.values():
        if text == app_type.zh or folded == app_type.en.casefold() or text == app_type.zh.rstrip("类"):
            return app_type.to_case()
    raise UsageError(f"unknown app category {text!r}; valid: {_valid_list()}")


def app_type_of(case: dict[str, Any] | None) -> AppType | None:
    """The app type named by ``result["case"]["category"]``, or ``None`` when none was given."""
    category = (case or {}).get("category")
    if not category:
        return None
    return app_types().types.get(int(category["id"]))


def record_necessity(result: dict[str, Any]) -> None:
    """Write the scan's necessary-PI decision into each permission fact (``necessary``).

    ``True`` when every PI type the permission gives access to is necessary for the case's app
    type, ``False`` when one is not, ``None`` when no category was given or the permission gives
    access to no PI. Renderers show this decision, so a report rendered years later shows what
    the scan decided with the NPI table it recorded in ``provenance.packs``.
    """
    app_type = app_type_of(result.get("case"))
    for perm in (result.get("facts") or {}).get("permissions") or []:
        pis = set(perm.get("pi_types") or [])
        perm["necessary"] = None if app_type is None or not pis else pis <= app_type.necessary_pi_types
