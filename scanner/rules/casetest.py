"""Run the positive and negative cases that every automatic rule carries (pytest and ``piscan rules test``).

A case is held to the result contract, as semgrep holds rule tests to real code:

* its fact snippets must fit the fact schema of their section (scanner/schemas/parts/), with
  ``required`` relaxed, so a snippet may leave out fields but never invent or misspell one;
* every ref a positive case ``expect``s must name a fact of the case (through the fact registry,
  :class:`scanner.model.view.ResultView`), so evidence that would read "not found" in a report
  fails its own test;
* instead of snippets, a case may name a real ``input`` (a path relative to the pack file, e.g.
  ``../../samples/piscan-demo.apk``): it is scanned with the shipped collectors and the rule is
  evaluated on that result.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..model.view import ResultView
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
            f": {self.detail}" if self.detail else "")


def _relaxed(schema: Any) -> Any:
    """``schema`` without any ``required`` (a snippet may leave fields out, but not misspell them)."""
    if isinstance(schema, dict):
        return {k: _relaxed(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_relaxed(v) for v in schema]
    return schema


@cache
def _snippet_validator(section: str) -> Any:
    import jsonschema

    from ..schema import fact_section_schema, result_schema

    if section not in result_schema()["properties"]["facts"]["properties"]:
        return None
    return jsonschema.Draft202012Validator(_relaxed(fact_section_schema(section)))


def snippet_problems(facts: dict[str, Any]) -> list[str]:
    """Every way a case's fact snippets break the fact schema (``required`` relaxed)."""
    problems = []
    for section in sorted(facts):
        validator = _snippet_validator(section)
        if validator is None:
            problems.append(f"facts.{section}: not a fact section of the result format")
            continue
        for error in sorted(validator.iter_errors(facts[section]), key=lambda e: list(map(str, e.absolute_path))):
            where = "/".join(map(str, error.absolute_path))
            problems.append(f"facts.{section}{'/' + where if where else ''}: {' '.join(error.message.split())[:200]}")
    return problems


@cache
def _scanned(path: Path) -> dict[str, Any]:
    """A real input scanned once per process with the shipped collectors and no rules."""
    import tempfile

    from ..scan import default_collectors, run_scan
    from .model import RuleSet

    with tempfile.TemporaryDirectory(prefix="piscan-case-") as work:
        return run_scan(path, collectors=default_collectors(), ruleset=RuleSet(packs=()), out_dir=Path(work) / "out",
                        command=["piscan", "rules", "test"], reproducible=True)


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


def _input_result(rule: Rule, case: dict[str, Any], pack_dir: Path | None) -> dict[str, Any] | str:
    """The scanned result of a case's ``input``, or why it cannot be had."""
    base = pack_dir if pack_dir is not None else Path.cwd()
    path = (base / case["input"]).resolve()
    if not path.exists():
        return f"input {case['input']} not found next to the pack (it is not shipped in the wheel)"
    result = copy.deepcopy(_scanned(path))
    info = dict(case.get("case") or {})
    if info.get("category") is not None:
        result["case"]["category"] = resolve_category(str(info["category"]))
    return result


def run_case(rule: Rule, kind: str, index: int, case: dict[str, Any], pack_dir: Path | None = None) -> CaseOutcome:
    """Evaluate one case: positives must yield exactly the expected evidence refs, negatives nothing.

    A case whose snippets break the fact schema, or whose ``expect`` names a ref the case does not
    hold, fails whatever the rule does. ``pack_dir`` resolves a case's ``input``.
    """
    name = case.get("name", "")
    if "input" in case:
        result_or_reason = _input_result(rule, case, pack_dir)
        if isinstance(result_or_reason, str):
            return CaseOutcome(rule.id, kind, index, name, True, f"skipped: {result_or_reason}")
        result = result_or_reason
    else:
        problems = snippet_problems(case.get("facts") or {})
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return CaseOutcome(rule.id, kind, index, name, False, f"snippet breaks the fact schema: {problems[0]}{more}")
        platform = rule.platforms[0] if len(rule.platforms) == 1 else None
        result = case_result(case, platform)
    view = ResultView(result)
    missing = sorted(ref for ref in set(case.get("expect") or []) if view.fact(ref) is None)
    if missing:
        return CaseOutcome(rule.id, kind, index, name, False, f"expect names refs no fact of the case has: {missing}")
    findings = rule_findings(rule, result)
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


def run_rule_cases(rule: Rule, pack_dir: Path | None = None) -> list[CaseOutcome]:
    """Every case of one rule, positives first."""
    out = []
    for kind in ("positive", "negative"):
        for index, case in enumerate(rule.tests.get(kind) or []):
            out.append(run_case(rule, kind, index, case, pack_dir))
    return out


def run_ruleset_cases(ruleset: RuleSet) -> list[CaseOutcome]:
    """Every case of every rule of a rule set, in pack and rule order."""
    return [outcome for pack in ruleset.packs for rule in pack.rules if rule.id not in ruleset.disabled
            for outcome in run_rule_cases(rule, pack.path.parent)]
