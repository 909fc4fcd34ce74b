"""Extraction from the sample policy and the sample SDK list (samples/policy), and from small texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.policy import load_policy, parse_policy_spec
from scanner.errors import UsageError
from scanner.testing.corpus import REPO

POLICY = REPO / "samples" / "policy" / "privacy-policy.md"
SDK_LIST = REPO / "samples" / "policy" / "sdk-list.md"


def test_sample_policy_identity_and_structure() -> None:
    doc = load_policy(POLICY)
    assert doc["role"] == "privacy_policy" and doc["role_source"] == "content"
    assert doc["title"] == "PIScan 演示应用隐私政策"
    assert doc["dates"] == {"effective": "2025-11-01", "updated": "2025-10-20"}
    assert doc["controller"]["emails"] == ["privacy@demo.piscan.invalid"]
    headings = [s["heading"] for s in doc["sections"] if s["heading"]]
    assert headings[1:3] == ["一、我们如何收集和使用您的个人信息", "二、我们申请的权限"]
    assert doc["id"] == "policydoc:" + doc["sha256"][:12]


def test_sample_policy_pi_types_with_quote_location_purpose_and_marks() -> None:
    doc = load_policy(POLICY)
    by_type = {e["pi_type"]: e for e in doc["pi_types"]}
    assert {p for p, e in by_type.items() if e["declared"]} >= {"imei", "android_id", "location_precise", "contacts", "ip_address", "wifi_info"}
    assert "installed_apps" not in by_type
    loc = by_type["location_precise"]
    assert loc["sensitive"] and loc["marked"] is True
    assert by_type["contacts"]["sensitive"] and by_type["contacts"]["marked"] is False
    first = loc["mentions"][0]
    assert first["quote"] == "当您使用附近门店查询功能时，我们会收集您的精确位置信息，用于向您展示附近的门店。"
    assert first["purpose"] == "用于向您展示附近的门店" and first["scenario"].startswith("当您使用附近门店查询功能时")
    assert first["where"]["section"] == "一、我们如何收集和使用您的个人信息" and first["where"]["paragraph"] == 2
    text_offset = first["where"]["offset"]
    assert isinstance(text_offset, int) and text_offset > 0


def test_sample_policy_permissions_rights_and_reference() -> None:
    doc = load_policy(POLICY)
    perms = {p: e["purpose"] for e in doc["permissions"] for p in e["permissions"]}
    assert perms["android.permission.READ_PHONE_STATE"].startswith("用于读取设备标识符")
    assert perms["android.permission.READ_CONTACTS"] and perms["android.permission.ACCESS_FINE_LOCATION"]
    assert "android.permission.QUERY_ALL_PACKAGES" not in perms
    rights = {r["kind"]: r for r in doc["rights"]}
    assert rights["cancellation"]["present"] and rights["cancellation"]["response_days"] == 15
    assert rights["complaint"]["present"] and not rights["ads_opt_out"]["present"]
    assert [(r["title"], r["role"]) for r in doc["references"]] == [("第三方SDK共享清单", "sdk_list")]


def test_sample_sdk_list_rows() -> None:
    doc = load_policy(SDK_LIST)
    assert doc["role"] == "sdk_list"
    rows = {s["name"]: s for s in doc["sdks"]}
    assert list(rows) == ["个推推送 SDK", "极光推送 SDK", "阿里移动推送 SDK", "腾讯Bugly SDK", "DCloud uni-app SDK"]
    assert {n: (s["match"] or {}).get("sdk_id") for n, s in rows.items()} == {
        "个推推送 SDK": "getui", "极光推送 SDK": "jpush", "阿里移动推送 SDK": "alibaba_push", "腾讯Bugly SDK": "bugly",
        "DCloud uni-app SDK": "dcloud"}
    assert rows["极光推送 SDK"]["pi_types"] == ["android_id", "imei", "location_precise"]
    assert rows["个推推送 SDK"]["operator"] == "每日互动股份有限公司"
    assert rows["个推推送 SDK"]["policy_url"] == "https://docs.getui.com/privacy"
    assert "umeng" not in " ".join(s["name"].lower() for s in doc["sdks"])


def test_role_can_be_set_by_the_user() -> None:
    role, path = parse_policy_spec(f"pi-list={POLICY}")
    doc = load_policy(path, role=role)
    assert doc["role"] == "pi_list" and doc["role_source"] == "user" and doc["detected_role"] == "privacy_policy"


@pytest.mark.parametrize("spec, match", [
    ("sdklist=x.md", "unknown policy role 'sdklist'"),
    ("sdk-list=", "no path after sdk-list="),
])
def test_bad_role_specs(spec: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        parse_policy_spec(spec)


def test_denials_and_definitions_declare_nothing(tmp_path: Path) -> None:
    path = tmp_path / "dialog.txt"
    path.write_text("隐私政策\n我们会收集您的手机号码用于登录。\n我们不会收集您的通讯录、短信。\n"
                    "个人敏感信息是指身份证件号码、生物识别信息等。\n", encoding="utf-8")
    doc = load_policy(path)
    by_type = {e["pi_type"]: e for e in doc["pi_types"]}
    assert by_type["phone_number"]["declared"]
    assert not by_type["contacts"]["declared"] and by_type["contacts"]["mentions"][0]["negated"]
    assert not by_type["sms"]["declared"]
    assert not by_type["identity_document"]["declared"] and not by_type["biometrics"]["declared"]
    # plain text carries no bold: marks are unknown, not "unmarked"
    assert doc["marks_supported"] is False and by_type["phone_number"]["marked"] is None
