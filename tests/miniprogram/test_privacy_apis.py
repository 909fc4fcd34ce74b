"""The WeChat privacy-interface table (rules/wechat-privacy-apis.yaml, scanner/miniprogram/privacy_apis.py)."""

from __future__ import annotations

import hashlib
import re

import pytest

from scanner.errors import UsageError
from scanner.datapack import parse
from scanner.miniprogram.privacy_apis import PRIVACY_APIS_KIND, privacy_table
from scanner.pi import vocabulary
from scanner.resources import rules_dir


def test_required_private_infos_are_exactly_the_eight_location_apis() -> None:
    table = privacy_table()
    declared = {name for name, api in table.apis.items() if api.required_private_info}
    assert declared == {
        "getFuzzyLocation", "getLocation", "onLocationChange", "startLocationUpdate",
        "startLocationUpdateBackground", "chooseLocation", "choosePoi", "chooseAddress",
    }


def test_mapping_uses_the_one_vocabulary() -> None:
    table = privacy_table()
    vocab = vocabulary()
    pis = {pi for api in table.apis.values() for pi in api.pi_types}
    pis |= {pi for scope in table.scopes.values() for pi in scope}
    pis |= {pi for comp in table.components.values() for pi in comp.pi_types}
    assert pis and all(pi in vocab for pi in pis)
    assert table.apis["getLocation"].pi_types == ("location_precise",)
    assert table.apis["getLocation"].guide == "收集你的位置信息"
    assert table.apis["getClipboardData"].pi_types == ("clipboard",)
    assert table.apis["getUserProfile"].recalled
    assert table.scopes["scope.userLocation"] == ("location_precise",)
    assert table.components[("open_type", "getPhoneNumber")].pi_types == ("phone_number",)
    assert table.components[("input_type", "nickname")].pi_types == ("user_profile",)
    assert table.handling_apis == {"getPrivacySetting", "onNeedPrivacyAuthorization", "requirePrivacyAuthorize", "openPrivacyContract"}


def test_attribution_data() -> None:
    table = privacy_table()
    assert table.is_base_library("WAService.js")
    assert table.is_base_library("sub/WAWebview.js")
    assert not table.is_base_library("pages/WAServiceHelper.js")
    umeng = table.sdk_for_path("uma.js")
    assert umeng is not None and umeng.id == "umeng_miniprogram"
    assert table.sdk_for_path("utils/uma.min.js") is umeng
    assert table.sdk_for_path("pages/puma.js") is None
    assert umeng.matches_host("ulogs.umeng.com") and umeng.matches_host("umini.shujupie.com")
    assert not umeng.matches_host("notumeng.com")


def test_pack_hash_matches_file() -> None:

    text = (rules_dir() / "wechat-privacy-apis.yaml").read_text(encoding="utf-8")
    assert privacy_table().sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apis: [", r"t.yaml:1: \(yaml\): not valid YAML"),
        ("version: '1'\n", r"t.yaml:1: \(pack\): missing required key 'apis'"),
        (
            "version: '1'\napis: [{name: x, pi_types: [nonsense], required_private_info: false}]\n"
            "scopes: []\ncomponents: []\nprivacy_handling: {apis: [], open_types: []}\nbase_library: {files: []}\nsdks: []\n",
            r"t.yaml:2: apis\[0\].pi_types\[0\]: 'nonsense' is not one of",
        ),
    ],
)
def test_bad_table_is_a_usage_error(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(PRIVACY_APIS_KIND, text, "t.yaml")
    assert re.match(message, info.value.line())
