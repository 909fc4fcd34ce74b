"""The 39 NPI app types and ``--category`` resolution."""

from __future__ import annotations

import pytest

from scanner.errors import UsageError
from scanner.pi import vocabulary
from scanner.rules.categories import app_types, resolve_category

NO_PI_TYPES = [21, *range(27, 39)]


def test_all_39_types_present_in_order() -> None:
    table = app_types()
    assert list(table.types) == list(range(1, 40))
    assert table.types[1].zh == "地图导航类" and table.types[39].zh == "演出票务类"


def test_the_13_no_pi_types() -> None:
    table = app_types()
    assert sorted(t.id for t in table.types.values() if t.no_pi_needed) == NO_PI_TYPES
    for type_id in NO_PI_TYPES:
        assert table.types[type_id].necessary_pi == ()
        assert table.types[type_id].necessary_pi_types == frozenset()


def test_necessary_pi_uses_the_vocabulary_and_fits_the_provision() -> None:
    table = app_types()
    vocab = vocabulary()
    for app_type in table.types.values():
        assert app_type.verification in ("V", "P")
        assert app_type.source.startswith("国信办秘字〔2021〕14号 第五条")
        assert app_type.basic_function["zh"] and app_type.basic_function["en"]
        for pi in app_type.necessary_pi_types:
            assert pi in vocab
            # device identifiers are never necessary for any type (regulations.md §2.1)
            assert not vocab.types[pi].device_id, (app_type.id, pi)
    # location only for map/navigation, ride-hailing and vehicle-use services
    with_location = sorted(t.id for t in table.types.values() if "location_precise" in t.necessary_pi_types)
    assert with_location == [1, 2, 22]
    assert table.types[3].necessary_pi_types == {"phone_number", "account"}
    assert "contacts" not in set().union(*(t.necessary_pi_types for t in table.types.values()))


@pytest.mark.parametrize("value", ["38", 38, "实用工具类", "实用工具", "Utility tools", "utility TOOLS"])
def test_resolve_category_forms(value) -> None:
    assert resolve_category(value) == {"id": 38, "zh": "实用工具类", "en": "Utility tools"}


@pytest.mark.parametrize("value", ["0", "40", "工具", "flashlight"])
def test_unknown_category_lists_the_valid_ones(value: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_category(value)
    message = info.value.message
    assert message.startswith(f"unknown app category {value!r}; valid: 1 地图导航类 (Map and navigation); ")
    assert "38 实用工具类 (Utility tools)" in message and message.endswith("39 演出票务类 (Performance ticketing)")
