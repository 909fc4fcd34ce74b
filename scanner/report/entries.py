"""One fact, one entry: the findings of a result regrouped around the facts they cite.

Several rules often rest on the same fact (an IMEI read before consent supports RD 3.1, M164 1,
PIPL 13 and GB/T 41391 6.3), and one rule's finding may cite many facts. A report that prints
each finding with its evidence prints the same fact many times. Here each fact belongs to exactly
one *entry*, keyed by what the fact is:

- a call site: (API, the party whose code calls it), so all call sites of one read by one party
  are one entry;
- a request: (host, the party that receives it);
- the declared permissions that findings cite: one entry for all of them;
- a component, an SDK, or any other fact: the fact itself.

Each entry lists every finding that cites one of its facts: those are its legal bases. The
entry's severity and evidence level are the strongest among them. Nothing here is worded; the
report view turns entries into text. Output is deterministic: entries are ordered by severity,
evidence level, kind and key; facts by their position in the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model.terms import terms
from ..model.view import ResultView
from ..traffic.observation import claims

#: entry kinds in report order within one severity (conduct before capability before declarations)
KIND_ORDER = ("observation", "api_call", "miniprogram_api", "policy", "sdk", "component", "permission", "other")


@dataclass
class Entry:
    """One group of facts of the same kind and party, with every finding that cites them."""

    id: str  #: ``E-`` + 12 hex digits of sha256 over the key: stable across runs
    kind: str  #: one of KIND_ORDER
    key: tuple[str, ...]
    facts: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    fact_kinds: dict[str, str] = field(default_factory=dict)  #: fact id -> its evidence kind

    @property
    def severity(self) -> str:
        """The strongest severity among the entry's findings, each capped at what the entry's own
        facts can carry: a traffic finding that also cites a call site makes the request entry
        high, not the call site's."""
        ranks = terms()
        level = self.evidence_level
        capped = [ranks.capped_severity(str(f.get("severity", "info")), level) for f in self.findings]
        return min(capped, key=lambda s: ranks.severity(s).rank, default="info")

    @property
    def evidence_level(self) -> str:
        """What the entry's own facts show: requests are observed traffic; call sites are
        reachable before consent when one of them is, else present in code; manifest facts
        (permissions, components, settings) are declarations; the rest are present in code.
        An entry made of a finding alone takes the finding's level."""
        if not self.facts:
            return str(self.findings[0].get("evidence_level")) if self.findings else "in_code"
        if self.kind == "observation":
            return "observed_traffic"
        if self.kind in ("api_call", "miniprogram_api"):
            return "reachable_before_consent" if any(f.get("reachable_before_ui") for f in self.facts) else "in_code"
        if self.kind in ("permission", "component") or self.key[-1] == "manifest":
            return "declared"
        if self.kind == "policy":  # as strong as the observed side the comparison rests on
            levels = terms().evidence_level_ids
            return max((str(f.get("evidence_level")) for f in self.findings if f.get("evidence_level") in levels),
                       key=levels.index, default="declared")
        return "in_code"

    @property
    def pi_types(self) -> list[str]:
        """Every PI type its facts carry (call sites' and permissions' ``pi_types``, requests' matches)."""
        found: set[str] = set()
        for fact in self.facts:
            found.update(str(p) for p in fact.get("pi_types") or [])
            found.update(str(m.get("pi_type")) for m in claims(fact))
        return sorted(found)


def _party_key(owner: Mapping[str, Any] | None) -> str:
    owner = owner or {}
    return f"{owner.get('kind') or 'unknown'}:{owner.get('sdk_id') or ''}"


def entry_key(kind: str, fact: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(entry kind, key) of the entry a fact belongs to."""
    if kind == "api_call":
        return "api_call", ("api_call", str(fact.get("api_id") or fact.get("api")), _party_key(fact.get("owner")))
    if kind == "observation":
        return "observation", ("observation", str(fact.get("host")), _party_key(fact.get("party")))
    if kind == "miniprogram_api":
        name = str(fact.get("api") or fact.get("open_type") or fact.get("tag") or fact.get("id"))
        return "miniprogram_api", ("miniprogram_api", name, _party_key(fact.get("owner")))
    if kind == "permission":  # declarations of one kind: one entry lists every cited permission
        return "permission", ("permission", "declared")
    if kind in ("component", "sdk", "policy"):
        return kind, (kind, str(fact.get("id")))
    return "other", ("other", str(fact.get("id")))


def build_entries(result: Mapping[str, Any]) -> list[Entry]:
    """The entries of a result (see the module docstring); a finding whose evidence names no fact
    becomes an entry of its own, so no finding is dropped."""
    view = ResultView(result)
    entries: dict[tuple[str, ...], Entry] = {}
    fact_order: dict[str, int] = {}
    for finding in view.findings:
        placed = False
        for _ev, fact in view.evidence(finding):
            if fact is None:
                continue
            fact_kind = fact.kind.evidence or fact.kind.name
            kind, key = entry_key(fact_kind, fact.item)
            entry = entries.get(key)
            if entry is None:
                digest = hashlib.sha256("\n".join(key).encode("utf-8")).hexdigest()[:12]
                entry = entries[key] = Entry(f"E-{digest}", kind, key)
            if all(f.get("id") != fact.id for f in entry.facts):
                entry.facts.append(fact.item)
                entry.fact_kinds[fact.id] = fact_kind
                fact_order.setdefault(fact.id, len(fact_order))
            if all(f.get("id") != finding.get("id") for f in entry.findings):
                entry.findings.append(finding)
            placed = True
        if not placed:
            key = ("finding", str(finding.get("id")))
            entries[key] = Entry("E-" + hashlib.sha256(key[1].encode()).hexdigest()[:12], "other", key, [], [finding])
    ranks = terms()
    levels = ranks.evidence_level_ids
    for entry in entries.values():
        entry.facts.sort(key=lambda f: (str(f.get("seq", "")).zfill(9), str(f.get("id"))))
        entry.findings.sort(key=lambda f: (ranks.severity(str(f.get("severity", "info"))).rank, str(f.get("rule_id")),
                                           str(f.get("id"))))
    return sorted(entries.values(), key=lambda e: (ranks.severity(e.severity).rank, -levels.index(e.evidence_level),
                                                   KIND_ORDER.index(e.kind), e.key))
