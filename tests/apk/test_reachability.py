"""Pre-UI reachability: BFS over the call graph from Application / provider / boot entry points."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.apk.catalogue import default_catalogue
from scanner.apk.code import analyse_code, load_dex_index
from tests.apk.test_callsites import synthetic_dex  # noqa: F401 - the smali-built fixture
from scanner.testing.corpus import ZipEntries, apk_params, corpus_apks


@dataclass
class _Entries:
    application: str | None
    providers: tuple[str, ...] = ()
    boot_receivers: tuple[str, ...] = ()


class _OneDex:
    def __init__(self, data: bytes) -> None:
        self.entries = ("AndroidManifest.xml", "classes.dex")
        self._data = data

    def read(self, name: str) -> bytes:
        return self._data


def _owner(cls: str) -> dict[str, object]:
    return {"kind": "first_party" if cls.startswith("com.x.") else "unknown", "sdk_id": None, "sdk_name": None, "vendor": None}


def test_reachability_paths_from_application_oncreate(synthetic_dex: object) -> None:
    index = load_dex_index(_OneDex(synthetic_dex.data))  # type: ignore[attr-defined]
    facts = analyse_code(index, default_catalogue(), _Entries("com.x.App"), _owner)
    calls = {c["api_id"]: c for c in facts.sections["api_calls"]}
    imei = calls["telephony.getDeviceId"]
    assert imei["id"] == "api:classes.dex:Lcom/x/Util;->id(Landroid/content/Context;)Ljava/lang/String;@0x8"
    assert imei["pi_types"] == ["imei"] and imei["owner"]["kind"] == "first_party"
    assert imei["reachable_before_ui"] is True
    assert imei["reach_entry"] == "com.x.App.onCreate"
    assert imei["reach_path"] == ["com.x.App.onCreate()V", "com.x.Util.id(Landroid/content/Context;)Ljava/lang/String;"]
    assert calls["settings.secure.getString.android_id"]["reachable_before_ui"] is True
    assert calls["build.SERIAL"]["reach_path"] == ["com.x.App.onCreate()V", "com.x.Impl.run()V"]  # interface CHA
    assert calls["telephony.getSubscriberId"]["reachable_before_ui"] is False
    assert calls["telephony.getSubscriberId"]["reach_path"] is None
    reach = facts.sections["reachability"]
    assert reach["computed"] is True and reach["bound_hit"] is False
    assert reach["entry_points"] == ["com.x.App.<init>()V", "com.x.App.onCreate()V"]
    assert facts.limitations == []


def test_bound_hit_makes_reachability_unknown(synthetic_dex: object) -> None:
    index = load_dex_index(_OneDex(synthetic_dex.data))  # type: ignore[attr-defined]
    facts = analyse_code(index, default_catalogue(), _Entries("com.x.App"), _owner, max_methods=1)
    assert facts.sections["reachability"]["bound_hit"] is True
    assert {c["reachable_before_ui"] for c in facts.sections["api_calls"]} == {None}
    assert [lim.kind for lim in facts.limitations] == ["reachability_bound"]




@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params([p for p in corpus_apks() if p.name == "getactivity-androidproject-2019-09.apk"]))
def test_umeng_init_reads_processes_before_ui(apk: Path) -> None:
    """MyApplication.onCreate -> initSDK -> UmengClient.init -> UMConfigure.init -> UMFrUtils."""
    entries = _Entries("com.hjq.demo.common.MyApplication",
                       ("androidx.core.content.FileProvider", "cat.ereza.customactivityoncrash.provider.CaocInitProvider"))
    facts = analyse_code(load_dex_index(ZipEntries(apk)), default_catalogue(), entries, _owner)
    site = next(c for c in facts.sections["api_calls"]
                if c["api_id"] == "activitymanager.getRunningAppProcesses"
                and c["caller"]["class"] == "com.umeng.commonsdk.framework.UMFrUtils"
                and c["caller"]["method"] == "getCurrentProcessName")
    assert site["reachable_before_ui"] is True
    assert site["reach_entry"] == "com.hjq.demo.common.MyApplication.onCreate"
    assert site["reach_path"] == [
        "com.hjq.demo.common.MyApplication.onCreate()V",
        "com.hjq.demo.common.MyApplication.initSDK(Landroid/app/Application;)V",
        "com.hjq.umeng.UmengClient.init(Landroid/app/Application;)V",
        "com.umeng.commonsdk.UMConfigure.init(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;)V",
        "com.umeng.commonsdk.framework.UMFrUtils.getCurrentProcessName(Landroid/content/Context;)Ljava/lang/String;",
    ]
    reach = facts.sections["reachability"]
    assert reach["entry_points"][:3] == ["com.hjq.demo.common.MyApplication.<init>()V",
                                         "com.hjq.demo.common.MyApplication.attachBaseContext(Landroid/content/Context;)V",
                                         "com.hjq.demo.common.MyApplication.onCreate()V"]
    assert reach["bound_hit"] is False and reach["methods"] > 1000


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params([p for p in corpus_apks() if p.name == "appium-uiautomator2-server-v10.6.6.apk"]))
def test_no_entry_points_means_nothing_reachable(apk: Path) -> None:
    facts = analyse_code(load_dex_index(ZipEntries(apk)), default_catalogue(), _Entries(None), _owner)
    reach = facts.sections["reachability"]
    assert reach["computed"] is True and reach["entry_points"] == [] and reach["methods"] == 0
    assert reach["reason"].startswith("no pre-UI entry point")
    assert {c["reachable_before_ui"] for c in facts.sections["api_calls"]} == {False}


def test_sample_apk_imei_and_android_id_before_ui(sample_apk: Path) -> None:
    """The demo app reads the IMEI and the Android ID from DemoApplication.onCreate."""
    entries = _Entries("cn.piscan.demo.DemoApplication", ("cn.piscan.demo.DataProvider",), ("cn.piscan.demo.BootReceiver",))
    facts = analyse_code(load_dex_index(ZipEntries(sample_apk)), default_catalogue(), entries, _owner)
    by_caller = {(c["api_id"], c["caller"]["class"], c["caller"]["method"]): c for c in facts.sections["api_calls"]}
    aid = by_caller[("settings.secure.getString.android_id", "cn.piscan.demo.DemoApplication", "onCreate")]
    assert (aid["argument"], aid["reachable_before_ui"], aid["reach_entry"]) == ("android_id", True, "cn.piscan.demo.DemoApplication.onCreate")
    assert aid["reach_path"] == ["cn.piscan.demo.DemoApplication.onCreate()V"]
    imei = by_caller[("telephony.getDeviceId", "cn.piscan.demo.DeviceHelper", "readImei")]
    assert imei["reachable_before_ui"] is True and imei["reach_entry"] == "cn.piscan.demo.DemoApplication.onCreate"
    assert imei["reach_path"] == ["cn.piscan.demo.DemoApplication.onCreate()V",
                                  "cn.piscan.demo.DeviceHelper.readImei(Landroid/content/Context;)Ljava/lang/String;"]
    apps = by_caller[("packagemanager.getInstalledPackages", "cn.piscan.demo.MainActivity", "onCreate")]
    assert apps["reachable_before_ui"] is False and apps["reach_path"] is None


def test_sections_match_the_schema_fragments(sample_apk: Path) -> None:
    import jsonschema

    from scanner.schema import result_schema

    entries = _Entries("cn.piscan.demo.DemoApplication", ("cn.piscan.demo.DataProvider",))
    facts = analyse_code(load_dex_index(ZipEntries(sample_apk)), default_catalogue(), entries, _owner)
    parts = result_schema()["properties"]["facts"]["properties"]
    for section in ("api_calls", "reachability", "dex"):
        jsonschema.Draft202012Validator(parts[section]).validate(facts.sections[section])
    calls = facts.sections["api_calls"]
    ids = [c["id"] for c in calls]
    assert len(ids) == len(set(ids))
    order = [(c["api_id"], c["caller"]["class"], c["caller"]["method"], c["dex"], c["offset"]) for c in calls]
    assert order == sorted(order)
