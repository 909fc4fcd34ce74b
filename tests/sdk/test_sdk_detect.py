"""SDK detection on the real corpus APKs and on hand-made evidence (scanner/sdk/detect.py).

Corpus SDKs come from the Android collector's first stage, exactly as ``piscan scan`` and
``piscan sdks match`` get them (``AndroidCollector.inventory``). "Of note" means a non-library SDK at medium or high confidence.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jsonschema
import pytest

from scanner.apk.collector import AndroidCollector
from scanner.schema import result_schema
from scanner.sdk.detect import MANY_CLASSES, MAX_VALUES_PER_KIND, SdkEvidence, detect_sdks
from scanner.sdk.pack import load_sdk_pack

from scanner.testing.corpus import apk_params, corpus_dir

#: per corpus APK: the SDKs of note (from corpus/SOURCES.md and the issue text)
EXPECTED: dict[str, set[str]] = {
    "jpush-jbox-app-release.apk": {"jpush"},
    "jpush-hbuilder-hello.apk": {"jpush", "dcloud", "qq_opensdk", "iflytek"},
    "jiguang-jmlink-demo-debug.apk": {"jiguang_core"},
    "bugly-hotfix-demo-release.apk": {"bugly", "tinker"},
    # Umeng analytics + share, Bugly, QQ, WeChat login (WX_APPID, wxapi.WXEntryActivity), and
    # (CustomActivityOnCrash and LeakCanary are open-source libraries: category "library")
    "getactivity-androidproject-2019-09.apk": {"umeng_analytics", "umeng_share", "bugly", "qq_opensdk", "wechat_opensdk"},
    # legacy Umeng (com.mobclick) with its feedback and "exchange" ads modules, CNZZ, Flurry, Apsalar,
    # and the 2012 Google Analytics SDK (com.google.android.apps.analytics)
    "umeng-crossweather-qwe.apk": {"umeng_legacy_mobclick", "umeng_feedback", "umeng_exchange", "cnzz", "flurry", "apsalar", "google_analytics"},
    "myweixintest-wechat-opensdk-release.apk": {"wechat_opensdk"},
    "exodus-leaninstapaper.apk": {"facebook_sdk", "crashlytics", "firebase"},
    # AdMob ships SafetyNet classes (com.google.android.gms.safetynet) in this build
    "exodus-blooddonation.apk": {"firebase", "admob", "google_safetynet_play_integrity"},
    "airtest-yosemite-1.1.0.449.apk": {"tencent_x5"},
    "appium-uiautomator2-server-v10.6.6.apk": set(),
    "android-apidemos-5.0.0-debug.apk": set(),
    "getactivity-xxpermissions-12.6.apk": set(),
}
NEGATIVES = {"appium-uiautomator2-server-v10.6.6.apk", "android-apidemos-5.0.0-debug.apk", "getactivity-xxpermissions-12.6.apk"}


@cache
def _detect(path: Path) -> tuple[str, list[dict]]:
    inventory = AndroidCollector().inventory(path)
    return inventory.app["package"], inventory.sections["sdks"]


def _of_note(rows: list[dict]) -> set[str]:
    return {r["sdk_id"] for r in rows if r["category"] != "library" and r["confidence"] in ("high", "medium")}


def _row(rows: list[dict], sdk_id: str) -> dict:
    return next(r for r in rows if r["sdk_id"] == sdk_id)


def _signals(row: dict, kind: str) -> set[str]:
    return {s["value"] for s in row["signals"] if s["kind"] == kind}


def _main_apks() -> list[Path]:
    base = corpus_dir()
    return [base / "apk" / name for name in sorted(EXPECTED)] if base else []


@pytest.mark.parametrize("apk_path", apk_params(_main_apks()))
def test_expected_sdks_and_nothing_else_of_note(apk_path: Path) -> None:
    _pkg, rows = _detect(apk_path)
    assert _of_note(rows) == EXPECTED[apk_path.name]
    if apk_path.name in NEGATIVES:
        # a URL string (e.g. www.google-analytics.com in a bundled library) is at most a low,
        # host-only mention, never a detected SDK
        for row in rows:
            if row["category"] != "library":
                assert row["confidence"] == "low" and {s["kind"] for s in row["signals"]} == {"host"}, row
    assert [r["sdk_id"] for r in rows] == sorted(r["sdk_id"] for r in rows)
    jsonschema.validate(rows, result_schema()["properties"]["facts"]["properties"]["sdks"])


def test_jpush_from_code_manifest_and_native_library(corpus: Path) -> None:
    _pkg, rows = _detect(corpus / "apk" / "jpush-jbox-app-release.apk")
    jpush = _row(rows, "jpush")
    assert jpush["confidence"] == "high"
    assert jpush["vendor"] == {"zh": "深圳市和讯华谷信息技术有限公司", "en": "Aurora Mobile (JiGuang)"}
    assert {"JPUSH_APPKEY", "JPUSH_CHANNEL"} <= _signals(jpush, "meta_data")
    assert "libjpush219.so" in _signals(jpush, "native_lib")
    assert "cn.jpush.android.service.PushService" in _signals(jpush, "component")
    assert "cn.jpush.android" in _signals(jpush, "code_prefix")
    assert jpush["class_count"] > 100
    assert "imei" in jpush["pi_types"]


def test_hbuilder_hosts_back_the_code(corpus: Path) -> None:
    _pkg, rows = _detect(corpus / "apk" / "jpush-hbuilder-hello.apk")
    assert "stream.dcloud.net.cn" in _signals(_row(rows, "dcloud"), "host")
    assert {"openmobile.qq.com", "appsupport.qq.com"} <= _signals(_row(rows, "qq_opensdk"), "host")
    assert "libjpush182.so" in _signals(_row(rows, "jpush"), "native_lib")


def test_crossweather_legacy_prefixes_and_plain_http_hosts(corpus: Path) -> None:
    _pkg, rows = _detect(corpus / "apk" / "umeng-crossweather-qwe.apk")
    legacy = _row(rows, "umeng_legacy_mobclick")
    assert "com.mobclick.android" in _signals(legacy, "code_prefix")
    assert {"UMENG_APPKEY", "UMENG_CHANNEL"} <= _signals(legacy, "meta_data")
    assert legacy["confidence"] == "high"
    # the current Umeng SDK shares UMENG_APPKEY but has no code here: not reported twice
    assert "umeng_analytics" not in {r["sdk_id"] for r in rows}
    assert "CNZZ_APP_KEY" in _signals(_row(rows, "cnzz"), "meta_data")
    assert "data.flurry.com" in _signals(_row(rows, "flurry"), "host")
    assert "e.apsalar.com" in _signals(_row(rows, "apsalar"), "host")


def test_obfuscated_app_found_from_manifest_only(corpus: Path) -> None:
    # com.ntop.cnzz: 17 classes of obfuscated code (com.a.a), SDKs visible only in the manifest
    pkg, rows = _detect(corpus / "apk" / "umeng-cnzz-123-tiny.apk")
    assert pkg == "com.ntop.cnzz"
    by_id = {r["sdk_id"]: r for r in rows}
    assert {"cnzz", "umeng_analytics", "umeng_feedback"} <= set(by_id)
    for sdk_id in ("cnzz", "umeng_analytics", "umeng_feedback"):
        assert by_id[sdk_id]["class_count"] == 0
        assert by_id[sdk_id]["confidence"] == "medium"
    assert _signals(by_id["cnzz"], "meta_data") == {"CNZZ_APP_KEY", "CNZZ_CHANNEL_ID"}
    assert _signals(by_id["umeng_analytics"], "meta_data") == {"UMENG_APPKEY", "UMENG_CHANNEL"}
    assert "com.feedback.ui.SendFeedback" in _signals(by_id["umeng_feedback"], "component")
    # UMENG_APPKEY alone cannot tell the legacy SDK from the current one: both are named
    assert set(by_id) - {"cnzz", "umeng_analytics", "umeng_feedback"} <= {"umeng_legacy_mobclick"}


def test_app_inside_sdk_namespace_keeps_sdk_and_drops_own_code(corpus: Path) -> None:
    pkg, rows = _detect(corpus / "apk" / "bugly-hotfix-demo-release.apk")
    assert pkg == "com.tencent.bugly.hotfix"
    bugly = _row(rows, "bugly")
    assert bugly["confidence"] == "high"
    assert not any(v.startswith("com.tencent.bugly.hotfix") for v in _signals(bugly, "code_prefix"))
    assert "android.bugly.qq.com" in _signals(bugly, "host")
    tinker = _row(rows, "tinker")
    assert _signals(tinker, "meta_data") == {"TINKER_ID", "tinker_version"}
    assert tinker["class_count"] == 288


# --- hand-made evidence ---------------------------------------------------------------------------

def _classes(prefix: str, n: int) -> list[str]:
    return [f"{prefix}.C{i}" for i in range(n)]


def test_prefix_boundary_com_dv_is_not_com_dvtech() -> None:
    pack = load_sdk_pack()
    code = {s.value for s in pack.get("umeng_push").of_kind("code_prefix")}
    assert "com.umeng.message" in code
    rows = detect_sdks(pack, SdkEvidence(class_names=_classes("com.umeng.messagex", 30) + _classes("com.umeng.messages", 5)))
    assert [r["sdk_id"] for r in rows] == []
    rows = detect_sdks(pack, SdkEvidence(class_names=_classes("com.umeng.message.inapp", 3)))
    assert [r["sdk_id"] for r in rows] == ["umeng_push"]


def test_confidence_levels() -> None:
    pack = load_sdk_pack()
    few = detect_sdks(pack, SdkEvidence(class_names=_classes("com.igexin.sdk", 3)))
    assert [(r["sdk_id"], r["confidence"], r["class_count"]) for r in few] == [("getui", "medium", 3)]
    many = detect_sdks(pack, SdkEvidence(class_names=_classes("com.igexin.sdk", MANY_CLASSES)))
    assert many[0]["confidence"] == "high"
    backed = detect_sdks(pack, SdkEvidence(class_names=_classes("com.igexin.sdk", 3), meta_data_keys=["PUSH_APPID"]))
    assert backed[0]["confidence"] == "high"
    host_only = detect_sdks(pack, SdkEvidence(hosts=["sdk.open.talk.igexin.com"]))
    assert [(r["sdk_id"], r["confidence"]) for r in host_only] == [("getui", "low")]
    assert host_only[0]["signals"] == [{"kind": "host", "value": "sdk.open.talk.igexin.com", "detail": "*.igexin.com"}]


def test_obfuscated_sdk_found_from_native_library_and_component() -> None:
    pack = load_sdk_pack()
    ev = SdkEvidence(
        class_names=["a.a.a", "a.a.b", "com.example.app.Main"],
        components=["com.igexin.sdk.PushService", "com.example.app.Main"],
        native_libs=["libBugly.so"],
        package_name="com.example.app",
    )
    rows = {r["sdk_id"]: r for r in detect_sdks(pack, ev)}
    assert set(rows) == {"getui", "bugly"}
    assert rows["getui"]["signals"][0] == {"kind": "component", "value": "com.igexin.sdk.PushService", "detail": "known component"}
    assert rows["bugly"]["signals"] == [{"kind": "native_lib", "value": "libBugly.so", "detail": None}]
    assert rows["bugly"]["confidence"] == "medium"


def test_own_package_is_not_an_sdk() -> None:
    pack = load_sdk_pack()
    # an app whose own package is an SDK prefix: com.tencent.tinker.demo
    ev = SdkEvidence(class_names=_classes("com.tencent.tinker.demo", 40), package_name="com.tencent.tinker.demo")
    assert detect_sdks(pack, ev) == []
    ev = SdkEvidence(class_names=_classes("com.tencent.tinker.demo", 40), first_party_prefixes=["com.tencent.tinker.demo"])
    assert detect_sdks(pack, ev) == []


def test_signal_values_are_capped_and_counted() -> None:
    pack = load_sdk_pack()
    comps = [f"com.igexin.sdk.Comp{i}" for i in range(MAX_VALUES_PER_KIND + 3)]
    rows = detect_sdks(pack, SdkEvidence(components=comps))
    comp_signals = [s for s in rows[0]["signals"] if s["kind"] == "component"]
    assert len(comp_signals) == MAX_VALUES_PER_KIND + 1
    assert comp_signals[-1] == {"kind": "component", "value": "+3 more", "detail": "further matches of this kind not listed"}


def test_wechat_entry_activity_suffix_in_app_package() -> None:
    pack = load_sdk_pack()
    ev = SdkEvidence(class_names=["com.shop.app.wxapi.WXEntryActivity"], components=["com.shop.app.wxapi.WXEntryActivity"], package_name="com.shop.app")
    rows = detect_sdks(pack, ev)
    assert [r["sdk_id"] for r in rows] == ["wechat_opensdk"]
    assert {"kind": "component", "value": "com.shop.app.wxapi.WXEntryActivity", "detail": "class name ends with .wxapi.WXEntryActivity"} in rows[0]["signals"]


def test_detection_is_deterministic() -> None:
    pack = load_sdk_pack()
    ev1 = SdkEvidence(class_names=_classes("com.umeng.analytics", 5) + _classes("cn.jpush.android", 5), hosts=["ulogs.umeng.com", "x.jpush.cn"])
    ev2 = SdkEvidence(class_names=list(reversed(ev1.class_names)), hosts=list(reversed(ev1.hosts)))
    assert detect_sdks(pack, ev1) == detect_sdks(pack, ev2)


def test_mark_seen_in_traffic_sets_only_matching_sdks() -> None:
    from scanner.sdk.detect import mark_seen_in_traffic

    pack = load_sdk_pack()
    rows = detect_sdks(pack, SdkEvidence(class_names=_classes("com.umeng.analytics", 3) + _classes("com.tencent.bugly.crashreport", 3)))
    marked = mark_seen_in_traffic(pack, rows, ["ulogs.umeng.com", "www.example.com"])
    assert [(r["sdk_id"], r["seen_in_traffic"]) for r in marked] == [("bugly", False), ("umeng_analytics", True)]
    assert [r["seen_in_traffic"] for r in rows] == [False, False]


def test_code_found_in_a_split_or_feature_module_names_it() -> None:
    """An SDK's code that only a split APK or feature module defines says where (issue 19): it is
    installed only with that split, which an examiner weighs differently from base code."""
    pack = load_sdk_pack()
    split_only = _classes("cn.jpush.android.service", 4)
    mixed = _classes("com.umeng.analytics", 6)
    two = _classes("com.tencent.mm.opensdk", 3)
    rows = detect_sdks(pack, SdkEvidence(
        class_names=sorted(split_only + mixed + two),
        class_splits={**{name: ("pay",) for name in split_only}, **{name: ("split_x.apk",) for name in mixed[:2]},
                      two[0]: ("a.apk", "b.apk"), two[1]: ("a.apk",), two[2]: ("b.apk",)}))
    details = {sig["value"]: sig["detail"] for row in rows for sig in row["signals"] if sig["kind"] == "code_prefix"}
    assert details["cn.jpush.android"] == "4 classes, in pay"
    assert details["com.umeng.analytics"] == "6 classes, 2 of them in split_x.apk"
    assert details["com.tencent.mm.opensdk"] == "3 classes, in a.apk, b.apk"  # each name once (review)
    base_only = detect_sdks(pack, SdkEvidence(class_names=sorted(split_only)))
    assert [s["detail"] for row in base_only for s in row["signals"] if s["kind"] == "code_prefix"] == ["4 classes"]
