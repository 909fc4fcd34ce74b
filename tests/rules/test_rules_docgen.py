"""docs/rules.md is generated from the packs and kept current; its example pack is real and passes."""

from __future__ import annotations

import re
from pathlib import Path

from scanner.rules.casetest import run_ruleset_cases
from scanner.rules.docgen import generate
from scanner.rules.loader import load_dir, load_packs

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "rules.md"


def test_committed_docs_match_the_generated_text() -> None:
    assert DOC.read_text(encoding="utf-8") == generate(), (
        "docs/rules.md is stale: run `python -m scanner.rules.docgen > docs/rules.md`")


def test_every_shipped_rule_is_documented() -> None:
    text = generate()
    for rule in load_packs().rules:
        assert f"#### `{rule.id}` — {rule.title['en']}" in text
    assert "| 38 | 实用工具类 | Utility tools | none (no PI needed) | P |" in text


def test_the_guide_example_pack_validates_and_its_cases_pass(tmp_path: Path) -> None:
    block = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None
    (tmp_path / "example.yaml").write_text(block.group(1), encoding="utf-8")
    ruleset = load_dir(tmp_path)
    assert ruleset.packs[0].id == "my-pack"
    assert ruleset.rule("MY-imei-before-ui").params == {}
    assert ruleset.rule("MY-frequent-location").params == {"frequency_min_count": 10}  # the pack overrides the rule
    outcomes = run_ruleset_cases(ruleset)
    assert [(o.rule_id, o.kind, o.ok) for o in outcomes] == [
        ("MY-imei-before-ui", "positive", True), ("MY-imei-before-ui", "negative", True),
        ("MY-frequent-location", "positive", True), ("MY-frequent-location", "negative", True)]
