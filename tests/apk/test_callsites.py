"""Call sites and pre-UI reachability on a DEX assembled from smali in the test (real ``smali``).

The fixture exercises what a byte scan can get wrong: switch and array payloads whose data looks
like an invoke of a catalogue method, invoke-polymorphic (4 code units), invoke/range, calls
through a subclass reference (not a site, as in androguard), the android_id argument rule, field
reads, and interface dispatch for the call graph.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from scanner.apk.callsites import find_call_sites
from scanner.apk.catalogue import default_catalogue
from scanner.apk.dex import DexFile
from scanner.testing.corpus import ZipEntries, apk_params, corpus_apks

APP = """
.class public Lcom/x/App;
.super Landroid/app/Application;
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Application;-><init>()V
    return-void
.end method
.method public onCreate()V
    .registers 2
    invoke-super {p0}, Landroid/app/Application;->onCreate()V
    invoke-static {p0}, Lcom/x/Util;->id(Landroid/content/Context;)Ljava/lang/String;
    new-instance v0, Lcom/x/Impl;
    invoke-direct {v0}, Lcom/x/Impl;-><init>()V
    invoke-interface {v0}, Lcom/x/Task;->run()V
    return-void
.end method
"""

TASK = """
.class public interface abstract Lcom/x/Task;
.super Ljava/lang/Object;
.method public abstract run()V
.end method
"""

IMPL = """
.class public Lcom/x/Impl;
.super Ljava/lang/Object;
.implements Lcom/x/Task;
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method
.method public run()V
    .registers 2
    sget-object v0, Landroid/os/Build;->SERIAL:Ljava/lang/String;
    return-void
.end method
"""

MYTM = """
.class public abstract Lcom/x/MyTM;
.super Landroid/telephony/TelephonyManager;
"""

UTIL = """
.class public Lcom/x/Util;
.super Ljava/lang/Object;
.method public static id(Landroid/content/Context;)Ljava/lang/String;
    .registers 5
    const-string v0, "phone"
    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/telephony/TelephonyManager;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {p0}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v2
    const-string v3, "android_id"
    invoke-static {v2, v3}, Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;
    const-string v3, "bluetooth_name"
    invoke-static {v2, v3}, Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;
    return-object v1
