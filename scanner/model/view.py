"""Read a result through the fact registry: ``items(kind)``, ``fact(ref)``, ``evidence(finding)``.

:class:`ResultView` is the one way the rule engine, the renderers, the rule-case checks and the
tests look facts up, so no stage reaches into ``result["facts"]`` by string paths of its own. It
indexes lazily: asking for one kind reads only that kind's section.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .facts import FACT_KINDS, FactKind, at_path, fact_kind


@dataclass(frozen=True)
class Fact:
    """A fact found by its id: its kind and its item (a dict of the result, not a copy)."""

    kind: FactKind
    item: dict[str, Any]

    @property
    def id(self) -> str:
        """The fact's id."""
        return str(self.item["id"])


class ResultView:
    """Typed, indexed read access to one result document."""

    def __init__(self, result: Mapping[str, Any]) -> None:
        self.result = result
        facts = result.get("facts")
        self.facts: dict[str, Any] = facts if isinstance(facts, dict) else {}
        self._items: dict[str, list[dict[str, Any]]] = {}
        self._index: dict[str, Fact] | None = None

    # -- facts -----------------------------------------------------------------------------
    def items(self, kind: str) -> list[dict[str, Any]]:
        """The items of one fact kind, each with its ``id`` (derived where the JSON holds none)."""
        cached = self._items.get(kind)
        if cached is not None:
            return cached
        spec = fact_kind(kind)
        raw = at_path(self.facts, spec.path)
        rows: list[dict[str, Any]] = []
        if spec.single:
            if isinstance(raw, dict):
                rows = [raw if "id" in raw or spec.derive_id is None else {**raw, "id": spec.derive_id(raw)}]
        elif isinstance(raw, list):
            for value in raw:
                if isinstance(value, dict) and "id" in value:
                    rows.append(value)
                elif spec.derive_id is not None:
                    base = value if isinstance(value, dict) else {"name": value}
                    rows.append({**base, "id": spec.derive_id(value)})
        self._items[kind] = rows
        return rows

    def kinds_present(self) -> Iterator[FactKind]:
        """The registered kinds that have at least one item in this result."""
        return (k for k in FACT_KINDS if self.items(k.name))

    def _build_index(self) -> dict[str, Fact]:
        index: dict[str, Fact] = {}
        for spec in FACT_KINDS:
            for item in self.items(spec.name):
                index.setdefault(str(item["id"]), Fact(spec, item))
        return index

    def fact(self, ref: str) -> Fact | None:
        """The fact whose id is ``ref``, or ``None``."""
        if self._index is None:
            self._index = self._build_index()
        return self._index.get(ref)

    # -- findings --------------------------------------------------------------------------
    @property
    def findings(self) -> list[dict[str, Any]]:
        """The result's findings (empty when absent)."""
        return list(self.result.get("findings") or [])

    def evidence(self, finding: Mapping[str, Any]) -> list[tuple[dict[str, Any], Fact | None]]:
        """Each evidence entry of ``finding`` with the fact it names (``None`` when none does)."""
        return [(ev, self.fact(str(ev.get("ref")))) for ev in finding.get("evidence") or []]

    def unresolved(self) -> list[tuple[str, str]]:
        """(finding id, ref) of every evidence ref that names no fact of the result."""
        return [(str(f.get("id")), str(ev.get("ref"))) for f in self.findings
                for ev, fact in self.evidence(f) if fact is None]
