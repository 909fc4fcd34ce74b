"""Ready-made results built with :class:`scanner.testing.builders.ResultBuilder`.

* :func:`sample_result` -- a note-taking app whose IMEI is read before any UI, an analytics SDK
  that uploads a hashed IMEI before consent, contacts declared for a utility app (NPI type 38);
* :func:`hostile_result` -- the same shape, but every app-controlled string carries HTML / script
  payloads (:data:`XSS_PAYLOADS`), for escaping tests;
* :func:`complete_result` -- a result with no limitation; :func:`miniprogram_result` -- a
  mini-program result.

All values are fixed, so two calls give equal results and a rendered report is byte-stable.
"""

from __future__ import annotations

from typing import Any

from ..rules.categories import record_necessity
from .builders import ResultBuilder, fake_sha256, party

#: Payloads used by :func:`hostile_result`; tests check they show up as literal text only.
XSS_SCRIPT = "<script>document.title='XSS-SCRIPT-RAN'</script>"
XSS_IMG = "\"><img src=x onerror=\"document.title='XSS-IMG-RAN'\">"
XSS_SVG = "<svg onload=\"document.title='XSS-SVG-RAN'\"></svg>"
XSS_STYLE = "</style><script>document.title='XSS-STYLE-RAN'</script>"
XSS_URL = "javascript:document.title='XSS-URL-RAN'"
XSS_PAYLOADS = (XSS_SCRIPT, XSS_IMG, XSS_SVG, XSS_STYLE)
#: Markers a payload would write into ``document.title`` if it ever ran.
XSS_MARKERS = ("XSS-SCRIPT-RAN", "XSS-IMG-RAN", "XSS-SVG-RAN", "XSS-STYLE-RAN", "XSS-URL-RAN")


UMENG = party("sdk", "umeng_analytics", "友盟统计 (Umeng Analytics)", "友盟同欣（北京）科技有限公司")
RD_31 = {
    "doc": "RD",
    "item": "3.1",
    "text": {"zh-CN": "征得用户同意前就开始收集个人信息或打开可收集个人信息的权限", "en": "PI collected, or PI-collecting permissions opened, before consent is obtained"},
}
PIPL_13 = {"doc": "PIPL", "item": "13", "text": {"zh-CN": "处理个人信息应当取得个人同意（法定情形除外）", "en": "Processing PI requires the individual's consent (save statutory exceptions)"}}
RD_41 = {"doc": "RD", "item": "4.1", "text": {"zh-CN": "收集的个人信息类型或打开的可收集个人信息权限与现有业务功能无关", "en": "PI types collected or permissions opened are unrelated to existing business functions"}}
NPI_4 = {"doc": "NPI", "item": "4", "text": {"zh-CN": "不得因用户不同意提供非必要个人信息而拒绝用户使用其基本功能服务", "en": "An app must not refuse its basic function because the user declines non-necessary PI"}}
RD_51 = {"doc": "RD", "item": "5.1", "text": {"zh-CN": "既未经用户同意，也未做匿名化处理，App客户端直接向第三方提供个人信息", "en": "Without consent or anonymisation, the app client sends PI directly to a third party"}}
RD_12 = {"doc": "RD", "item": "1.2", "text": {"zh-CN": "在App首次运行时未通过弹窗等明显方式提示用户阅读隐私政策等收集使用规则", "en": "On first run the app does not prompt the user to read the privacy policy"}}


