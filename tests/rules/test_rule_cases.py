"""Every shipped rule's own positive and negative cases (rules/packs/*.yaml ``tests:``)."""

from __future__ import annotations

import pytest

from scanner.rules.casetest import run_case
from scanner.rules.loader import load_packs


def _cases() -> list:
    params = []
    for pack in load_packs().packs:
        for rule in pack.rules:
            for kind in ("positive", "negative"):
                for index, case in enumerate(rule.tests.get(kind) or []):
                    params.append(pytest.param(rule, kind, index, case, pack.path.parent, id=f"{rule.id}-{kind}-{index}"))
    return params


@pytest.mark.parametrize(("rule", "kind", "index", "case", "pack_dir"), _cases())
def test_shipped_rule_case(rule, kind: str, index: int, case: dict, pack_dir) -> None:
    outcome = run_case(rule, kind, index, case, pack_dir)
    assert outcome.ok, outcome.line()
    assert not outcome.detail.startswith("skipped"), outcome.line()


def test_every_automatic_rule_has_both_kinds_of_case() -> None:
    for rule in load_packs().rules:
        if not rule.manual:
            assert rule.tests.get("positive") and rule.tests.get("negative"), rule.id
            assert all(case.get("expect") for case in rule.tests["positive"]), rule.id