.end method
.method public static unused(Landroid/telephony/TelephonyManager;Lcom/x/MyTM;Ljava/lang/invoke/MethodHandle;I)V
    .registers 8
    const/4 v0, 1
    invoke-polymorphic {p2, v0}, Ljava/lang/invoke/MethodHandle;->invokeExact([Ljava/lang/Object;)Ljava/lang/Object;, (I)V
    packed-switch p3, :pswitch
    :a
    sparse-switch p3, :sswitch
    :b
    const/4 v1, 4
    new-array v1, v1, [I
    fill-array-data v1, :array
    invoke-virtual/range {p0 .. p0}, Landroid/telephony/TelephonyManager;->getSubscriberId()Ljava/lang/String;
    invoke-virtual {p1}, Lcom/x/MyTM;->getDeviceId()Ljava/lang/String;
    return-void
    :pswitch
    .packed-switch 0x0
        :a
        :b
    .end packed-switch
    :sswitch
    .sparse-switch
        0x6e10 -> :a
        0x1 -> :b
    .end sparse-switch
    :array
    .array-data 4
        ARRAY
    .end array-data
.end method
"""


def _assemble(tmp: Path, array_values: list[int]) -> bytes:
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    for name, text in {"App": APP, "Task": TASK, "Impl": IMPL, "MyTM": MYTM, "Util": UTIL}.items():
        body = text.replace("ARRAY", "\n        ".join(f"0x{v:x}" for v in array_values))
        (src / f"{name}.smali").write_text(body, encoding="utf-8")
    out = tmp / "classes.dex"
    subprocess.run(["smali", "a", "--api", "26", str(src), "-o", str(out)], check=True, capture_output=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def synthetic_dex(tmp_path_factory: pytest.TempPathFactory) -> DexFile:
    """The fixture DEX; its fill-array-data holds invoke-virtual getDeviceId / sget SERIAL patterns."""
    if shutil.which("smali") is None:
        pytest.skip("the smali assembler is not installed (Debian package libsmali-java, installed with apktool)")
    tmp = tmp_path_factory.mktemp("smali")
    first = DexFile("classes.dex", _assemble(tmp, [0]))
    (dev,) = first.find_method_ids("Landroid/telephony/TelephonyManager;", "getDeviceId", "()Ljava/lang/String;")
    (serial,) = first.find_field_ids("Landroid/os/Build;", "SERIAL", "Ljava/lang/String;")
    # little-endian ints whose bytes read "6e 10 <dev>" and "62 00 <serial>" at even offsets
    fake = [0x106E | (dev << 16), 0x0062 | (serial << 16), 0x106E | (dev << 16), 0]
    return DexFile("classes.dex", _assemble(tmp, fake))


def test_payload_lookalikes_are_not_sites(synthetic_dex: DexFile) -> None:
    data = synthetic_dex.data
    (dev,) = synthetic_dex.find_method_ids("Landroid/telephony/TelephonyManager;", "getDeviceId", "()Ljava/lang/String;")
    lookalike = b"\x6e\x10" + struct.pack("<H", dev)
    assert data.count(lookalike) >= 3  # the real call and two inside the array payload
    sites = find_call_sites(synthetic_dex, default_catalogue())
    rows = {(s.api_id, s.caller_class, s.caller_method, s.offset, s.argument) for s in sites}
    assert rows == {
        ("telephony.getDeviceId", "com.x.Util", "id", 8, None),
        ("settings.secure.getString.android_id", "com.x.Util", "id", 18, "android_id"),
        ("telephony.getSubscriberId", "com.x.Util", "unused", 17, None),
        ("build.SERIAL", "com.x.Impl", "run", 0, None),
    }


def test_argument_rule_can_be_switched_off(synthetic_dex: DexFile) -> None:
    sites = find_call_sites(synthetic_dex, default_catalogue(), apply_arguments=False)
    secure = sorted((s.offset, s.argument) for s in sites if s.api_id == "settings.secure.getString.android_id")
    assert secure == [(18, "android_id"), (23, "bluetooth_name")]


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params([p for p in corpus_apks() if p.name == "jpush-jbox-app-release.apk"]))
def test_known_corpus_site(apk: Path) -> None:
    """JPush reads the IMEI in cn.jpush.android.util.b.j (androguard: byte offset 48)."""
    with zipfile.ZipFile(apk) as zf:
        dex = DexFile("classes.dex", zf.read("classes.dex"))
    sites = [s for s in find_call_sites(dex, default_catalogue()) if s.api_id == "telephony.getDeviceId"]
    assert ("cn.jpush.android.util.b", "j", "(Landroid/content/Context;Ljava/lang/String;)Ljava/lang/String;", 24) in {
        (s.caller_class, s.caller_method, s.caller_descriptor, s.offset) for s in sites}


def test_synthetic_sites_match_androguard(synthetic_dex: DexFile) -> None:
    """androguard agrees: one getDeviceId xref (byte offset 16); the MyTM call is another method."""
    from androguard.core.analysis.analysis import Analysis
    from androguard.core.dex import DEX
    from loguru import logger

    logger.disable("androguard")
    dx = Analysis(DEX(synthetic_dex.data))
    dx.create_xref()
    tm = dx.get_method_analysis_by_name("Landroid/telephony/TelephonyManager;", "getDeviceId", "()Ljava/lang/String;")
    assert {(c.name, m.name, off) for c, m, off in tm.get_xref_from()} == {("Lcom/x/Util;", "id", 16)}
    mytm = dx.get_method_analysis_by_name("Lcom/x/MyTM;", "getDeviceId", "()Ljava/lang/String;")
    assert {(c.name, m.name, off) for c, m, off in mytm.get_xref_from()} == {("Lcom/x/Util;", "unused", 40)}


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params([p for p in corpus_apks() if p.name == "jiguang-jmlink-demo-debug.apk"]))
def test_deep_adds_smali_around_each_site(apk: Path) -> None:
    """--deep: androguard's disassembly of the caller, the site marked with ``=>``."""
    from scanner.apk.code import analyse_code, load_dex_index

    class _NoEntries:
        application = None
        providers: tuple[str, ...] = ()
        boot_receivers: tuple[str, ...] = ()

    owner = {"kind": "unknown", "sdk_id": None, "sdk_name": None, "vendor": None}
    facts = analyse_code(load_dex_index(ZipEntries(apk)), default_catalogue(), _NoEntries(), lambda _c: owner,
                         deep=True, apk_path=apk)
    calls = facts.sections["api_calls"]
    assert calls and all(c["smali"] is not None for c in calls)
    for call in calls:
        marked = [line for line in call["smali"].splitlines() if line.startswith("=>")]
        assert len(marked) == 1
        name = call["api"].split("->")[1].split("(")[0].split(":")[0]
        assert marked[0].startswith(f"=> {call['offset']:04x}: ") and name in marked[0]
