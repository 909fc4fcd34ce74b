"""The one PI-type vocabulary shared by catalogues, detectors and rule packs (``rules/pi-types.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .datapack import DataFile, DataKind, load, unique
from .resources import rules_dir

PI_TYPES_FILE = "pi-types.yaml"


@dataclass(frozen=True)
class PiType:
    """One kind of personal information, e.g. ``imei`` or ``location_precise``."""

    id: str
    zh: str
    en: str
    group: str
    sensitive: bool
    device_id: bool
    source: str


@dataclass(frozen=True)
class PiVocabulary:
    """All PI types by id, plus the pack's version and file digest."""

    version: str
    types: dict[str, PiType]
    sha256: str = ""

    def __contains__(self, pi_id: object) -> bool:
        return pi_id in self.types

    def get(self, pi_id: str) -> PiType:
        """The PI type with this id; ``KeyError`` naming the valid ids when unknown."""
        try:
            return self.types[pi_id]
        except KeyError:
            raise KeyError(f"unknown PI type {pi_id!r}; valid: {', '.join(sorted(self.types))}") from None

    def groups(self) -> set[str]:
        """Every group name used by the vocabulary."""
        return {t.group for t in self.types.values()}

    def in_group(self, group: str) -> list[str]:
        """Ids of the PI types of one group, sorted."""
        return sorted(t.id for t in self.types.values() if t.group == group)


def build_vocabulary(source: DataFile) -> PiVocabulary:
    """Build the vocabulary from the checked ``pi-types.yaml`` data (ids must be unique)."""
    rows = source.data["pi_types"]
    unique(rows, "id", "pi_types")
    return PiVocabulary(version=source.version, types={row["id"]: PiType(**row) for row in rows}, sha256=source.sha256)


PI_TYPES_KIND: DataKind[PiVocabulary] = DataKind(
    name="pi-types", title="PI vocabulary", schema="pi-types.schema.json", build=build_vocabulary,
    keys=frozenset({"pi_types"}),
)


@cache
def vocabulary() -> PiVocabulary:
    """Load (once) the shipped PI vocabulary."""
    return load(PI_TYPES_KIND, rules_dir() / PI_TYPES_FILE)
