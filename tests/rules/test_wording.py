"""Words match evidence: the tool never concludes illegality, and its legal bases say "may concern".

Every text the tool prints on its own account (rule titles, explanations, checklists; report,
comparison and batch labels) is checked. Names of legal documents inside 《》 are quoted titles,
not conclusions, and stay; the examiner's own verdict labels (review) are the examiner's words.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN_ZH = ("违规", "违法", "非法")
FORBIDDEN_EN = re.compile(r"\b(illegal(ly)?|unlawful(ly)?|violat(es|ed|ing|ion))\b", re.IGNORECASE)
#: labels that carry the examiner's verdict (recorded by `piscan review`), not the tool's
EXAMINER_KEYS = re.compile(r"^(compare\.value\.|review\.verdict\.)")
BOOK_TITLE = re.compile(r"《[^》]*》")


def _texts(node: Any, where: str) -> list[tuple[str, str, str]]:
    """(where, language, text) of every bilingual text under ``node``."""
    out: list[tuple[str, str, str]] = []
    if isinstance(node, dict):
        if "zh-CN" in node and "en" in node and all(isinstance(node[k], str) for k in ("zh-CN", "en")):
            return [(where, "zh-CN", node["zh-CN"]), (where, "en", node["en"])]
        for key, value in node.items():
            out += _texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _texts(value, f"{where}[{index}]")
    return out


def _tool_texts() -> list[tuple[str, str, str]]:
    texts = []
    for pack in sorted((REPO / "rules" / "packs").glob("*.yaml")):
        data = yaml.safe_load(pack.read_text(encoding="utf-8"))
        for rule in data.get("rules") or []:
            for field in ("title", "explanation", "what_to_check"):
                if field in rule:
                    texts += _texts(rule[field], f"{pack.name}:{rule['id']}.{field}")
    for labels in ("labels.yaml", "compare-labels.yaml", "batch-labels.yaml"):
        data = yaml.safe_load((REPO / "reports" / labels).read_text(encoding="utf-8"))
        for key, value in data["labels"].items():
            if not EXAMINER_KEYS.match(key):
                texts += _texts(value, f"{labels}:{key}")
    return texts


TEXTS = _tool_texts()


def test_there_is_text_to_check() -> None:
    assert len(TEXTS) > 500


@pytest.mark.parametrize("where,lang,text", [t for t in TEXTS if t[1] == "zh-CN"], ids=lambda v: str(v)[:60])
def test_zh_text_never_concludes_illegality(where: str, lang: str, text: str) -> None:
    bare = BOOK_TITLE.sub("", text)
    assert not any(word in bare for word in FORBIDDEN_ZH), f"{where}: {text}"


@pytest.mark.parametrize("where,lang,text", [t for t in TEXTS if t[1] == "en"], ids=lambda v: str(v)[:60])
def test_en_text_never_concludes_illegality(where: str, lang: str, text: str) -> None:
    allowed = "Methods for Identifying Illegal Collection and Use of PI by Apps"  # a document's title
    assert not FORBIDDEN_EN.search(text.replace(allowed, "")), f"{where}: {text}"


def test_capability_rules_are_at_most_medium_in_findings() -> None:
    """The severity cap is data (rules/model.yaml): code and declarations never give a high finding."""
    from scanner.model.terms import terms

    for level in terms().evidence_levels:
        if level.kind != "conduct":
            assert terms().capped_severity("high", level.id) == "medium", level.id
        else:
            assert terms().capped_severity("high", level.id) == "high", level.id
