"""Extraction on every corpus policy document, against expectations written by reading each one.

The expectations below were written from the documents in ../shared/corpus/policies (see
SOURCES.md there); they are facts about those texts, not copies of them. Each test computes
recall and precision against them and asserts the issue's targets: recall >= 95 % of SDK rows
and >= 90 % of declared PI types per document, precision >= 95 %.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.pi import vocabulary
from scanner.policy import load_policy
from scanner.policy.diff import policy_diff

pytestmark = pytest.mark.corpus

DEVICE_IDS = frozenset(vocabulary().in_group("device_identifiers"))


def _load(corpus: Path, rel: str) -> dict[str, Any]:
    return load_policy(corpus / "policies" / rel)


def recall_precision(expected: set[Any], found: set[Any]) -> tuple[float, float]:
    """(recall, precision) of ``found`` against ``expected`` (1.0 for empty sets)."""
    hit = len(expected & found)
    recall = hit / len(expected) if expected else 1.0
    precision = hit / len(found) if found else 1.0
    return recall, precision


def declared(doc: dict[str, Any]) -> set[str]:
    return {e["pi_type"] for e in doc["pi_types"] if e["declared"]}


# --- SDK lists ------------------------------------------------------------------------------
# (name as written, operator, PI types declared for it, SDK pack id or None)
UCLOUD_SDKS = [
    ("支付宝支付 SDK", "支付宝（中国）网络技术有限公司", {"device_info"}, "alipay_sdk"),
    ("微信支付 SDK", "财付通支付科技有限公司", {"payment", "account", "ip_address", "order_content"}, "wechat_opensdk"),
    ("极验 SDK", "武汉极意网络科技有限公司", {"device_info", "ip_address"}, "geetest"),
    ("人脸认证FaceID SDK", "北京旷视科技有限公司", {"biometrics"}, "megvii_face"),
    ("小米推送（MiPush）SDK", "北京小米移动软件有限公司", {"advertising_id", "android_id", "device_info", "location_coarse"}, "xiaomi_push"),
    ("极光推送 SDK", "深圳市和讯华谷信息技术有限公司",
     {"device_info", "imei", "advertising_id", "android_id", "mac_address", "imsi", "serial_number", "iccid", "ip_address",
      "wifi_info", "cell_info", "location_precise", "location_coarse", "installed_apps", "app_usage"}, "jpush"),
    ("华为HMS Core SDK", "华为软件技术有限公司", set(), "huawei_hms_core"),
    ("VIVO推送 SDK", "维沃移动通信有限公司及其关联公司",
     {"imei", "android_id", "advertising_id", "account", "device_info", "location_coarse"}, "vivo_push"),
    ("OPPO Push SDK", "广东欢太科技有限公司",
     {"imei", "advertising_id", "serial_number", "imsi", "account", "android_id", "device_info", "ip_address"}, "oppo_push"),
]
QQ_SDKS = [
    ("即时通讯（腾讯云即时通信IM）", "腾讯云计算（北京）有限责任公司", {"account", "device_info"}, "tencent_im"),
    ("推送通知消息（OPPO推送SDK）", "广东欢太科技有限公司", DEVICE_IDS | {"device_info", "app_usage"}, "oppo_push"),
    ("推送通知消息（华为推送SDK）", "华为软件技术有限公司", set(), "huawei_push"),
    ("推送通知消息（VIVO推送SDK）", "维沃移动通信有限公司", DEVICE_IDS | {"device_info"}, "vivo_push"),
    ("信息分享（微博SDK）", "北京微梦创科网络技术有限公司", DEVICE_IDS | {"device_info"}, "weibo_sdk"),
    ("广告服务", "广告主和/或其委托的代理商、第三方广告监测服务商", {"advertising_id", "device_info"}, None),
    ("QQ钱包支付", "财付通支付科技有限公司", {"account", "ip_address", "payment"}, None),
    ("微信支付", "财付通支付科技有限公司", {"account", "ip_address", "payment"}, "wechat_opensdk"),
    ("王卡用户身份识别", "中国联合网络通信有限公司", {"ip_address"}, None),
]


@pytest.mark.parametrize("rel, expected", [
    ("ucloud/thirdpart_dependence.md", UCLOUD_SDKS),
    ("qq/qq-android-third-party-sharing-list.md", QQ_SDKS),
], ids=["ucloud", "qq"])
def test_sdk_rows(corpus: Path, rel: str, expected: list[tuple[str, str, set[str], str | None]]) -> None:
    doc = _load(corpus, rel)
    assert doc["role"] == "sdk_list"
    rows = {(s["name"], s["operator"]): s for s in doc["sdks"]}
    want_rows = {(name, op) for name, op, _pi, _id in expected}
    recall, precision = recall_precision(want_rows, set(rows))
    assert recall >= 0.95 and precision >= 0.95, (recall, precision, sorted(set(rows) ^ want_rows))
    want_pairs = {(name, pi) for name, _op, pis, _id in expected for pi in pis}
    got_pairs = {(name, pi) for (name, _op), s in rows.items() for pi in s["pi_types"]}
    recall, precision = recall_precision(want_pairs, got_pairs)
    assert recall >= 0.90 and precision >= 0.95, (recall, precision, sorted(want_pairs ^ got_pairs))
    want_ids = {(name, sid) for name, _op, _pi, sid in expected}
    got_ids = {(name, (s["match"] or {}).get("sdk_id")) for (name, _op), s in rows.items()}
    assert got_ids == want_ids
    assert all(s["policy_url"] and s["policy_url"].startswith("http") for s in doc["sdks"] if s["name"] != "广告服务")


def test_ucloud_pi_list_rows(corpus: Path) -> None:
    doc = _load(corpus, "ucloud/app_userinfo_checklist.md")
    assert doc["role"] == "pi_list"
    rows = {}
    for entry in doc["pi_types"]:
        for m in entry["mentions"]:
            if m["via"] == "pi_list":
                rows.setdefault(m["term"], set()).add(entry["pi_type"])
    expected = {"姓名": {"name"}, "手机号码": {"phone_number"}, "账号名": {"account"}, "登录密码": {"account"},
                "电子邮件地址": {"email"}, "身份证号": {"identity_document"}, "面部特征": {"biometrics"},
                "手机号": {"phone_number"}, "搜索记录": {"browsing_history"}}
    assert rows == expected
    by_type = {e["pi_type"]: e for e in doc["pi_types"]}
    # 身份证号 and 面部特征 are the rows written <u>**…**</u>: sensitive and marked
    assert by_type["identity_document"]["marked"] is True and by_type["biometrics"]["marked"] is True
    assert by_type["name"]["marked"] is False
    face = next(m for m in by_type["biometrics"]["mentions"] if m["via"] == "pi_list")
    assert face["purpose"] == "实名认证、人脸校验、账号安全" and face["scenario"] == "用户进行实名认证时"
    assert face["where"]["section"] == "一、收集的个人信息类型"
    perms = {tuple(p["permissions"]): p["purpose"] for p in doc["permissions"]}
    assert set(perms) == {("android.permission.CAMERA",), ("android.permission.READ_EXTERNAL_STORAGE", "android.permission.WRITE_EXTERNAL_STORAGE")}
    assert all(perms.values())


def test_tim_permission_list(corpus: Path) -> None:
    doc = _load(corpus, "tim/tim-android-permissions.md")
    assert doc["role"] == "permission_list"
    got = {p["term"]: p for p in doc["permissions"]}
    expected = {
        "相机": "android.permission.CAMERA", "通讯录": "android.permission.READ_CONTACTS",
        "地理位置": "android.permission.ACCESS_FINE_LOCATION", "录音": "android.permission.RECORD_AUDIO",
        "通话（电话）": "android.permission.READ_PHONE_STATE", "内存卡": "android.permission.READ_EXTERNAL_STORAGE",
        "短信": "android.permission.READ_SMS",
    }
    assert set(got) == set(expected)
    for term, perm in expected.items():
        assert perm in got[term]["permissions"]
        assert got[term]["purpose"], term
    assert "扫一扫" in got["相机"]["purpose"] and "自动输入验证码" in got["短信"]["purpose"]
    assert doc["references"][0]["title"] == "TIM隐私保护指引"


XIAOMI = {"account", "address", "advertising_id", "android_id", "app_usage", "bank_card", "bluetooth_mac", "browsing_history",
          "camera", "cell_info", "communication_content", "contacts", "demographics", "device_info", "email", "iccid", "imei",
          "imsi", "installed_apps", "invoice", "ip_address", "location_coarse", "location_precise", "mac_address", "name",
          "order_content", "phone_number", "photos_media", "serial_number", "sms", "user_profile", "wifi_info"}
BILIBILI = {"account", "address", "bank_card", "biometrics", "browsing_history", "calendar", "camera",
            "communication_content", "demographics", "device_info", "email", "files", "identity_document", "installed_apps",
            "ip_address", "location_coarse", "location_precise", "microphone", "name", "nearby_devices", "order_content",
            "payment", "phone_number", "photos_media", "user_profile"} | DEVICE_IDS
DOUBAN = {"account", "address", "biometrics", "browsing_history", "camera", "cell_info", "clipboard", "communication_content",
          "demographics", "device_info", "email", "files", "identity_document", "ip_address", "location_coarse",
          "location_precise", "name", "order_content", "payment", "phone_number", "photos_media", "sensors", "user_profile",
          "wifi_info"} | DEVICE_IDS


@pytest.mark.parametrize("rel, expected", [
    ("xiaomi/xiaomi-privacy.md", XIAOMI),
    ("xiaomi/xiaomi-privacy-2021-01-15.pdf", XIAOMI),
    ("bilibili/privacy-2021-02-25.md", BILIBILI),
    ("bilibili/privacy-2021-08-17.md", BILIBILI | {"clipboard", "sensors"}),
    ("bilibili/privacy-2021-10-08.md", BILIBILI | {"clipboard", "sensors"}),
    ("douban/douban-pi-protection-policy.md", DOUBAN),
])
def test_declared_pi_types(corpus: Path, rel: str, expected: set[str]) -> None:
    doc = _load(corpus, rel)
    assert doc["role"] == "privacy_policy"
    recall, precision = recall_precision(expected, declared(doc))
    assert recall >= 0.90 and precision >= 0.95, (recall, precision, sorted(expected - declared(doc)), sorted(declared(doc) - expected))


@pytest.mark.parametrize("md, pdf", [
    ("xiaomi/xiaomi-privacy.md", "xiaomi/xiaomi-privacy-2021-01-15.pdf"),
    ("xiaomi/security-center-privacy.md", "xiaomi/security-center-privacy-2021-08-31.pdf"),
])
def test_xiaomi_pdf_and_markdown_declare_the_same(corpus: Path, md: str, pdf: str) -> None:
    a, b = _load(corpus, md), _load(corpus, pdf)
    assert b["format"] == "pdf" and b["marks_supported"] is None and b["pages"] > 1
    assert declared(a) == declared(b)
    assert {r["kind"] for r in a["rights"] if r["present"]} == {r["kind"] for r in b["rights"] if r["present"]}
    assert {p for x in a["permissions"] for p in x["permissions"]} == {p for x in b["permissions"] for p in x["permissions"]}
    assert a["dates"]["updated"] == b["dates"]["updated"]
    assert a["title"] == b["title"]


RIGHTS = {
    "ucloud/app_private_policy.md": ({"cancellation", "correction", "deletion", "access_copy", "withdrawal", "complaint", "contact",
                                      "children", "cross_border", "retention"}, {"ads_opt_out"}),
    "tim/tim-privacy.md": ({"access_copy", "correction", "deletion", "contact", "children", "retention"},
                           {"cancellation", "withdrawal", "complaint", "cross_border", "ads_opt_out"}),
    "umeng/umeng-privacy.html": ({"cancellation", "complaint", "contact", "correction", "deletion", "children", "cross_border",
                                  "retention"}, {"withdrawal", "ads_opt_out"}),
    "xiaomi/xiaomi-privacy.md": ({"cancellation", "correction", "deletion", "withdrawal", "complaint", "contact", "children",
                                  "cross_border", "retention"}, set()),
    "ucloud/app_userinfo_checklist.md": (set(), {"cancellation", "correction", "deletion", "withdrawal", "complaint", "contact",
                                                 "children", "cross_border", "retention", "ads_opt_out", "access_copy"}),
}


@pytest.mark.parametrize("rel", sorted(RIGHTS))
def test_rights_present_and_absent(corpus: Path, rel: str) -> None:
    doc = _load(corpus, rel)
    present = {r["kind"] for r in doc["rights"] if r["present"]}
    want, absent = RIGHTS[rel]
    assert want <= present and not (absent & present), (sorted(want - present), sorted(absent & present))
    for r in doc["rights"]:
        assert (r["quote"] is not None) == r["present"]


def test_ucloud_current_policy_identity(corpus: Path) -> None:
    doc = _load(corpus, "ucloud/app_private_policy.md")
    assert doc["title"] == "UCloud APP法律声明及隐私政策"
    assert doc["dates"]["effective"] == "2025-12-05"
    assert doc["controller"]["name"] == "优刻得科技股份有限公司"
    assert "usupport@ucloud.cn" in doc["controller"]["emails"]
    complaint = next(r for r in doc["rights"] if r["kind"] == "complaint")
    assert complaint["response_days"] == 15


# --- every other corpus document reads without error and has a role --------------------------
ROLES = {
    "bilibili/privacy-2021-02-25.md": "privacy_policy", "douban/douban-pi-protection-policy.md": "privacy_policy",
    "qq/qq-android-privacy-guide.md": "privacy_policy", "qq/qq-android-third-party-sharing-list.md": "sdk_list",
    "tencent-tpns/tpns-sdk-privacy-guide.md": "privacy_policy", "tim/tim-android-permissions.md": "permission_list",
    "tim/tim-privacy.md": "privacy_policy", "ucloud/app_privacy_abstract.md": "summary",
    "ucloud/app_userinfo_checklist.md": "pi_list", "ucloud/thirdpart_dependence.md": "sdk_list",
    "umeng/umeng-privacy.html": "privacy_policy", "xiaomi/security-center-privacy-2021-08-31.pdf": "privacy_policy",
}


@pytest.mark.parametrize("rel", sorted(ROLES))
def test_roles(corpus: Path, rel: str) -> None:
    doc = _load(corpus, rel)
    assert doc["role"] == ROLES[rel] and doc["role_source"] == "content"
    assert doc["sections"] and doc["text_chars"] > 500


def test_every_corpus_document_is_read(corpus: Path) -> None:
    files = sorted(p for p in (corpus / "policies").glob("*/*") if p.is_file())
    assert len(files) >= 24
    for path in files:
        doc = load_policy(path)
        assert doc["limitations"] == [], path
        for entry in doc["pi_types"]:
            for m in entry["mentions"]:
                assert m["quote"] and m["where"]["paragraph"] >= 1


# --- policy diff on UCloud's consecutive versions ------------------------------------------------
UCLOUD_VERSIONS = ["20220506", "20220624", "20220908", "20230201", "20230803", "20240920", None]


def test_ucloud_policy_diffs_name_the_real_changes(corpus: Path) -> None:
    docs = [_load(corpus, f"ucloud/app_private_policy_{v}.md" if v else "ucloud/app_private_policy.md") for v in UCLOUD_VERSIONS]
    diffs = [policy_diff(a, b) for a, b in zip(docs, docs[1:])]
    # 2022-06-24 only drops the personalisation-by-cookie paragraph: no declared change
    assert diffs[0]["pi_types"] == {"added": [], "removed": []} and diffs[0]["identity"]["effective"]["new"] == "2022-06-24"
    # 2022-09-08 adds reading the clipboard (粘贴板)
    assert diffs[1]["pi_types"]["added"] == ["clipboard"]
    # 2023-02-01 renames the document (UCloud云服务 -> UCloud APP)
    assert diffs[2]["identity"]["title"] == {"old": "UCloud云服务法律声明及隐私政策", "new": "UCloud APP法律声明及隐私政策"}
    # 2023-08-03 spells out the push SDKs' identifiers and adds the app list
    assert "installed_apps" in diffs[3]["pi_types"]["added"]
    # 2024-09-20 adds the installed-app-list permission and a complaint channel answering in 15 working days
    assert diffs[4]["permissions"]["added"] == ["android.permission.QUERY_ALL_PACKAGES"]
    assert diffs[4]["rights"]["added"] == ["complaint"]
    # the current version shortens the answer time for corrections from 30 days to 15
    assert {"kind": "correction", "old": 30, "new": 15} in diffs[5]["rights"]["response_days_changed"]
