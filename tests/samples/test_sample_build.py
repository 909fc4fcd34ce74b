"""The committed demo and XSS APKs: their content (checked with androguard as the oracle) and
a rebuild from the committed apktool projects that must give the same facts."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from androguard.core.apk import APK
from androguard.core.analysis.analysis import Analysis
from androguard.misc import AnalyzeAPK
from loguru import logger
from lxml import etree

REPO = Path(__file__).resolve().parent.parent.parent
DEMO_PROJECT = REPO / "samples" / "demo-app"
DEMO_APK = REPO / "samples" / "piscan-demo.apk"
DEMO_BUILD = REPO / "samples" / "build_sample.sh"
XSS_PROJECT = REPO / "tests" / "data" / "xss-app"
XSS_APK = REPO / "tests" / "data" / "piscan-xss.apk"
XSS_BUILD = REPO / "tests" / "data" / "build_xss_apk.sh"
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")

# androguard logs every parsed chunk through loguru at DEBUG level.
logger.disable("androguard")

TM = "Landroid/telephony/TelephonyManager;"
DEMO = "Lcn/piscan/demo/"
UMENG = "Lcom/umeng/commonsdk/statistics/DeviceInfo;"


@dataclass(frozen=True)
class Loaded:
    """One APK opened with androguard."""

    apk: APK
    dx: Analysis


def _load(path: Path) -> Loaded:
    apk, _dex, dx = AnalyzeAPK(str(path))
    return Loaded(apk, dx)


@pytest.fixture(scope="module")
def demo() -> Loaded:
    return _load(DEMO_APK)


@pytest.fixture(scope="module")
def xss() -> Loaded:
    return _load(XSS_APK)


def call_edges(dx: Analysis) -> set[tuple[str, str, str, str]]:
    """(caller class, caller method, callee class, callee method) for every call in the app."""
    edges = set()
    for meth in dx.get_methods():
        if meth.is_external():
            continue
        for _cls, callee, _off in meth.get_xref_to():
            edges.add((meth.class_name, meth.name, callee.class_name, callee.name))
    return edges


def instructions(dx: Analysis) -> dict[str, list[tuple[str, str]]]:
    """Every app method ("Lcls;->name(desc)") mapped to its (opcode, operands) listing."""
    out = {}
    for meth in dx.get_methods():
        if meth.is_external():
            continue
        key = f"{meth.class_name}->{meth.name}{meth.descriptor}"
        out[key] = [(i.get_name(), i.get_output()) for i in meth.get_method().get_instructions()]
    return out


def dex_strings(dx: Analysis) -> set[str]:
    """All strings of the DEX string pool."""
    return set(dx.get_strings_analysis())


def label_by_locale(apk: APK) -> dict[str, str]:
    """The application label resolved per resource configuration ('' = default)."""
    arsc = apk.get_android_resources()
    ref = apk.get_attribute_value("application", "label")
    assert ref is not None and ref.startswith("@")
    resolved = arsc.get_resolved_res_configs(int(ref[1:], 16))
    return {cfg.get_language_and_region().strip("\x00"): value for cfg, value in resolved}


def facts(loaded: Loaded) -> dict[str, object]:
    """Everything a rebuild must reproduce: manifest, resources, classes and their code."""
    apk = loaded.apk
    arsc = apk.get_android_resources()
    return {
        "manifest": etree.tostring(apk.get_android_manifest_xml(), encoding="unicode"),
        "package": apk.get_package(),
        "version": (apk.get_androidversion_code(), apk.get_androidversion_name()),
        "sdk": (apk.get_min_sdk_version(), apk.get_target_sdk_version()),
        "permissions": sorted(apk.get_permissions()),
        "labels": label_by_locale(apk),
        "strings_xml": arsc.get_string_resources(apk.get_package()),
        "classes": sorted(c.name for c in loaded.dx.get_classes() if not c.is_external()),
        "code": instructions(loaded.dx),
        "signers": [c.sha256_fingerprint for c in apk.get_certificates()],
    }


# --- the committed demo APK ------------------------------------------------------------


def test_demo_manifest_identity(demo: Loaded) -> None:
    apk = demo.apk
    assert apk.get_package() == "cn.piscan.demo"
    assert apk.get_androidversion_name() == "1.0.0"
    assert apk.get_androidversion_code() == "1"
    assert apk.get_min_sdk_version() == "21"
    assert apk.get_target_sdk_version() == "30"
    assert label_by_locale(apk) == {"": "PIScan Demo", "zh-rCN": "PIScan 演示"}
    assert apk.get_attribute_value("application", "name") == "cn.piscan.demo.DemoApplication"
    assert apk.get_attribute_value("application", "usesCleartextTraffic") == "true"


def test_demo_permissions(demo: Loaded) -> None:
    assert sorted(demo.apk.get_permissions()) == [
        "android.permission.ACCESS_FINE_LOCATION",
        "android.permission.ACCESS_WIFI_STATE",
        "android.permission.INTERNET",
        "android.permission.QUERY_ALL_PACKAGES",
        "android.permission.READ_CONTACTS",
        "android.permission.READ_PHONE_STATE",
        "android.permission.RECEIVE_BOOT_COMPLETED",
    ]


def test_demo_components(demo: Loaded) -> None:
    apk = demo.apk
    assert apk.get_main_activity() == "cn.piscan.demo.MainActivity"
    assert apk.get_activities() == ["cn.piscan.demo.MainActivity"]
    assert apk.get_receivers() == ["cn.piscan.demo.BootReceiver"]
    assert apk.get_intent_filters("receiver", "cn.piscan.demo.BootReceiver") == {
        "action": ["android.intent.action.BOOT_COMPLETED"]
    }
    assert apk.get_providers() == ["cn.piscan.demo.DataProvider"]
    provider = "cn.piscan.demo.DataProvider"
    assert apk.get_attribute_value("provider", "exported", name=provider) == "true"
    authority = apk.get_attribute_value("provider", "authorities", name=provider)
    assert authority == "cn.piscan.demo.data"
    assert apk.get_services() == []


def test_demo_umeng_meta_data(demo: Loaded) -> None:
    apk = demo.apk
    assert apk.get_attribute_value("meta-data", "value", name="UMENG_APPKEY") == (
        "5f0000000000000000000000"
    )
    assert apk.get_attribute_value("meta-data", "value", name="UMENG_CHANNEL") == "piscan-demo"


def test_demo_classes(demo: Loaded) -> None:
    classes = sorted(c.name for c in demo.dx.get_classes() if not c.is_external())
    assert classes == [
        "Lcn/piscan/demo/BootReceiver;",
        "Lcn/piscan/demo/DataProvider;",
        "Lcn/piscan/demo/DemoApplication;",
        "Lcn/piscan/demo/DeviceHelper;",
        "Lcn/piscan/demo/MainActivity;",
        "Lcn/piscan/demo/StatClient;",
        "Lcom/umeng/commonsdk/statistics/DeviceInfo;",
    ]


def test_demo_imei_read_directly_and_through_helper(demo: Loaded) -> None:
    edges = call_edges(demo.dx)
    app, helper = DEMO + "DemoApplication;", DEMO + "DeviceHelper;"
    assert (app, "onCreate", TM, "getDeviceId") in edges
    assert (helper, "readImei", TM, "getDeviceId") in edges
    assert (app, "onCreate", helper, "readImei") in edges
    assert (DEMO + "BootReceiver;", "onReceive", helper, "readImei") in edges
    callers = sorted((c, m) for c, m, cc, cm in edges if (cc, cm) == (TM, "getDeviceId"))
    assert callers == [(app, "onCreate"), (helper, "readImei")]


def test_demo_android_id_with_const_string(demo: Loaded) -> None:
    code = instructions(demo.dx)[DEMO + "DemoApplication;->onCreate()V"]
    const_idx = code.index(("const-string", 'v3, "android_id"'))
    call = next(i for i, (op, args) in enumerate(code) if "Settings$Secure;->getString(" in args)
    assert code[call][0] == "invoke-static"
    assert code[call][1].startswith("v0, v3, Landroid/provider/Settings$Secure;->getString(")
    assert const_idx < call


def test_demo_umeng_reads_mac_from_application(demo: Loaded) -> None:
    edges = call_edges(demo.dx)
    assert (UMENG, "getMac", "Landroid/net/wifi/WifiManager;", "getConnectionInfo") in edges
    assert (UMENG, "getMac", "Landroid/net/wifi/WifiInfo;", "getMacAddress") in edges
    assert (DEMO + "DemoApplication;", "onCreate", UMENG, "getMac") in edges
    mac_callers = {(c, m) for c, m, cc, cm in edges if cm == "getMacAddress"}
    assert mac_callers == {(UMENG, "getMac")}


def test_demo_activity_reads_apps_and_contacts(demo: Loaded) -> None:
    edges = call_edges(demo.dx)
    act = DEMO + "MainActivity;"
    assert (act, "onCreate", "Landroid/content/pm/PackageManager;", "getInstalledPackages") in edges
    assert (act, "onCreate", "Landroid/content/ContentResolver;", "query") in edges
    code = instructions(demo.dx)[act + "->onCreate(Landroid/os/Bundle;)V"]
    assert (
        "sget-object",
        "v1, Landroid/provider/ContactsContract$Contacts;->CONTENT_URI Landroid/net/Uri;",
    ) in code
    assert ("invoke-virtual", "v0, v1, Landroid/content/pm/PackageManager;"
            "->getInstalledPackages(I)Ljava/util/List;") in code


def test_demo_provider_reads_location(demo: Loaded) -> None:
    edges = call_edges(demo.dx)
    assert (
        DEMO + "DataProvider;", "onCreate",
        "Landroid/location/LocationManager;", "getLastKnownLocation",
    ) in edges
    code = instructions(demo.dx)[DEMO + "DataProvider;->onCreate()Z"]
    assert ("const-string", 'v1, "gps"') in code


def test_demo_urls_and_email(demo: Loaded) -> None:
    strings = dex_strings(demo.dx)
    assert "http://stat.piscan-demo.cn/collect?imei=" in strings
    assert "https://api.piscan-demo.cn/v1/privacy/consent" in strings
    collect_url = DEMO + "StatClient;->collectUrl(Ljava/lang/String;)Ljava/lang/String;"
    code = instructions(demo.dx)[collect_url]
    assert ("const-string", 'v1, "http://stat.piscan-demo.cn/collect?imei="') in code
    res = demo.apk.get_android_resources().get_string_resources("cn.piscan.demo").decode()
    assert '<string name="privacy_contact">privacy@piscan-demo.cn</string>' in res
    assert "https://www.piscan-demo.cn/privacy.html" in res


def test_demo_is_signed_with_the_committed_test_key(demo: Loaded) -> None:
    apk = demo.apk
    assert apk.is_signed_v1() and apk.is_signed_v2()
    subjects = [dict(c.subject.native) for c in apk.get_certificates()]
    assert subjects == [{
        "common_name": "PIScan Demo Test Key",
        "organizational_unit_name": "Test Only",
        "organization_name": "PIScan",
        "country_name": "CN",
    }]


# --- the committed XSS APK -------------------------------------------------------------


def test_xss_manifest_payloads(xss: Loaded) -> None:
    apk = xss.apk
    assert apk.get_package() == "cn.piscan.xss"
    assert apk.get_app_name() == "<script>document.title='XSS'</script>"
    assert apk.get_androidversion_name() == "1.0.0<b>x</b>"
    assert apk.get_attribute_value("meta-data", "value", name="XSS_META") == (
        "<script>alert('meta-data')</script>"
    )
    assert apk.get_attribute_value("meta-data", "value", name="UMENG_CHANNEL") == (
        '"><img src=x onerror=alert(2)>'
    )
    assert sorted(apk.get_permissions()) == [
        "android.permission.INTERNET", "android.permission.READ_PHONE_STATE",
    ]


def test_xss_resource_payloads(xss: Loaded) -> None:
    res = xss.apk.get_android_resources().get_string_resources("cn.piscan.xss").decode()
    assert '<string name="img_payload"><![CDATA["><img src=x onerror=alert(1)>]]></string>' in res
    assert '<string name="svg_url"><![CDATA[http://evil.example/<svg onload=alert(1)>]]>' in res
    assert 'javascript:alert(1)">privacy@evil.example</a>' in res


def test_xss_dex_payloads(xss: Loaded) -> None:
    strings = dex_strings(xss.dx)
    for payload in (
        "<script>document.title='XSS'</script>",
        '"><img src=x onerror=alert(1)>',
        "http://evil.example/<svg onload=alert(1)>?imei=",
        "</script><script>alert(document.domain)</script>",
        "javascript:alert(1)",
        "{{7*7}}${7*7}",
        'https://evil.example/path?q="><script>alert(3)</script>',
        'cn.piscan.xss.Loader"onmouseover="alert(4)',
    ):
        assert payload in strings, payload
    edges = call_edges(xss.dx)
    assert ("Lcn/piscan/xss/XssApplication;", "onCreate", TM, "getDeviceId") in edges
    assert ("Lcn/piscan/xss/MainActivity;", "onCreate", "Ljava/lang/Class;", "forName") in edges


# --- rebuild from the committed sources -----------------------------------------------


def _require_build_tools() -> None:
    if shutil.which("apktool") is None:
        pytest.skip("apktool not installed (Debian package apktool)")
    for tool, package in (("zipalign", "zipalign"), ("apksigner", "apksigner")):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (Debian package {package})")
    if not FRAMEWORK_RES.is_file():
        pytest.skip(
            "android framework-res.apk not installed (Debian package android-framework-res)"
        )


def _tree_listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("script", "project", "committed"),
    [
        pytest.param(DEMO_BUILD, DEMO_PROJECT, DEMO_APK, id="demo"),
        pytest.param(XSS_BUILD, XSS_PROJECT, XSS_APK, id="xss"),
    ],
)
def test_rebuild_matches_committed(script: Path, project: Path, committed: Path,
                                   tmp_path: Path) -> None:
    _require_build_tools()
    before = _tree_listing(project)
    out = tmp_path / "rebuilt.apk"
    # build_xss_apk.sh fixes its project dir and takes only the output path
    args = [str(script), str(out)] if script == XSS_BUILD else [str(script), str(project), str(out)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert _tree_listing(project) == before, "the build wrote into the committed project"
    rebuilt, original = facts(_load(out)), facts(_load(committed))
    for key in original:
        assert rebuilt[key] == original[key], key


def test_build_script_rejects_a_non_project(tmp_path: Path) -> None:
    _require_build_tools()
    proc = subprocess.run([str(DEMO_BUILD), str(tmp_path), str(tmp_path / "x.apk")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"build_sample.sh: {tmp_path} is not an apktool project (no apktool.yml)"
    )
    assert not (tmp_path / "x.apk").exists()
