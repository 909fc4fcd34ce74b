"""parse_manifest and parse_network_security_config on decoded manifest trees."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from scanner.apk.archive import open_apk
from scanner.apk.labels import ResourceTable
from scanner.apk.manifest import (
    Manifest,
    class_name,
    parse_manifest,
    parse_network_security_config,
    protection_level_name,
)
from scanner.apk.permissions import UsesPermission

NS = 'xmlns:android="http://schemas.android.com/apk/res/android"'


def parse(body: str, sdk: str = '<uses-sdk android:minSdkVersion="21" android:targetSdkVersion="30"/>',
          app_attrs: str = "") -> Manifest:
    text = f'<manifest {NS} package="com.example.app">{sdk}{body.split("<application>")[0]}' \
           f'<application {app_attrs}>{body.split("<application>")[1] if "<application>" in body else ""}</application></manifest>'
    return parse_manifest(etree.fromstring(text), ResourceTable(None))


def component(manifest: Manifest, kind: str, name: str):
    return next(c for c in manifest.components if c.kind == kind and c.name == name)


@pytest.mark.parametrize(
    ("kind", "exported_attr", "with_filter", "sdk", "expected"),
    [
        ("activity", 'android:exported="false"', True, (21, 30), (False, "explicit")),
        ("activity", 'android:exported="true"', False, (21, 30), (True, "explicit")),
        ("activity", "", True, (21, 30), (True, "intent-filter")),
        ("activity", "", False, (21, 30), (False, "default")),
        ("service", "", True, (21, 30), (True, "intent-filter")),
        ("receiver", "", False, (21, 30), (False, "default")),
        ("activity-alias", "", True, (21, 30), (True, "intent-filter")),
        ("provider", "", False, (21, 30), (False, "default")),
        ("provider", "", False, (8, 16), (True, "default")),
        ("provider", "", False, (16, 30), (True, "default")),  # minSdk <= 16 is enough
        ("provider", "", False, (17, None), (False, "default")),  # targetSdk defaults to minSdk
        ("provider", "", False, (None, None), (True, "default")),  # minSdk defaults to 1
        ("provider", 'android:exported="false"', False, (8, 16), (False, "explicit")),
        ("provider", "", True, (21, 30), (False, "default")),  # filters do not export providers
    ],
)
def test_exported_is_computed_as_android_does(kind, exported_attr, with_filter, sdk, expected) -> None:
    min_sdk, target_sdk = sdk
    attrs = (f'android:minSdkVersion="{min_sdk}" ' if min_sdk else "") + (
        f'android:targetSdkVersion="{target_sdk}"' if target_sdk else "")
    flt = '<intent-filter><action android:name="com.example.GO"/></intent-filter>' if with_filter else ""
    extra = ' android:targetActivity=".Main"' if kind == "activity-alias" else ""
    authorities = ' android:authorities="com.example.p"' if kind == "provider" else ""
    m = parse(f'<application><{kind} android:name=".X" {exported_attr}{extra}{authorities}>{flt}</{kind}>',
              sdk=f"<uses-sdk {attrs}/>")
    c = component(m, kind, "com.example.app.X")
    assert (c.exported, c.exported_reason) == expected


def test_class_names_are_made_absolute() -> None:
    assert class_name("com.example.app", ".ui.Main") == "com.example.app.ui.Main"
    assert class_name("com.example.app", "Main") == "com.example.app.Main"
    assert class_name("com.example.app", "org.other.Main") == "org.other.Main"


def test_uses_permissions_are_merged_with_max_sdk_and_sdk23() -> None:
    m = parse(
        '<uses-permission android:name="android.permission.CAMERA"/>'
        '<uses-permission android:name="android.permission.CAMERA"/>'
        '<uses-permission android:name="android.permission.READ_EXTERNAL_STORAGE" android:maxSdkVersion="28"/>'
        '<uses-permission android:name="android.permission.WRITE_EXTERNAL_STORAGE" android:maxSdkVersion="18"/>'
        '<uses-permission android:name="android.permission.WRITE_EXTERNAL_STORAGE"/>'
        '<uses-permission-sdk-23 android:name="android.permission.ACCESS_FINE_LOCATION"/>'
        '<uses-permission-sdk-23 android:name="android.permission.CAMERA"/>'
        "<application>"
    )
    assert m.uses_permissions == (
        UsesPermission("android.permission.ACCESS_FINE_LOCATION", None, ("uses-permission-sdk-23",)),
        UsesPermission("android.permission.CAMERA", None, ("uses-permission", "uses-permission-sdk-23")),
        UsesPermission("android.permission.READ_EXTERNAL_STORAGE", 28, ("uses-permission",)),
        # one entry without a limit means no limit
        UsesPermission("android.permission.WRITE_EXTERNAL_STORAGE", None, ("uses-permission",)),
    )


def test_components_entry_points_and_intent_filters() -> None:
    m = parse(
        '<application>'
        '<activity android:name=".Main"><intent-filter>'
        '<action android:name="android.intent.action.MAIN"/><category android:name="android.intent.category.LAUNCHER"/>'
        "</intent-filter></activity>"
        '<activity android:name=".Main"/>'  # duplicate: Android keeps the first
        '<activity android:name=".Share"><intent-filter><action android:name="android.intent.action.SEND"/>'
        '<data android:mimeType="image/*"/><data android:scheme="https" android:host="example.com" android:pathPrefix="/s"/>'
        "</intent-filter></activity>"
        '<receiver android:name="com.sdk.push.BootReceiver" android:permission="com.sdk.push.P"><intent-filter>'
        '<action android:name="android.intent.action.BOOT_COMPLETED"/></intent-filter></receiver>'
        '<receiver android:name=".Off" android:enabled="false"><intent-filter>'
        '<action android:name="android.intent.action.USER_PRESENT"/></intent-filter></receiver>'
        '<receiver android:name=".Other"><intent-filter><action android:name="com.example.PING"/></intent-filter></receiver>'
        '<provider android:name=".Data" android:authorities="com.example.a;com.example.b" android:exported="true"/>'
        '<service android:name=".Sync"/>',
        app_attrs='android:name=".App"',
    )
    kinds = [(c.kind, c.name) for c in m.components]
    assert kinds == sorted(kinds) and kinds.count(("activity", "com.example.app.Main")) == 1
    app = component(m, "application", "com.example.app.App")
    assert (app.runs_before_ui, app.before_ui_reason) == (True, "application")
    share = component(m, "activity", "com.example.app.Share")
    assert share.intent_filters[0].to_json() == {
        "actions": ["android.intent.action.SEND"], "categories": [],
        "data": ["mimeType=image/*", "scheme=https host=example.com pathPrefix=/s"],
    }
    boot = component(m, "receiver", "com.sdk.push.BootReceiver")
    assert (boot.runs_before_ui, boot.before_ui_reason, boot.permission) == (True, "boot_receiver", "com.sdk.push.P")
    assert component(m, "receiver", "com.example.app.Off").runs_before_ui is False  # disabled
    assert component(m, "receiver", "com.example.app.Other").runs_before_ui is False
    data = component(m, "provider", "com.example.app.Data")
    assert data.authorities == ("com.example.a", "com.example.b")
    assert (data.runs_before_ui, data.before_ui_reason) == (True, "provider")
    assert component(m, "service", "com.example.app.Sync").to_json()["id"] == "component:service:com.example.app.Sync"
    assert m.launcher_activities == ("com.example.app.Main",)
    assert m.application_class == "com.example.app.App"


def test_disabled_application_runs_nothing_before_ui() -> None:
    m = parse('<application><provider android:name=".P" android:authorities="x"/>',
              app_attrs='android:name=".App" android:enabled="false"')
    assert all(not c.runs_before_ui and not c.enabled for c in m.components)


def test_flags_queries_meta_data_and_custom_permissions() -> None:
    m = parse(
        '<permission android:name="com.example.app.PUSH" android:protectionLevel="0x00000012"/>'
        '<permission android:name="com.example.app.OPEN"/>'
        '<queries><package android:name="com.tencent.mm"/><package android:name="com.eg.android.AlipayGphone"/>'
        '<intent><action android:name="android.intent.action.VIEW"/><data android:scheme="https"/></intent>'
        '<provider android:authorities="com.other.provider"/></queries>'
        '<application><meta-data android:name="UMENG_APPKEY" android:value="5f00abc"/>'
        '<meta-data android:name="JPUSH_CHANNEL" android:value="developer-default"/>',
        app_attrs='android:debuggable="true" android:allowBackup="false" android:usesCleartextTraffic="false"',
    )
    assert (m.debuggable, m.allow_backup, m.uses_cleartext_traffic) == (True, False, False)
    assert m.custom_permissions == (("com.example.app.OPEN", "normal"), ("com.example.app.PUSH", "signature|privileged"))
    assert m.queries == {
        "packages": ["com.eg.android.AlipayGphone", "com.tencent.mm"],
        "intents": ["action=android.intent.action.VIEW scheme=https"],
        "providers": ["com.other.provider"],
    }
    assert m.meta_data == (("JPUSH_CHANNEL", "developer-default"), ("UMENG_APPKEY", "5f00abc"))


def test_defaults_when_flags_are_absent() -> None:
    m = parse("<application>", sdk='<uses-sdk android:minSdkVersion="9"/>')
    assert (m.debuggable, m.allow_backup, m.uses_cleartext_traffic) == (False, True, None)
    assert (m.sdk.min_sdk, m.sdk.target_sdk, m.sdk.effective_target) == (9, None, 9)


@pytest.mark.parametrize(
    ("value", "name"),
    [(None, "normal"), ("0x00000000", "normal"), ("0x00000001", "dangerous"), ("0x00000002", "signature"),
     ("0x00000003", "signatureOrSystem"), ("0x00000012", "signature|privileged"),
     ("0x04000002", "signature|role"), ("signature", "signature")],
)
def test_protection_level_names(value, name) -> None:
    assert protection_level_name(value) == name


def test_unresolved_references_are_recorded() -> None:
    text = (f'<manifest {NS} package="a.b" android:versionName="@7F050007"><uses-sdk android:minSdkVersion="8"/>'
            "<application/></manifest>")
    m = parse_manifest(etree.fromstring(text), ResourceTable(None))
    assert m.version_name is None
    assert m.unresolved == ("manifest@versionName=@7F050007",)


def test_sample_manifest(sample_apk: Path) -> None:
    apk = open_apk(sample_apk)
    m = parse_manifest(apk.apk.get_android_manifest_xml(), ResourceTable(apk.apk))
    assert (m.package, m.version_name, m.version_code) == ("cn.piscan.demo", "1.0.0", "1")
    assert (m.sdk.min_sdk, m.sdk.target_sdk) == (21, 30)
    provider = component(m, "provider", "cn.piscan.demo.DataProvider")
    assert provider.exported and provider.exported_reason == "explicit"
    assert provider.authorities == ("cn.piscan.demo.data",)
    assert ("UMENG_APPKEY", "5f0000000000000000000000") in m.meta_data


NSC = """<network-security-config>
  <base-config cleartextTrafficPermitted="{base}"><trust-anchors><certificates src="system"/></trust-anchors></base-config>
  <domain-config cleartextTrafficPermitted="true">
    <domain includeSubdomains="true">Api.Example.com</domain>
    <domain>log.example.cn</domain>
    <domain-config><domain>nested.example.com</domain></domain-config>
    <domain-config cleartextTrafficPermitted="false"><domain>secure.example.com</domain></domain-config>
  </domain-config>
  <domain-config><domain>plain.example.org</domain><trust-anchors><certificates src="user"/></trust-anchors></domain-config>
  <debug-overrides><trust-anchors><certificates src="user"/></trust-anchors></debug-overrides>