def _populate(b: ResultBuilder, *, caller_prefix: str, sdk_name_zh: str, upload_url: str, upload_host: str) -> None:
    """Fill a builder with the sample scenario (shared by the sample and the hostile result)."""
    app_class = f"{caller_prefix}.App"
    b.pack("pi-types", "data", "2026.11.28").pack("sdks", "sdk", "2026.11").pack("cn-rd-2019", "rules", "2026.11")
    b.pack("cn-npi-2021", "rules", "2026.11").pack("pipl", "rules", "2026.11")
    if "signing" not in b.facts:
        b.signing()
    b.permission("android.permission.ACCESS_FINE_LOCATION", ["location_precise"], group="location")
    b.permission("android.permission.CAMERA", ["camera"], group="camera")
    b.permission("android.permission.INTERNET", [], protection_level="normal")
    b.permission("android.permission.READ_CONTACTS", ["contacts"], group="contacts")
    b.permission("android.permission.READ_PHONE_STATE", ["imei", "imsi", "phone_number"], group="phone")
    imei_call = b.api_call(
        "telephony.getDeviceId",
        "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
        ["imei"],
        caller_class=f"{caller_prefix}.util.DeviceUtil",
        caller_method="readId",
        descriptor="(Landroid/content/Context;)Ljava/lang/String;",
        permission="android.permission.READ_PHONE_STATE",
        offset=0x1A,
        reach_path=[
            f"{app_class}.onCreate()V",
            f"{caller_prefix}.util.DeviceUtil.readId(Landroid/content/Context;)Ljava/lang/String;",
        ],
        reachable_before_ui=True,
    )
    contacts_call = b.api_call(
        "contacts.query",
        "Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;",
        ["contacts"],
        caller_class=f"{caller_prefix}.share.ContactPicker",
        caller_method="load",
        permission="android.permission.READ_CONTACTS",
        offset=0x8C,
        dex="classes2.dex",
        reach_path=None,
        reachable_before_ui=False,
    )
    sdk_call = b.api_call(
        "wifi.getMacAddress",
        "Landroid/net/wifi/WifiInfo;->getMacAddress()Ljava/lang/String;",
        ["mac_address"],
        caller_class="com.umeng.commonsdk.statistics.common.DeviceConfig",
        caller_method="getMac",
        descriptor="(Landroid/content/Context;)Ljava/lang/String;",
        offset=0x44,
        owner=party("sdk", "umeng_analytics", sdk_name_zh, "友盟同欣（北京）科技有限公司"),
        reach_path=[
            f"{app_class}.onCreate()V",
            "com.umeng.commonsdk.UMConfigure.init(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;)V",
            "com.umeng.commonsdk.statistics.common.DeviceConfig.getMac(Landroid/content/Context;)Ljava/lang/String;",
        ],
        reachable_before_ui=True,
    )
    b.sdk(
        "umeng_analytics", sdk_name_zh, "Umeng Analytics", vendor=("友盟同欣（北京）科技有限公司", "Umeng Tongxin (Beijing) Technology"),
        category="analytics", prefix="com.umeng", host=upload_host,
        pi_types=["advertising_id", "android_id", "imei", "mac_address"], class_count=412, seen_in_traffic=True,
        policy_url="https://www.umeng.com/page/policy",
    )
    b.sdk(
        "tencent_bugly", "腾讯Bugly", "Tencent Bugly", vendor=("深圳市腾讯计算机系统有限公司", "Shenzhen Tencent Computer Systems"),
        category="crash_reporting", prefix="com.tencent.bugly", host="android.bugly.qq.com",
        pi_types=["android_id", "device_info"], class_count=198, seen_in_traffic=False,
    )
    sdk_owner = party("sdk", "umeng_analytics", sdk_name_zh, "友盟同欣（北京）科技有限公司")
    upload = b.observation(
        17, time="2026-11-28T19:41:02.123Z", phase="before_consent", method="POST", url=upload_url, host=upload_host,
        owner=sdk_owner,
        matches=[
            {"pi_type": "imei", "location": "body:$.header.imei_md5", "encoding": "md5", "value_masked": "5d41********2a7c", "detector": "profile"},
            {"pi_type": "android_id", "location": "body:$.header.android_id", "encoding": "plain", "value_masked": "9774********1b2c", "detector": "profile"},
        ],
    )
    first_party_upload = b.observation(
        18, time="2026-11-28T19:41:03.870Z", phase="before_consent", method="GET",
        url="http://api.example-notes.cn/v1/config?imei=861234567890123&ch=huawei", host="api.example-notes.cn",
        owner=party("first_party"),
        matches=[{"pi_type": "imei", "location": "query:imei", "encoding": "plain", "value_masked": "8612*******0123", "detector": "profile"}],
    )
    b.observation(
        25, time="2026-11-28T19:42:40.002Z", phase="after_consent", method="POST",
        url="https://android.bugly.qq.com/rqd/async", host="android.bugly.qq.com",
        owner=party("sdk", "tencent_bugly", "腾讯Bugly", "深圳市腾讯计算机系统有限公司"),
        matches=[], opaque=True, opaque_reason="opaque: likely encrypted or compressed (1,536 bytes, 7.98 bits/byte, application/octet-stream, length a multiple of 16, as AES output) at body",
    )
    b.facts["traffic"]["session"] = {
        "id": "session",
        "dir": "sessions/20261128-1940",
        "started_at": "2026-11-28T19:40:30Z",
        "tool_version": b.tool_version,
        "mitmproxy_version": "11.0.2",
        "device_profile_sha256": fake_sha256("device-profile:pixel-6"),
        "apk": {"name": b.input_name, "sha256": b.input_hashes()["sha256"], "package": b.package},
        "marks": [
            {"seq": 16, "time": "2026-11-28T19:40:58.000Z", "mark": "launch", "phase": "before_consent"},
            {"seq": 24, "time": "2026-11-28T19:42:31.500Z", "mark": "consent", "phase": "after_consent"},
        ],
        "chains_verified": True,
        "flows_file": "flows.mitm",
    }
    b.facts["traffic"]["frequency"] = [
        {"pi_type": "imei", "host": upload_host, "phase": "before_consent", "count": 1, "min_interval_s": None}
    ]
    b.limitation("payload_opaque", "1 request body could not be decoded (AES-encrypted)", "obs:25")
    b.limitation("reachability_bound", "call-graph bound of 200000 edges reached; reachability of 3 call sites unknown", "classes3.dex")

    b.finding(
        "RD-3.1-api-pre-consent", "cn-rd-2019", "high",
        ("在用户同意隐私政策前读取IMEI", "IMEI read before the user consents to the privacy policy"),
        ("应用在首个界面出现前的代码路径（Application.onCreate）中调用了读取设备识别码的接口。",
         "Code that runs before the first screen (Application.onCreate) calls an API that reads the device identifier."),
        [RD_31, PIPL_13], [("api_call", imei_call)], evidence_level="reachable_before_consent", owner=party("first_party"),
    )
    b.finding(
        "RD-3.1-sdk-pre-consent", "cn-rd-2019", "high",
        ("第三方SDK在同意前收集设备标识并发送", "Third-party SDK collects device identifiers and sends them before consent"),
        ("同意前阶段观察到SDK向其服务器发送了设备标识符；代码中SDK初始化由Application.onCreate调用。",
         "In the before-consent phase the SDK sent device identifiers to its server; the SDK is initialised from Application.onCreate."),
        [RD_31, RD_51], [("api_call", sdk_call), ("observation", upload), ("sdk", "sdk:umeng_analytics")],
        evidence_level="observed_traffic", owner=sdk_owner, phase="before_consent",
    )
    b.finding(
        "RD-3.1-traffic-pre-consent", "cn-rd-2019", "high",
        ("同意前以明文HTTP发送IMEI", "IMEI sent over cleartext HTTP before consent"),
        ("同意前阶段观察到应用向自身服务器以明文HTTP请求发送设备识别码。",
         "In the before-consent phase the app sent the device identifier to its own server in a cleartext HTTP request."),
        [RD_31, PIPL_13], [("observation", first_party_upload)], evidence_level="observed_traffic",
        owner=party("first_party"), phase="before_consent",
    )
    b.finding(
        "NPI-38-beyond-necessary", "cn-npi-2021", "medium",
        ("申请了实用工具类基本功能不需要的通讯录权限", "Contacts permission requested although a utility app needs no PI"),
        ("实用工具类App无须个人信息即可提供基本功能服务；应用声明了读取通讯录的权限，并有调用点。",
         "Utility tools need no PI for their basic function; the app declares the contacts permission and has a call site."),
        [NPI_4, RD_41], [("permission", "perm:android.permission.READ_CONTACTS"), ("api_call", contacts_call)],
        evidence_level="in_code", owner=party("first_party"),
    )
    b.finding(
        "RD-4.1-permission-unrelated", "cn-rd-2019", "low",
        ("申请的定位权限与基本功能无关", "Location permission unrelated to the basic function"),
        ("应用声明了精确定位权限，未发现调用点。", "The app declares the precise-location permission; no call site was found."),
        [RD_41], [("permission", "perm:android.permission.ACCESS_FINE_LOCATION")], evidence_level="declared",
        owner=party("first_party"), verification="P",
    )
    b.manual_check(
        "RD-1.2", "cn-rd-2019", ("首次运行是否提示阅读隐私政策", "Does first run prompt the user to read the privacy policy?"),
        ("全新安装后启动应用，确认首个界面以弹窗等明显方式提示阅读隐私政策；截图留存。",
         "Install afresh, launch, and confirm the first screen prompts the user (pop-up or similar) to read the privacy policy; keep a screenshot."),
        [RD_12],
    )


