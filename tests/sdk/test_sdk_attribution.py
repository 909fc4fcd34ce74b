"""Attribution of classes and hosts to the first party, an SDK or nobody (scanner/sdk/attribution.py)."""

from __future__ import annotations

from scanner.sdk.attribution import Attributor
from scanner.sdk.pack import load_sdk_pack


def _attributor(detected: list[str] | None = None, first: list[str] | None = None) -> Attributor:
    rows = [{"sdk_id": sid} for sid in (detected or [])]
    return Attributor(load_sdk_pack(), rows, first or ["com.hjq.demo"])


def test_class_under_app_package_is_first_party() -> None:
    owner = _attributor().owner_of_class("com.hjq.demo.ui.activity.HomeActivity")
    assert owner == {"kind": "first_party", "sdk_id": None, "sdk_name": None, "vendor": None}


def test_sdk_class_gets_sdk_and_vendor_by_longest_prefix() -> None:
    att = _attributor()
    umeng = att.owner_of_class("com.umeng.analytics.MobclickAgent")
    assert umeng == {"kind": "sdk", "sdk_id": "umeng_analytics", "sdk_name": "友盟统计分析", "vendor": "友盟同欣（北京）科技有限公司"}
    share = att.owner_of_class("com.umeng.socialize.UMShareAPI")
    assert share["sdk_id"] == "umeng_share"
    # com.google.android.gms.ads is AdMob; the rest of com.google.android.gms is Play services
    assert att.owner_of_class("com.google.android.gms.ads.AdView")["sdk_id"] == "admob"
    assert att.owner_of_class("com.google.android.gms.common.GoogleApiAvailability")["sdk_id"] == "google_play_services"
    assert att.owner_of_class("com.google.android.gms.ads.identifier.AdvertisingIdClient")["sdk_id"] == "google_ads_identifier"


def test_unknown_code_is_unknown_and_boundaries_hold() -> None:
    att = _attributor()
    assert att.owner_of_class("org.example.Thing")["kind"] == "unknown"
    # com.umeng is deliberately not a prefix of any single SDK, and com.umengx is not com.umeng
    assert att.owner_of_class("com.umengx.Foo")["kind"] == "unknown"
    assert att.owner_of_class("okhttp3.OkHttpClient")["sdk_id"] == "okhttp"


def test_app_package_inside_an_sdk_namespace_stays_first_party() -> None:
    # the Bugly demo's own package is com.tencent.bugly.hotfix, inside Bugly's com.tencent.bugly
    att = _attributor(["bugly"], ["com.tencent.bugly.hotfix"])
    assert att.owner_of_class("com.tencent.bugly.hotfix.MainActivity")["kind"] == "first_party"
    assert att.owner_of_class("com.tencent.bugly.crashreport.CrashReport")["sdk_id"] == "bugly"


def test_shared_prefix_prefers_the_detected_sdk() -> None:
    # com.mob.MobProvider is listed for ShareSDK (curated) and for MobPush (AppScan's "Mob 推送")
    pack = load_sdk_pack()
    owners = [s.id for s in pack.sdks if any(sig.kind == "code_prefix" and sig.value == "com.mob.tools" for sig in s.signatures)]
    assert "sharesdk" in owners
    att = Attributor(pack, [{"sdk_id": "sharesdk"}], ["com.example"])
    assert att.owner_of_class("com.mob.tools.utils.DH")["sdk_id"] == "sharesdk"


def test_hosts_attributed_by_label_suffix() -> None:
    att = _attributor()
    assert att.party_of_host("ulogs.umeng.com")["sdk_id"] == "umeng_analytics"
    assert att.party_of_host("android.bugly.qq.com")["sdk_id"] == "bugly"
    assert att.party_of_host("app-measurement.com")["sdk_id"] == "firebase"
    assert att.party_of_host("stream.dcloud.net.cn:80")["sdk_id"] == "dcloud"
    assert att.party_of_host("e.apsalar.com")["vendor"] == "Singular Labs公司"
    assert att.party_of_host("www.qq.com") == {"kind": "third_party", "sdk_id": None, "sdk_name": None, "vendor": None}
    assert att.party_of_host("api.example.org")["kind"] == "third_party"


def test_first_party_domains_win_over_sdk_hosts() -> None:
    att = _attributor()
    assert att.party_of_host("api.hjq.com", ["hjq.com"])["kind"] == "first_party"
    assert att.party_of_host("xhjq.com", ["hjq.com"])["kind"] == "third_party"
    # cached answers are copies: a caller editing one cannot poison the cache
    first = att.party_of_host("ulogs.umeng.com")
    first["sdk_id"] = "tampered"
    assert att.party_of_host("ulogs.umeng.com")["sdk_id"] == "umeng_analytics"


def test_class_level_pattern_is_not_confused_by_the_package_cache() -> None:
    pack = load_sdk_pack()
    vivo = {s.value for s in pack.get("vivo_push").of_kind("code_prefix")}
    assert "com.vivo.VivoPushMessageReceiver" in vivo  # AppScan lists the class itself
    att = Attributor(pack, [], ["com.example"])
    assert att.owner_of_class("com.vivo.Unrelated")["kind"] == "unknown"
    assert att.owner_of_class("com.vivo.VivoPushMessageReceiver")["sdk_id"] == "vivo_push"
    assert att.owner_of_class("com.vivo.Unrelated2")["kind"] == "unknown"
    assert att.owner_of_class("com.vivo.push.PushClient")["sdk_id"] == "vivo_push"
