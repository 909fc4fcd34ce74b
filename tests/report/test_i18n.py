"""Report labels: every label in zh-CN and en; bad label files fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import UsageError
from scanner.pi import vocabulary
from scanner.datapack import parse
from scanner.report.i18n import LABELS_KIND, LANGS, labels, pick

#: documented value sets (docs/result-format.md) that must each have a label
DOCUMENTED = {
    "severity": ["high", "medium", "low", "info"],
    "evidence_level": ["declared", "in_code", "reachable_before_consent", "observed_runtime", "observed_traffic"],
    "party": ["first_party", "sdk", "third_party", "unknown"],
    "verification": ["V", "P", "U"],
    "evidence_kind": ["api_call", "permission", "component", "manifest", "sdk", "observation", "miniprogram_api", "endpoint"],
    "limitation": ["packed", "dex_unreadable", "dex_encrypted", "dex_runtime_loaded", "entry_unreadable",
                   "reachability_bound", "payload_opaque", "body_truncated", "encrypted_package", "unsafe_path", "not_collected"],
    "platform": ["android", "wechat-miniprogram"],
    "doc": ["RD", "NPI", "M337", "M164", "M292", "M26", "PIPL", "CSL", "NDS", "MIN", "CRIM", "XB", "GB35273", "GB41391",
            "GB42582", "GB42574", "SDKGB", "TC-PERM", "TC-SDK", "TC-SELF", "TAF078", "WX"],
}


def test_every_label_has_both_languages() -> None:
    table = labels()
    assert len(table.table) > 150
    for key, texts in table.table.items():
        assert set(texts) == set(LANGS), key
        assert all(texts[lang].strip() for lang in LANGS), key


@pytest.mark.parametrize("prefix", sorted(DOCUMENTED))
def test_documented_values_have_labels(prefix: str) -> None:
    for value in DOCUMENTED[prefix]:
        assert labels().has(f"{prefix}.{value}"), f"{prefix}.{value}"


def test_chinese_and_english_differ() -> None:
    table = labels()
    assert table.get("section.findings", "zh-CN") == "发现事项"
    assert table.get("section.findings", "en") == "Findings"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("labels: [", "labels.yaml:1: (yaml): not valid YAML"),
        ("version: '1'\n", "labels.yaml:1: (pack): missing required key 'labels'"),
        ("version: '1'\nlabels:\n  a.b: {zh-CN: 甲}\n", "labels.yaml:3: labels.a.b: missing required key 'en'"),
        ("version: '1'\nlabels:\n  a.b: {zh-CN: 甲, en: ''}\n", "labels.yaml:3: labels.a.b.en: must not be empty"),
        ("version: '1'\nlabels:\n  severity.high: {zh-CN: 甲, en: A}\n",
         "labels.yaml:3: labels.severity.high: defined in rules/model.yaml; remove it here"),
    ],
)
def test_bad_label_files(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(LABELS_KIND, text, "labels.yaml")
    assert info.value.line().startswith(message)


def test_pick() -> None:
    assert pick({"zh-CN": "甲", "en": "A"}, "en") == "A"
    assert pick({"zh": "甲", "en": "A"}, "zh-CN") == "甲"
    assert pick({"zh": "甲", "en": ""}, "en") == "甲"
    assert pick("plain", "en") == "plain"
    assert pick(None, "en") == ""


def test_pi_vocabulary_is_bilingual() -> None:
    # the report shows PI type names from rules/pi-types.yaml in the chosen language
    assert vocabulary().get("imei").zh.startswith("IMEI")


def test_every_label_key_in_code_and_template_exists() -> None:
    import re

    from scanner.resources import templates_dir

    root = Path(__file__).resolve().parents[2]
    sources = [templates_dir() / "report.html.j2", root / "scanner" / "report" / "view.py", root / "scanner" / "report" / "html.py"]
    keys = set()
    for path in sources:
        keys |= set(re.findall(r"""\bt\(\s*["']([\w.-]+)["']\s*\)""", path.read_text(encoding="utf-8")))
    assert len(keys) > 100
    missing = sorted(k for k in keys if not labels().has(k))
    assert missing == []
