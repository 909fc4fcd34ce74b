"""Frozen records for loaded rule packs: :class:`Rule`, :class:`Pack` and :class:`RuleSet`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

@dataclass(frozen=True)
class Rule:
    """One rule (automatic, with a ``match``) or one manual checklist item (``manual: true``)."""

    id: str
    pack: str
    title: dict[str, str]
    explanation: dict[str, str]
    severity: str
    legal_refs: tuple[dict[str, Any], ...]
    verification: str
    platforms: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    item: str | None = None
    evidence_level: str | None = None
    group_by: tuple[str, ...] = ("party",)
    match: dict[str, Any] | None = None
    manual: bool = False
    what_to_check: dict[str, str] | None = None
    tests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        """The rule as plain data (``piscan rules show``)."""
        out: dict[str, Any] = {
            "id": self.id, "pack": self.pack, "item": self.item, "title": self.title, "explanation": self.explanation,
            "severity": self.severity, "legal_refs": list(self.legal_refs), "verification": self.verification,
            "platforms": list(self.platforms), "manual": self.manual,
        }
        if self.manual:
            out["what_to_check"] = self.what_to_check
        if self.match is not None:
            out["match"] = self.match
        if self.evidence_level:
            out["evidence_level"] = self.evidence_level
        if self.params:
            out["params"] = self.params
        out["group_by"] = list(self.group_by)
        return out


@dataclass(frozen=True)
class Pack:
    """A loaded rule pack with its file digest (recorded in ``provenance.packs``)."""

    id: str
    version: str
    title: dict[str, str]
    source: dict[str, Any]
    platforms: tuple[str, ...]
    params: dict[str, Any]
    path: Path
    sha256: str
    rules: tuple[Rule, ...]
    description: dict[str, str] | None = None


@dataclass(frozen=True)
class RuleSet:
    """The packs in use and their enabled rules, in load order."""

    packs: tuple[Pack, ...]
    disabled: tuple[str, ...] = ()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every enabled rule of every pack."""
        off = set(self.disabled)
        return tuple(r for p in self.packs if p.id not in off for r in p.rules if r.id not in off)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (``KeyError`` when absent)."""
        for pack in self.packs:
            for rule in pack.rules:
                if rule.id == rule_id:
                    return rule
        raise KeyError(rule_id)

    def pack(self, pack_id: str) -> Pack:
        """The pack with this id (``KeyError`` when absent)."""
        for pack in self.packs:
            if pack.id == pack_id:
                return pack
        raise KeyError(pack_id)
