"""Reflective reads of catalogue APIs (issue 18): resolved when the method name is a constant,
counted as a limitation when it is computed. Real APKs: a corpus APK whose Umeng SDK reads the
IMEI through reflection, and the demo APK rebuilt from smali with reflective calls added."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scanner.cli import main
from scanner.testing.corpus import REPO

REFLECT = """.class public Lcn/piscan/demo/Reflect;
.super Ljava/lang/Object;

.field private static final NAME:Ljava/lang/String; = "getSubscriberId"

.field public static KEY:Ljava/lang/String;

.method static constructor <clinit>()V
    .registers 1
    const-string v0, "android_id"
    sput-object v0, Lcn/piscan/demo/Reflect;->KEY:Ljava/lang/String;
    return-void
.end method

.method public static staticFinalName(Landroid/telephony/TelephonyManager;)Ljava/lang/Object;
    .registers 5
    const-class v0, Landroid/telephony/TelephonyManager;
    sget-object v3, Lcn/piscan/demo/Reflect;->NAME:Ljava/lang/String;
    move-object v1, v3
    const/4 v2, 0x0
    new-array v2, v2, [Ljava/lang/Class;
    invoke-virtual {v0, v1, v2}, Ljava/lang/Class;->getDeclaredMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    return-object v0
.end method

.method public static androidIdThroughAField(Landroid/content/ContentResolver;)Ljava/lang/String;
    .registers 2
    sget-object v0, Lcn/piscan/demo/Reflect;->KEY:Ljava/lang/String;
    invoke-static {p0, v0}, Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public static newestOverload(Landroid/location/LocationManager;Landroid/location/LocationRequest;Ljava/util/concurrent/Executor;Landroid/location/LocationListener;)V
    .registers 5
    const-string v0, "gps"
    invoke-virtual {p0, v0, p1, p2, p3}, Landroid/location/LocationManager;->requestLocationUpdates(Ljava/lang/String;Landroid/location/LocationRequest;Ljava/util/concurrent/Executor;Landroid/location/LocationListener;)V
    return-void
.end method

.method public static constantName(Landroid/telephony/TelephonyManager;)Ljava/lang/Object;
    .registers 5
    const-class v0, Landroid/telephony/TelephonyManager;
    const-string v1, "getDeviceId"
    const/4 v2, 0x0
    new-array v2, v2, [Ljava/lang/Class;
    invoke-virtual {v0, v1, v2}, Ljava/lang/Class;->getMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    const/4 v1, 0x0
    new-array v1, v1, [Ljava/lang/Object;
    invoke-virtual {v0, p0, v1}, Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;
    move-result-object v0
    return-object v0
.end method

.method public static forName()Ljava/lang/Object;
    .registers 4
    const-string v0, "android.net.wifi.WifiInfo"
    invoke-static {v0}, Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;
    move-result-object v0
    const-string v1, "getMacAddress"
    const/4 v2, 0x0
    new-array v2, v2, [Ljava/lang/Class;
    invoke-virtual {v0, v1, v2}, Ljava/lang/Class;->getDeclaredMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    return-object v0
.end method

.method public static computedName(Ljava/lang/Object;)Ljava/lang/Object;
    .registers 5
    invoke-virtual {p0}, Ljava/lang/Object;->getClass()Ljava/lang/Class;
    move-result-object v0
    new-instance v1, Ljava/lang/StringBuilder;
    invoke-direct {v1}, Ljava/lang/StringBuilder;-><init>()V
    const-string v2, "get"
    invoke-virtual {v1, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v2, "Imei"
    invoke-virtual {v1, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    const/4 v2, 0x0
    new-array v2, v2, [Ljava/lang/Class;
    invoke-virtual {v0, v1, v2}, Ljava/lang/Class;->getMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v0
    return-object v0
.end method
"""


def _scan(apk: Path, out: Path) -> dict[str, Any]:
    assert main(["scan", "-q", str(apk), "-o", str(out), "-f", "json", "--reproducible"]) == 0
    return json.loads((out / "result.json").read_text(encoding="utf-8"))


def _reflective(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in result["facts"]["api_calls"] if c["access"] == "reflection"]


def test_getactivity_reads_the_imei_through_reflection(corpus: Path, tmp_path: Path) -> None:
    result = _scan(corpus / "apk" / "getactivity-androidproject-2019-09.apk", tmp_path / "out")
    found = {(c["api_id"], c["caller"]["class"], c["caller"]["method"]): c for c in _reflective(result)}
    device_id = found[("telephony.getDeviceId", "com.umeng.commonsdk.internal.utils.k", "c")]
    imei = found[("telephony.getImei", "com.umeng.commonsdk.statistics.common.DeviceConfig", "getImeiNew")]
    for call in (device_id, imei):
        assert call["argument"].startswith("reflection: getMethod(")
        assert call["owner"]["sdk_id"] == "umeng_analytics" and call["file_offset"] > 0
    assert any(lim["kind"] == "reflection_unresolved" for lim in result["limitations"])


def test_constant_names_resolve_and_computed_names_are_a_limitation(tmp_path: Path) -> None:
    if not all(shutil.which(t) for t in ("apktool", "zipalign", "apksigner")):
        pytest.skip("apktool, zipalign and apksigner (Debian packages) are needed to build the test APK from smali")
    project = tmp_path / "project"
    shutil.copytree(REPO / "samples" / "demo-app", project)
    (project / "smali" / "cn" / "piscan" / "demo" / "Reflect.smali").write_text(REFLECT, encoding="utf-8")
    apk = tmp_path / "reflect.apk"
    subprocess.run([str(REPO / "samples" / "build_sample.sh"), str(project), str(apk)], check=True, capture_output=True)
    result = _scan(apk, tmp_path / "out")
    found = {(c["caller"]["method"], c["api_id"]): c for c in _reflective(result)}
    assert found[("constantName", "telephony.getDeviceId")]["argument"] == \
        'reflection: getMethod("getDeviceId") on android.telephony.TelephonyManager'
    assert found[("forName", "wifiinfo.getMacAddress")]["argument"] == \
        'reflection: getMethod("getMacAddress") on android.net.wifi.WifiInfo'
    static_final = found[("staticFinalName", "telephony.getSubscriberId")]  # a static final String field
    assert static_final["argument"] == 'reflection: getMethod("getSubscriberId") on android.telephony.TelephonyManager'
    assert static_final["file_offset"] > 0 and static_final["offset"] >= 0
    assert not [c for c in _reflective(result) if c["caller"]["method"] == "computedName"]
    direct = {(c["caller"]["method"], c["api_id"]): c for c in result["facts"]["api_calls"] if c["access"] == "invoke"}
    # "android_id" reaches Settings.Secure.getString through a static field set in <clinit>
    assert direct[("androidIdThroughAField", "settings.secure.getString.android_id")]["argument"] == "android_id"
    # the API 31 overload, listed nowhere in the catalogue, is found through its method entry
    assert direct[("newestOverload", "location.requestLocationUpdates")]["api"].endswith(
        "(Ljava/lang/String;Landroid/location/LocationRequest;Ljava/util/concurrent/Executor;Landroid/location/LocationListener;)V")
    [limit] = [lim for lim in result["limitations"] if lim["kind"] == "reflection_unresolved"]
    assert limit["detail"].startswith("1 reflective method lookup(s)")
    assert result["complete"] is False
