"""Frozen records every stage exchanges: limitations, evidence, findings and manual checks.

Each has ``to_json()`` giving the dict in the key order docs/result-format.md fixes. Collectors
return :class:`Limitation` records; the rule engine makes :class:`Finding` and
:class:`ManualCheck` records; renderers read their JSON form through
:class:`scanner.model.view.ResultView`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limitation:
    """Something a scan could not inspect; its presence makes the result incomplete."""

    kind: str
    detail: str
    where: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the documented key order."""
        return asdict(self)


def finding_id(rule_id: str, refs: Sequence[str]) -> str:
    """``"F-"`` + the first 16 hex digits of sha256 over the rule id and the sorted evidence refs.

    The hashed text is ``rule_id`` followed by each distinct ref, newline-separated, so the same
    finding keeps its id when a later app version is re-checked.
    """
    text = "\n".join([rule_id, *sorted(set(refs))])
    return "F-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Evidence:
    """A reference to a fact (``{"kind": "api_call", "ref": "api:..."}``)."""

    kind: str
    ref: str

    def to_json(self) -> dict[str, str]:
        """Plain dict in the documented key order."""
        return {"kind": self.kind, "ref": self.ref}


@dataclass(frozen=True)
class Finding:
    """One rule result for one responsible party."""

    id: str
    rule_id: str
    pack: str
    severity: str
    title: dict[str, str]
    explanation: dict[str, str]
    legal_refs: tuple[dict[str, Any], ...]
    verification: str
    evidence_level: str
    party: dict[str, Any]
    phase: str | None
    evidence: tuple[Evidence, ...]

    def to_json(self) -> dict[str, Any]:
        """The finding as in docs/result-format.md."""
        return {
            "id": self.id, "rule_id": self.rule_id, "pack": self.pack, "severity": self.severity,
            "title": dict(self.title), "explanation": dict(self.explanation),
            "legal_refs": [dict(r) for r in self.legal_refs], "verification": self.verification,
            "evidence_level": self.evidence_level, "party": dict(self.party), "phase": self.phase,
            "evidence": [e.to_json() for e in self.evidence],
        }


@dataclass(frozen=True)
class ManualCheck:
    """A checklist item the examiner must judge."""

    rule_id: str
    pack: str
    title: dict[str, str]
    what_to_check: dict[str, str]
    legal_refs: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        """The manual check as in docs/result-format.md."""
        return {"rule_id": self.rule_id, "pack": self.pack, "title": dict(self.title),
                "what_to_check": dict(self.what_to_check), "legal_refs": [dict(r) for r in self.legal_refs]}
