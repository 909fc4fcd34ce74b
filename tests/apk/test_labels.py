"""ResourceTable: reference resolution (checked against androguard's resolver) and labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.testing.corpus import apk_params, corpus_apks
from scanner.apk.archive import open_apk
from scanner.apk.labels import ResourceTable


def _compare_with_androguard(path: Path) -> int:
    table = ResourceTable(open_apk(path).apk)
    checked = 0
    for rid in table._entries or {}:
        ours = [(c.get_qualifier(), v) for c, v in table._entry_values(rid)]
        oracle = [(c.get_qualifier(), v) for c, v in table.arsc.get_resolved_res_configs(rid, None)
                  if not isinstance(v, list)]
        # androguard keys values by config, so of two configs that compare equal (e.g. sr and
        # b+sr+Latn) it keeps one; ours keeps both
        assert set(oracle) <= set(ours), hex(rid)
        default = next((v for q, v in oracle if q == ""), None)
        if isinstance(default, str):
            assert table.resolve(f"@{rid:08X}") == default, hex(rid)
        checked += 1
    return checked


def test_fast_index_agrees_with_androguard_on_the_sample(sample_apk: Path) -> None:
    assert _compare_with_androguard(sample_apk) >= 3


@pytest.mark.corpus
@pytest.mark.parametrize("path", apk_params(corpus_apks()[:6]))
def test_fast_index_agrees_with_androguard_on_corpus(path: Path) -> None:
    assert _compare_with_androguard(path) > 0


def test_sample_label_and_literals(sample_apk: Path) -> None:
    apk = open_apk(sample_apk)
    table = ResourceTable(apk.apk)
    ref = apk.apk.get_attribute_value("application", "label")
    assert ResourceTable.is_reference(ref)
    assert table.label(ref) == {"default": "PIScan Demo", "zh-CN": "PIScan 演示"}  # values-zh-rCN
    assert table.resolve("plain text") == "plain text"
    assert table.resolve("@7FFFFFFF") is None  # unknown id
    assert table.resolve("@android:01040000") is None  # framework resource: not at hand
    assert table.label("极光") == {"default": "极光", "zh-CN": "极光"}  # Chinese literal label
    assert table.label("Plain") == {"default": "Plain", "zh-CN": None}


def test_no_resource_table() -> None:
    table = ResourceTable(None)
    assert table.resolve("@7F010000") is None and table.strings() == []
    assert table.label("@7F010000") == {"default": None, "zh-CN": None}


def test_strings_of_the_pool(sample_apk: Path) -> None:
    strings = ResourceTable(open_apk(sample_apk).apk).strings()
    assert "PIScan Demo" in strings and "PIScan 演示" in strings