RAW_VALUES = {"imei": "861234567890123", "android_id": "9774d56d682e549c"}


def sample_result(*, raw_values: bool = False) -> dict[str, Any]:
    """A realistic, incomplete (two limitations) result of an Android scan with five findings.

    With ``raw_values`` every traffic match also carries the raw ``value`` (from :data:`RAW_VALUES`),
    as a session recorded with raw-value retention would; by default only masked values are stored.
    (The traffic schema fragment does not allow ``value`` today, so such a result is for renderer
    tests of ``--unmask`` only and fails ``validation_errors``.)
    """
    b = ResultBuilder()
    _populate(
        b, caller_prefix="com.example.notes", sdk_name_zh="友盟统计",
        upload_url="https://ulogs.umeng.com/unify_logs", upload_host="ulogs.umeng.com",
    )
    result = b.build()
    if raw_values:
        for obs in result["facts"]["traffic"]["observations"]:
            for match in obs["matches"]:
                match["value"] = RAW_VALUES[match["pi_type"]]
    return result


def complete_result() -> dict[str, Any]:
    """The sample result without limitations (``complete: true``) and without a category."""
    result = sample_result()
    result["limitations"] = []
    result["complete"] = True
    result["case"]["category"] = None
    record_necessity(result)  # no category: no necessity decision, as a scan records it
    return result


