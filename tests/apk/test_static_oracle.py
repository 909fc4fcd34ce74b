"""collect_static on real APKs, with androguard's own APK API as the oracle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.testing.corpus import apk_params, corpus_apks, corpus_edge_apks
from scanner.apk.archive import open_apk
from scanner.apk.static import StaticFacts, collect_static
from scanner.result import add_limitation, dumps, new_result
from scanner.schema import validation_errors

ALL_APKS = apk_params(corpus_apks() + corpus_edge_apks())
KIND_ORACLE = {"activity": "get_activities", "service": "get_services", "receiver": "get_receivers",
               "provider": "get_providers"}


def _collect(path: Path) -> tuple[StaticFacts, object]:
    apk = open_apk(path)
    return collect_static(apk), apk.apk


def as_result(facts: StaticFacts, digests: dict) -> dict:
    result = new_result(command=["piscan", "scan", "x.apk"], inputs=[{"role": "apk", "name": "x.apk", **digests}],
                        reproducible=True)
    result["app"] = facts.app
    result["facts"].update(facts.sections)
    for limitation in facts.limitations:
        add_limitation(result, limitation)
    return result


@pytest.mark.corpus
@pytest.mark.parametrize("path", ALL_APKS)
def test_permissions_and_components_equal_androguard(path: Path) -> None:
    facts, oracle = _collect(path)
    perms = facts.sections["permissions"]
    declared = {p["name"] for p in perms if "uses-permission" in p["declared_as"]}
    assert declared == set(oracle.get_permissions())
    assert len({p["name"] for p in perms}) == len(perms)  # deduplicated
    for kind, method in KIND_ORACLE.items():
        ours = {c["name"] for c in facts.sections["components"] if c["kind"] == kind}
        assert ours == set(getattr(oracle, method)()), kind
    aliases = {c["name"] for c in facts.sections["components"] if c["kind"] == "activity-alias"}
    assert aliases == {a["name"] for a in oracle.get_activity_aliases() if "name" in a}
    custom = {c["name"] for c in facts.sections["custom_permissions"]}
    assert custom == set(oracle.get_declared_permissions())


@pytest.mark.corpus
@pytest.mark.parametrize("path", ALL_APKS)
def test_identity_equals_androguard_and_result_is_schema_valid(path: Path) -> None:
    facts, oracle = _collect(path)
    app = facts.app
    assert app["package"] == oracle.get_package()
    assert app["version_code"] == oracle.get_androidversion_code()
    name = oracle.get_androidversion_name()
    assert app["version_name"] == (name if name and not name.startswith("@") else app["version_name"])
    assert app["min_sdk"] == (int(oracle.get_min_sdk_version()) if oracle.get_min_sdk_version() else None)
    assert app["target_sdk"] == (int(oracle.get_target_sdk_version()) if oracle.get_target_sdk_version() else None)
    assert oracle.get_package() in app["first_party_prefixes"]
    signing = facts.sections["signing"]["schemes"]
    assert (signing["v1"], signing["v2"], signing["v3"]) == (oracle.is_signed_v1(), oracle.is_signed_v2(),
                                                             oracle.is_signed_v3())
    result = as_result(facts, open_apk(path).digests)
    assert validation_errors(result) == []


@pytest.mark.corpus
@pytest.mark.parametrize("path", apk_params(corpus_apks()[:4]))
def test_output_is_deterministic(path: Path) -> None:
    first, _ = _collect(path)
    second, _ = _collect(path)
    assert json.dumps([first.app, first.sections]) == json.dumps([second.app, second.sections])
    assert first.entry_points == second.entry_points


def test_sample_static_facts(sample_apk: Path) -> None:
    facts, _ = _collect(sample_apk)
    assert facts.app == {
        "platform": "android", "package": "cn.piscan.demo", "label": {"default": "PIScan Demo", "zh-CN": "PIScan 演示"},
        "version_name": "1.0.0", "version_code": "1", "min_sdk": 21, "target_sdk": 30, "compile_sdk": 29,
        "max_sdk": None, "application_class": "cn.piscan.demo.DemoApplication",
        "first_party_prefixes": ["cn.piscan.demo"], "input_note": None,
    }
    assert facts.entry_points.to_json() == {"application": "cn.piscan.demo.DemoApplication",
                                            "providers": ["cn.piscan.demo.DataProvider"],
                                            "boot_receivers": ["cn.piscan.demo.BootReceiver"]}
    manifest = facts.sections["manifest"]
    assert manifest["query_all_packages"] is True
    assert (manifest["uses_cleartext_traffic"], manifest["uses_cleartext_traffic_explicit"]) == (True, True)
    assert {"name": "UMENG_APPKEY", "value": "5f0000000000000000000000"} in manifest["meta_data"]
    assert manifest["launcher_activities"] == ["cn.piscan.demo.MainActivity"]
    provider = next(c for c in facts.sections["components"] if c["kind"] == "provider")
    assert (provider["exported"], provider["runs_before_ui"], provider["before_ui_reason"]) == (True, True, "provider")
    contacts = next(p for p in facts.sections["permissions"] if p["name"] == "android.permission.READ_CONTACTS")
    assert (contacts["protection_level"], contacts["pi_types"], contacts["known"]) == ("dangerous", ["contacts"], True)
    assert facts.packs[0]["pack_id"] == "android-permissions"
    assert validation_errors(as_result(facts, open_apk(sample_apk).digests)) == []
    assert dumps(as_result(facts, open_apk(sample_apk).digests)).endswith("}\n")


def corpus_apk(corpus: Path, name: str) -> Path:
    return corpus / "apk" / name


@pytest.mark.corpus
def test_zh_cn_and_chinese_default_labels(corpus: Path) -> None:
    lean, _ = _collect(corpus_apk(corpus, "exodus-leaninstapaper.apk"))
    assert lean.app["label"] == {"default": "Lean for Instapaper", "zh-CN": "Lean for Instapaper"}  # values-zh-rCN
    jbox, _ = _collect(corpus_apk(corpus, "jpush-jbox-app-release.apk"))
    assert jbox.app["label"] == {"default": "极光宝盒", "zh-CN": "极光宝盒"}
    yosemite, _ = _collect(corpus_apk(corpus, "airtest-yosemite-1.1.0.449.apk"))
    assert yosemite.app["label"] == {"default": "Yosemite", "zh-CN": None}


@pytest.mark.corpus
def test_sdk_keys_native_libs_and_custom_permissions(corpus: Path) -> None:
    jbox, _ = _collect(corpus_apk(corpus, "jpush-jbox-app-release.apk"))
    manifest = jbox.sections["manifest"]
    assert {"name": "JPUSH_APPKEY", "value": "1c29cb5814072b5b1f8ef829"} in manifest["meta_data"]
    assert manifest["native_libs"] == {"armeabi": ["libjpush219.so"], "x86": ["libjpush219.so"],
                                       "x86_64": ["libjpush219.so"]}
    assert jbox.sections["custom_permissions"] == [{"id": "customperm:com.jiguang.jbox.permission.JPUSH_MESSAGE",
                                                    "name": "com.jiguang.jbox.permission.JPUSH_MESSAGE",
                                                    "protection_level": "signature"}]
    weather, _ = _collect(corpus_apk(corpus, "umeng-crossweather-qwe.apk"))
    keys = {m["name"]: m["value"] for m in weather.sections["manifest"]["meta_data"]}
    assert keys["UMENG_APPKEY"] == "4f6ac49e5270157cb6000017" and keys["CNZZ_APP_KEY"] == "1e01193fbb25215f0d5fabc7"
    # minSdk 4, no targetSdk: cleartext allowed by default, providers exported by default
    assert weather.sections["manifest"]["uses_cleartext_traffic"] is True
    assert weather.sections["manifest"]["uses_cleartext_traffic_explicit"] is False


@pytest.mark.corpus
def test_network_security_config_and_queries(corpus: Path) -> None:
    project, _ = _collect(corpus_apk(corpus, "getactivity-androidproject-2019-09.apk"))
    assert project.sections["manifest"]["network_security_config"] == {
        "file": "res/xml/network_security_config.xml", "base_cleartext_permitted": True,
        "cleartext_permitted_domains": [], "user_certs_trusted": False,
    }
    appium, _ = _collect(corpus_apk(corpus, "appium-uiautomator2-server-v10.6.6.apk"))
    assert appium.sections["manifest"]["query_all_packages"] is True
    assert "androidx.test.orchestrator" in appium.sections["manifest"]["queries"]["packages"]


@pytest.mark.corpus
def test_entry_points_of_real_apps(corpus: Path) -> None:
    bugly, _ = _collect(corpus_apk(corpus, "bugly-hotfix-demo-release.apk"))
    assert bugly.entry_points.application == "com.tencent.bugly.hotfix.SampleApplication"
    assert "com.tencent.bugly.beta.utils.BuglyFileProvider" in bugly.entry_points.providers
    blood, _ = _collect(corpus_apk(corpus, "exodus-blooddonation.apk"))
    boot = [c for c in blood.sections["components"] if c["before_ui_reason"] == "boot_receiver"]
    assert boot and all(c["kind"] == "receiver" for c in boot)
    assert any("android.intent.action.BOOT_COMPLETED" in f["actions"] for c in boot for f in c["intent_filters"])


@pytest.mark.corpus
def test_endpoints_from_resources_and_assets(corpus: Path) -> None:
    hello, _ = _collect(corpus_apk(corpus, "jpush-hbuilder-hello.apk"))
    by_value = {e["value"]: e for e in hello.sections["endpoints"]}
    update = by_value["http://d.m3w.cn/helloh5p/HelloH5.apk"]
    assert update["cleartext"] is True
    assert update["sources"] == [{"file": "assets/apps/H51423BFB/www/js/update.json", "kind": "asset"}]
    assert "yanyilin@dcloud.io" in by_value
    assert not any(e["kind"] == "host" and e["value"] in ("plus.os.name", "this.id") for e in hello.sections["endpoints"])
    jbox, _ = _collect(corpus_apk(corpus, "jpush-jbox-app-release.apk"))
    assert {e["value"] for e in jbox.sections["endpoints"]} >= {"https://jbox.jiguang.cn/v1/developers/%s"}


@pytest.mark.corpus
def test_edge_cases(corpus: Path) -> None:
    dup, _ = _collect(corpus / "apk" / "edge" / "duplicate.permisssions_9999999.apk")
    # the manifest lists INTERNET twice; WRITE_EXTERNAL_STORAGE only up to API 18
    internet = [p for p in dup.sections["permissions"] if p["name"] == "android.permission.INTERNET"]
    assert len(internet) == 1 and internet[0]["declared_as"] == ["uses-permission"]
    storage = next(p for p in dup.sections["permissions"] if p["name"] == "android.permission.WRITE_EXTERNAL_STORAGE")
    assert (storage["max_sdk_version"], storage["applies"]) == (18, False)
    sdk23 = {p["name"]: p for p in dup.sections["permissions"] if "uses-permission-sdk-23" in p["declared_as"]}
    assert sdk23["android.permission.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS"]["max_sdk_version"] == 27
    assert sdk23["android.permission.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS"]["applies"] is True  # 27 >= target 27
    assert dup.app["version_name"] is None
    souch, _ = _collect(corpus / "apk" / "edge" / "souch.smsbypass_9.apk")
    assert souch.app["version_name"] == "0.9"  # @7F050007 resolved from resources.arsc
    assert souch.app["max_sdk"] == 18  # uses-sdk maxSdkVersion="@7F050022"
    unsigned, _ = _collect(corpus / "apk" / "edge" / "no_targetsdk_minsdk1_unsigned.apk")
    assert (unsigned.app["min_sdk"], unsigned.app["target_sdk"]) == (1, None)
    assert unsigned.sections["signing"]["certificates"] == []
