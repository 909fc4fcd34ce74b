"""Rule cases held to the result contract: snippets fit the fact schema, expect refs name facts."""

from __future__ import annotations

from pathlib import Path

from scanner.rules.casetest import run_case, snippet_problems
from scanner.rules.loader import load_packs

REPO = Path(__file__).resolve().parents[2]


def _rule(rule_id: str):  # type: ignore[no-untyped-def]
    return load_packs().rule(rule_id)


def test_a_misspelt_field_breaks_the_snippet() -> None:
    problems = snippet_problems({"api_calls": [{"id": "api:classes.dex:Lx/A;->b()V@0x1", "pi_type": ["imei"]}]})
    assert problems and "api_calls/0" in problems[0] and "pi_type" in problems[0]


def test_an_unknown_section_breaks_the_snippet() -> None:
    assert snippet_problems({"apicalls": []}) == ["facts.apicalls: not a fact section of the result format"]


def test_required_fields_may_be_left_out() -> None:
    assert snippet_problems({"api_calls": [{"id": "api:classes.dex:Lx/A;->b()V@0x1", "pi_types": ["imei"]}]}) == []


def test_a_case_with_a_broken_snippet_fails_whatever_the_rule_does() -> None:
    case = {"facts": {"api_calls": [{"id": "api:classes.dex:La/A;->b()V@0x2", "pi_types": ["imei"], "reachable_before_ui": True,
                                     "owner": {"kind": "first_party"}, "colour": "red"}]}, "expect": ["api:classes.dex:La/A;->b()V@0x2"]}
    outcome = run_case(_rule("RD-3.1-api-before-ui"), "positive", 0, case)
    assert not outcome.ok and "snippet breaks the fact schema" in outcome.detail and "colour" in outcome.detail


def test_a_case_expecting_a_ref_it_does_not_hold_fails() -> None:
    case = {"facts": {"api_calls": [{"id": "api:classes.dex:La/A;->b()V@0x2", "pi_types": ["imei"], "reachable_before_ui": True,
                                     "owner": {"kind": "first_party"}}]}, "expect": ["api:classes.dex:La/A;->b()V@0x2", "api:classes.dex:Lghost/G;->g()V@0x3"]}
    outcome = run_case(_rule("RD-3.1-api-before-ui"), "positive", 0, case)
    assert not outcome.ok and "api:classes.dex:Lghost/G;->g()V@0x3" in outcome.detail


def test_a_case_can_scan_a_real_input() -> None:
    rule = _rule("RD-3.1-api-before-ui")
    (case,) = [c for c in rule.tests["positive"] if "input" in c]
    outcome = run_case(rule, "positive", 1, case, REPO / "rules" / "packs")
    assert outcome.ok and outcome.detail == "", outcome.line()


def test_an_input_that_is_not_there_is_a_skip_with_its_reason(tmp_path: Path) -> None:
    case = {"input": "no-such.apk", "expect": []}
    outcome = run_case(_rule("RD-3.1-api-before-ui"), "positive", 0, case, tmp_path)
    assert outcome.ok and outcome.detail.startswith("skipped: input no-such.apk not found")
