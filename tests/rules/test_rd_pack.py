"""The 2019 Identification Method pack holds all 31 items; manual items tell the examiner what to check."""

from __future__ import annotations

from scanner.rules.loader import load_packs

RD_ITEMS = [
    "1.1", "1.2", "1.3", "1.4",
    "2.1", "2.2", "2.3", "2.4",
    "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9",
    "4.1", "4.2", "4.3", "4.4", "4.5", "4.6",
    "5.1", "5.2", "5.3",
    "6.1", "6.2", "6.3", "6.4", "6.5",
]


def test_all_31_rd_items_present() -> None:
    pack = load_packs().pack("cn-rd-2019")
    assert len(RD_ITEMS) == 31
    assert sorted({r.item for r in pack.rules}, key=lambda s: tuple(map(int, s.split(".")))) == RD_ITEMS
    for rule in pack.rules:
        assert rule.id == f"RD-{rule.item}" or rule.id.startswith(f"RD-{rule.item}-"), rule.id
        assert {"doc": "RD", "item": rule.item} in rule.legal_refs


def test_fact_backed_items_are_rules_and_the_rest_manual() -> None:
    pack = load_packs().pack("cn-rd-2019")
    automatic = sorted({r.item for r in pack.rules if not r.manual})
    assert automatic == ["2.1", "3.1", "3.2", "4.1", "4.4", "5.1", "6.1", "6.5"]  # 6.x: from the policy documents
    for rule in pack.rules:
        if rule.manual:
            assert rule.what_to_check and rule.what_to_check["zh-CN"] and rule.what_to_check["en"]


def test_rd_3_1_cites_pipl_13() -> None:
    rule = load_packs().rule("RD-3.1-api-before-ui")
    assert {"doc": "PIPL", "item": "13"} in rule.legal_refs
    assert rule.severity == "high" and rule.verification == "V"


def test_other_packs_cover_their_articles() -> None:
    ruleset = load_packs()
    pipl_items = {r.item for r in ruleset.pack("pipl").rules}
    assert {"13", "14", "17", "23", "28-29", "31", "38-39", "47", "51"} <= pipl_items
    m164 = {r.item for r in ruleset.pack("cn-miit-164").rules}
    assert {"1", "2", "3", "4", "5", "6", "7", "8"} <= m164
    assert all(r.platforms == ("wechat-miniprogram",) for r in ruleset.pack("wechat-mp").rules)
