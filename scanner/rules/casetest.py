"""Run the positive and negative cases that every automatic rule carries (pytest and ``piscan rules test``)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..result import new_result
from .categories import resolve_category
from .engine import rule_findings
from .model import Rule, RuleSet


@dataclass(frozen=True)
class CaseOutcome:
    """The verdict of one test case of one rule."""

    rule_id: str
    kind: str  # positive | negative
    index: int
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """One report line, e.g. ``ok   RD-3.1 positive[0] imei read in onCreate``."""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.rule_id} {self.kind}[{self.index}] {self.name}" + (
            "" if self.ok else f": {self.detail}")


def case_result(case: dict[str, Any], platform: str | None = None) -> dict[str, Any]:
    """A result built from a case snippet (``facts``, optional ``case``, ``app``, ``limitations``)."""
    result = new_result(command=["piscan", "rules", "test"], inputs=[], reproducible=True)
    facts = copy.deepcopy(case.get("facts") or {})
    result["facts"] = facts
    app = dict(case.get("app") or {})
    app.setdefault("platform", platform or ("wechat-miniprogram" if "miniprogram" in facts else "android"))
    result["app"] = app
    case_info = dict(case.get("case") or {})
    category = case_info.get("category")
    if category is not None and not isinstance(category, dict):
        case_info["category"] = resolve_category(str(category))
    result["case"] = {"case_id": case_info.get("case_id"), "examiner": case_info.get("examiner"),
                      "category": case_info.get("category")}
    result["limitations"] = list(case.get("limitations") or [])
    return result


def run_case(rule: Rule, kind: str, index: int, case: dict[str, Any]) -> CaseOutcome:
    """Evaluate one case: positives must yield exactly the expected evidence refs, negatives nothing."""
    platform = rule.platforms[0] if len(rule.platforms) == 1 else None
    findings = rule_findings(rule, case_result(case, platform))
    name = case.get("name", "")
    if kind == "negative":
        if findings:
            refs = sorted({e.ref for f in findings for e in f.evidence})
            return CaseOutcome(rule.id, kind, index, name, False, f"fired, evidence {refs}")
        return CaseOutcome(rule.id, kind, index, name, True, "")
    if not findings:
        return CaseOutcome(rule.id, kind, index, name, False, "did not fire")
    got = sorted({e.ref for f in findings for e in f.evidence})
    want = sorted(set(case.get("expect") or []))
    if got != want:
        return CaseOutcome(rule.id, kind, index, name, False, f"evidence {got} != expected {want}")
    return CaseOutcome(rule.id, kind, index, name, True, "")


def run_rule_cases(rule: Rule) -> list[CaseOutcome]:
    """Every case of one rule, positives first."""
    out = []
    for kind in ("positive", "negative"):
        for index, case in enumerate(rule.tests.get(kind) or []):
            out.append(run_case(rule, kind, index, case))
    return out


def run_ruleset_cases(ruleset: RuleSet) -> list[CaseOutcome]:
    """Every case of every rule of a rule set, in pack and rule order."""
    return [outcome for rule in ruleset.rules for outcome in run_rule_cases(rule)]