def hostile_result() -> dict[str, Any]:
    """The sample scenario with HTML / script payloads in every app-controlled string."""
    b = ResultBuilder(
        package=f"com.evil{XSS_IMG}",
        label=f"Notes{XSS_SCRIPT}",
        label_zh=f"便签{XSS_SVG}",
        version_name=f"2.3{XSS_STYLE}",
        case_id=f"CASE-1{XSS_STYLE}",
        examiner=f"Li{XSS_IMG}",
        input_name=f"evil{XSS_SCRIPT}.apk",
    )
    b.signing(subject=f"CN=Evil{XSS_IMG}, O=X")
    _populate(
        b, caller_prefix=f"com.evil{XSS_SCRIPT}", sdk_name_zh=f"友盟{XSS_SVG}",
        upload_url=f"https://ulogs.umeng.com/u?x={XSS_IMG}#{XSS_SCRIPT}", upload_host=f"ulogs{XSS_SVG}.umeng.com",
    )
    b.limitation("packed", f"packer stub {XSS_SCRIPT}", f"assets/{XSS_IMG}")
    result = b.build()
    result["facts"]["sdks"][0]["privacy_policy_url"] = XSS_URL
    result["facts"]["traffic"]["observations"][0]["matches"][0]["value_masked"] = XSS_IMG
    result["provenance"]["reproduce"] = f"piscan scan '{XSS_STYLE}'"
    return result


def miniprogram_result() -> dict[str, Any]:
    """A WeChat mini-program result: a location API used without ``requiredPrivateInfos``."""
    b = ResultBuilder(package="wx6e24c691f9a50e44", label="活动报名", label_zh=None, input_name="__APP__.wxapkg",
                      category={"id": 20, "zh": "本地生活类", "en": "Local life services"})
    b.pack("pi-types", "data", "2026.11.28").pack("wechat-mp", "rules", "2026.11")
    api_use = {
        "id": "mpapi:pages/signup/signup.js:42:getLocation",
        "api": "wx.getLocation",
        "scope": "scope.userLocation",
        "pi_types": ["location_precise"],
        "file": "pages/signup/signup.js",
        "line": 42,
        "function": "onLoad",
        "owner": {"kind": "first_party", "sdk_id": None},
    }
    b.facts["miniprogram"] = {
        "app_id": b.package,
        "pages": ["pages/index/index", "pages/signup/signup"],
        "subpackages": [],
        "plugins": [],
        "permission_scopes": [{"scope": "scope.userLocation", "desc": None}],
        "required_private_infos": [],
        "use_privacy_check": None,
        "api_uses": [api_use],
        "buttons": [],
        "privacy_handling": {"apis": []},
        "request_domains": [],
        "packages": [{"id": "mppkg:__APP__.wxapkg", "name": "__APP__.wxapkg", "role": "wxapkg", "files": 125, "encrypted": False}],
    }
    b.limitation("not_collected", "no proxy session was joined; traffic facts were not collected", None)
    b.finding(
        "WX-required-private-infos", "wechat-mp", "medium",
        ("调用地理位置接口但未在requiredPrivateInfos中声明", "Location API used but not declared in requiredPrivateInfos"),
        ("小程序代码调用了wx.getLocation，但app.json的requiredPrivateInfos未声明该接口。",
         "The mini-program calls wx.getLocation but app.json does not declare it in requiredPrivateInfos."),
        [{"doc": "WX", "item": "requiredPrivateInfos", "text": {"zh-CN": "地理位置接口需在app.json中声明", "en": "Location APIs must be declared in app.json"}}],
        [("miniprogram_api", api_use["id"])], evidence_level="in_code", owner=party("first_party"),
    )
    result = b.build()
    result["app"] = {
        "platform": "wechat-miniprogram",
        "package": b.package,
        "label": {"default": b.label, "zh-CN": None},
        "version_name": None,
        "version_code": None,
        "min_sdk": None,
        "target_sdk": None,
        "compile_sdk": None,
        "max_sdk": None,
        "application_class": None,
        "first_party_prefixes": [],
        "input_note": None,
    }
    result["provenance"]["inputs"][0]["role"] = "wxapkg"
    return result
