"""Evaluate rule packs over a result: findings grouped by responsible party, manual checks, summary.

``evaluate(result, ruleset)`` is the only writer of ``findings``, ``manual_checks`` and
``summary``; it records every rule pack and the NPI table in ``provenance.packs``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..errors import UsageError
from ..result import add_pack
from .categories import app_type_of, app_types
from ..model.records import Evidence, Finding, ManualCheck, finding_id
from ..model.facts import evidence_rank
from ..model.terms import terms
from .model import Rule, RuleSet
from .selectors import FIRST_PARTY, Context, Hit, evaluate_match



def severity_rank(sev: str) -> int:
    """0 for ``high`` … 3 for ``info``; :class:`UsageError` for anything else."""
    try:
        return terms().severity(sev).rank
    except KeyError:
        raise UsageError(f"unknown severity {sev!r}; valid: {', '.join(terms().severity_ids)}") from None


def fails(result: dict[str, Any], fail_on: str) -> bool:
    """Whether any finding is at or above ``fail_on`` (``high|medium|low|info``; ``never``/``none`` never fail)."""
    if fail_on in ("never", "none"):
        return False
    limit = severity_rank(fail_on)
    return any(severity_rank(f["severity"]) <= limit for f in result.get("findings") or [])


def _applies(rule: Rule, result: dict[str, Any]) -> bool:
    platform = (result.get("app") or {}).get("platform") or terms().platform_ids[0]
    return platform in rule.platforms


def _party_key(party: tuple[tuple[str, Any], ...]) -> tuple[str, str]:
    # party tuples are (("kind", k), ("sdk_id", s), ...): see selectors.party_tuple
    return (party[0][1], party[1][1] or "")


def _group(rule: Rule, hits: list[Hit]) -> list[tuple[dict[str, Any], str | None, list[Hit]]]:
    """Split hits into (party, phase, hits) groups; party-less hits join every group."""
    hits = sorted(set(hits), key=lambda h: (evidence_rank(h.kind), h.ref))
    by_phase = "phase" in rule.group_by
    by_party = "party" in rule.group_by
    common = [h for h in hits if h.party is None]
    groups: dict[tuple[Any, ...], list[Hit]] = defaultdict(list)
    parties: dict[tuple[Any, ...], tuple[tuple[str, Any], ...]] = {}
    for hit in hits:
        if hit.party is None:
            continue
        key = (_party_key(hit.party) if by_party else ("first_party", ""), (hit.phase or "") if by_phase else "")
        groups[key].append(hit)
        parties.setdefault(key, hit.party if by_party else FIRST_PARTY)
    if not groups:
        groups[(("first_party", ""), "")] = []
        parties[(("first_party", ""), "")] = FIRST_PARTY
    out = []
    for key in sorted(groups):
        members = groups[key] if not common else sorted(
            groups[key] + common, key=lambda h: (evidence_rank(h.kind), h.ref))
        phases = sorted({h.phase for h in members if h.phase})
        phase = phases[0] if len(phases) == 1 else (",".join(phases) if phases else None)
        out.append((dict(parties[key]), phase, members))
    return out


def _level(rule: Rule, hits: list[Hit]) -> str:
    if rule.evidence_level:
        return rule.evidence_level
    order = terms().evidence_level_ids
    return max((h.level for h in hits), key=order.index, default=order[0])


def _context(rule: Rule, result: dict[str, Any], shared: dict[str, Any] | None) -> Context:
    return Context(result=result, app_type=app_type_of(result.get("case")), params=dict(rule.params),
                   items={} if shared is None else shared)


def rule_findings(rule: Rule, result: dict[str, Any], shared: dict[str, Any] | None = None) -> list[Finding]:
    """The findings of one automatic rule over a result (empty when it does not match).

    ``shared`` caches each selector's prepared items across the rules of one evaluation.
    """
    if rule.manual or rule.match is None or not _applies(rule, result):
        return []
    ctx = _context(rule, result, shared)
    hits = evaluate_match(rule.match, ctx)
    if hits is None:
        return []
    findings = []
    for party, phase, members in _group(rule, hits):
        refs = [h.ref for h in members]
        evidence = tuple(Evidence(h.kind, h.ref) for h in members)
        level = _level(rule, members)
        findings.append(Finding(
            id=finding_id(rule.id, refs), rule_id=rule.id, pack=rule.pack,
            severity=terms().capped_severity(rule.severity, level),  # code shows capability, not conduct
            title=rule.title, explanation=rule.explanation, legal_refs=rule.legal_refs, verification=rule.verification,
            evidence_level=level, party=party, phase=phase, evidence=evidence,
        ))
    return findings


def manual_check(rule: Rule, result: dict[str, Any], shared: dict[str, Any] | None = None) -> ManualCheck | None:
    """The checklist item of a manual rule, when it applies (its optional ``match`` gates it)."""
    if not rule.manual or not _applies(rule, result):
        return None
    if rule.match is not None:
        ctx = _context(rule, result, shared)
        if evaluate_match(rule.match, ctx) is None:
            return None
    assert rule.what_to_check is not None
    return ManualCheck(rule.id, rule.pack, rule.title, rule.what_to_check, rule.legal_refs)


def summarise(findings: list[dict[str, Any]], manual_checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by severity (all four keys) and by cited legal document (each finding once per document)."""
    by_severity = {sev: 0 for sev in terms().severity_ids}
    by_document: dict[str, int] = defaultdict(int)
    for finding in findings:
        by_severity[finding["severity"]] += 1
        for doc in sorted({ref["doc"] for ref in finding["legal_refs"]}):
            by_document[doc] += 1
    return {"by_severity": by_severity, "by_document": dict(sorted(by_document.items())),
            "findings": len(findings), "manual_checks": len(manual_checks)}


def evaluate(result: dict[str, Any], ruleset: RuleSet) -> None:
    """Fill ``result["findings"]``, ``["manual_checks"]`` and ``["summary"]`` and record the packs used."""
    findings: list[Finding] = []
    checks: list[ManualCheck] = []
    shared: dict[str, Any] = {}
    for rule in ruleset.rules:
        if rule.manual:
            check = manual_check(rule, result, shared)
            if check is not None:
                checks.append(check)
        else:
            findings.extend(rule_findings(rule, result, shared))
    findings.sort(key=lambda f: (severity_rank(f.severity), f.rule_id, f.id))
    checks.sort(key=lambda c: (c.pack, c.rule_id))
    result["findings"] = [f.to_json() for f in findings]
    result["manual_checks"] = [c.to_json() for c in checks]
    result["summary"] = summarise(result["findings"], result["manual_checks"])
    if "provenance" in result:
        table = app_types()
        add_pack(result, pack_id="npi-types", kind="data", version=table.version, sha256=table.sha256)
        for pack in ruleset.packs:
            if pack.id in ruleset.disabled:
                continue
            add_pack(result, pack_id=pack.id, kind="rules", version=pack.version, sha256=pack.sha256)