</network-security-config>"""


def test_network_security_config() -> None:
    root = etree.fromstring(NSC.format(base="false"))
    nsc = parse_network_security_config(root, "res/xml/nsc.xml", target_sdk=30, debuggable=False)
    assert nsc == {
        "file": "res/xml/nsc.xml",
        "base_cleartext_permitted": False,
        "cleartext_permitted_domains": ["api.example.com", "log.example.cn", "nested.example.com"],
        "user_certs_trusted": True,  # the plain.example.org domain-config trusts user CAs
    }


def test_network_security_config_defaults_and_debug_overrides() -> None:
    text = ('<network-security-config><domain-config><domain>a.example.com</domain></domain-config>'
            '<debug-overrides><trust-anchors><certificates src="user"/></trust-anchors></debug-overrides>'
            "</network-security-config>")
    old = parse_network_security_config(etree.fromstring(text), "f", target_sdk=27, debuggable=False)
    assert old["base_cleartext_permitted"] is True and old["cleartext_permitted_domains"] == ["a.example.com"]
    assert old["user_certs_trusted"] is False  # debug-overrides only count in debuggable builds
    new = parse_network_security_config(etree.fromstring(text), "f", target_sdk=28, debuggable=True)
    assert new["base_cleartext_permitted"] is False and new["cleartext_permitted_domains"] == []
    assert new["user_certs_trusted"] is True
