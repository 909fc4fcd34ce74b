"""The shipped API catalogue and the loader's validation errors."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from scanner.apk.catalogue import default_catalogue, load_catalogue, parse_catalogue
from scanner.errors import UsageError
from scanner.pi import vocabulary
from scanner.resources import rules_dir

_GOOD = """version: "1"
apis:
  - {id: telephony.getDeviceId, descriptor: "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;", access: invoke, pi_types: [imei], permission: android.permission.READ_PHONE_STATE, api_level: 1, verification: {mark: V, sources: [C, H, K]}, note: null}
"""


def test_shipped_catalogue_covers_section_7_3() -> None:
    cat = default_catalogue()
    path = rules_dir() / "android-apis.yaml"
    assert cat.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cat.version == "2026.12.04"
    assert len(cat.entries) >= 120
    vocab = vocabulary()
    assert all(pi in vocab for e in cat.entries for pi in e.pi_types)
    imei = cat.by_id("telephony.getDeviceId")  # every overload but the slot one, which has its own entry
    assert (imei.class_name, imei.name, imei.proto, imei.all_overloads) == (
        "Landroid/telephony/TelephonyManager;", "getDeviceId", None, True)
    assert imei.site_descriptor("()Ljava/lang/String;") == "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
    assert cat.by_id("telephony.getDeviceId.slot").proto == "(I)Ljava/lang/String;"
    assert imei.pi_types == ("imei",) and imei.verification == "V" and imei.sources == ("C", "H", "K")
    serial = cat.by_id("build.SERIAL")
    assert (serial.access, serial.key) == ("field", ("Landroid/os/Build;", "SERIAL", "Ljava/lang/String;"))
    aid = cat.by_id("settings.secure.getString.android_id")
    assert aid.argument is not None and aid.argument.param == 1 and aid.argument.accepts("android_id")
    assert not aid.argument.accepts("bluetooth_name")
    # Uri.parse carries several entries told apart by their argument prefix
    uri = cat.by_key()[("Landroid/net/Uri;", "parse", "(Ljava/lang/String;)Landroid/net/Uri;")]
    assert sorted(e.id for e in uri) == ["uri.parse.calendar", "uri.parse.call_log", "uri.parse.contacts",
                                          "uri.parse.media", "uri.parse.sms"]
    assert cat.pack_row() == {"pack_id": "android-apis", "kind": "catalogue", "version": "2026.12.04", "sha256": cat.sha256}


def test_every_descriptor_of_section_7_3_is_catalogued() -> None:
    """Every full method/field descriptor written in regulations.md section 7.3 is an entry."""
    doc = Path(__file__).resolve().parents[3] / "shared" / "domain" / "regulations.md"
    if not doc.is_file():
        pytest.skip("../shared/domain/regulations.md is not present")
    text = doc.read_text(encoding="utf-8")
    section = text[text.index("### 7.3"): text.index("### 7.4")]
    written = set(re.findall(r"`(L[\w/$]+;->[\w<>$]+(?:\([^)`]*\)[^\s`]+|:[^\s`]+))`", section))
    written |= {m.replace("sget-object ", "") for m in re.findall(r"`sget-object (L[^`]+)`", section)}
    written.discard("Lpkg/Class;->method(params)ret")  # the section's format example
    assert len(written) > 90
    entries = default_catalogue().entries
    exact = {e.descriptor for e in entries if not e.all_overloads}
    every_overload = {e.descriptor for e in entries if e.all_overloads}  # Lcls;->name
    assert {d for d in written if d not in exact and d.split("(", 1)[0] not in every_overload} == set()


@pytest.mark.parametrize(("row", "message"), [
    ('{id: a.b, method: "Lx/Y;->m", descriptor: "Lx/Y;->m()V", access: invoke', "exactly one of descriptor"),
    ('{id: a.b, access: invoke', "exactly one of descriptor"),
    ('{id: a.b, method: "Lx/Y;->m()V", access: invoke', "is not Lcls;->name"),
    ('{id: a.b, method: "Lx/Y;->F", access: field', "applies to invoke entries only"),
])
def test_bad_method_entries(row: str, message: str, tmp_path: Path) -> None:
    text = ("version: '1'\napis:\n  - " + row + ", pi_types: [imei], permission: null, api_level: 1, "
            "verification: {mark: U, sources: [U]}}\n")
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_catalogue(text.encode(), tmp_path / "apis.yaml")


OVERLOADS_SMALI = """.class public Lcn/piscan/t/Overloads;
.super Ljava/lang/Object;

.method public static read(Landroid/telephony/TelephonyManager;Landroid/location/LocationManager;Landroid/location/LocationRequest;Ljava/util/concurrent/Executor;Landroid/location/LocationListener;)V
    .registers 7
    invoke-virtual {p0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    const/4 v0, 0x1
    invoke-virtual {p0, v0}, Landroid/telephony/TelephonyManager;->getDeviceId(I)Ljava/lang/String;
    const-string v1, "gps"
    invoke-virtual {p1, v1, p2, p3, p4}, Landroid/location/LocationManager;->requestLocationUpdates(Ljava/lang/String;Landroid/location/LocationRequest;Ljava/util/concurrent/Executor;Landroid/location/LocationListener;)V
    return-void
.end method
"""


def test_method_entry_covers_other_overloads_and_exact_entries_win(tmp_path: Path) -> None:
    """The API 31 overload of requestLocationUpdates, listed nowhere, is the method entry's;
    getDeviceId(I) keeps its own exact entry (a real DEX assembled by smali)."""
    import shutil
    import subprocess

    from scanner.apk.callsites import find_call_sites
    from scanner.apk.dex import DexFile

    if shutil.which("smali") is None:
        pytest.skip("the smali assembler is not installed (Debian package libsmali-java, installed with apktool)")
    (tmp_path / "Overloads.smali").write_text(OVERLOADS_SMALI, encoding="utf-8")
    subprocess.run(["smali", "a", "--api", "26", str(tmp_path / "Overloads.smali"), "-o", str(tmp_path / "o.dex")],
                   check=True, capture_output=True)
    sites = find_call_sites(DexFile("classes.dex", (tmp_path / "o.dex").read_bytes()), default_catalogue())
    assert [(s.api_id, s.api.split("->")[1]) for s in sites] == [
        ("location.requestLocationUpdates", "requestLocationUpdates(Ljava/lang/String;Landroid/location/LocationRequest;"
                                            "Ljava/util/concurrent/Executor;Landroid/location/LocationListener;)V"),
        ("telephony.getDeviceId", "getDeviceId()Ljava/lang/String;"),
        ("telephony.getDeviceId.slot", "getDeviceId(I)Ljava/lang/String;"),
    ]


@pytest.mark.parametrize(("replace", "message"), [
    ("pi_types: [imei]", "unknown PI type 'imie'"),
    ("access: invoke", "access must be 'invoke' or 'field'"),
    ("()Ljava/lang/String;\"", "is not a DEX invoke reference"),
    ("mark: V", "verification must be"),
    ("note: null", "unknown key(s) nope"),
    ("api_level: 1", "api_level must be a positive integer or null"),
])
def test_bad_entries(replace: str, message: str, tmp_path: Path) -> None:
    bad = {
        "pi_types: [imei]": "pi_types: [imie]",
        "access: invoke": "access: call",
        "()Ljava/lang/String;\"": "()\"",
        "mark: V": "mark: X",
        "note: null": "note: null, nope: 1",
        "api_level: 1": "api_level: one",
    }[replace]
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        parse_catalogue(_GOOD.replace(replace, bad).encode(), tmp_path / "apis.yaml")
    assert info.value.line().startswith(str(tmp_path / "apis.yaml") + ": apis[0] (telephony.getDeviceId)")


def test_argument_and_duplicates(tmp_path: Path) -> None:
    arg = _GOOD.replace("note: null", "note: null, argument: {param: 3, match: exact, values: [x]}")
    with pytest.raises(UsageError, match="beyond the method's parameters"):
        parse_catalogue(arg.encode(), tmp_path / "a.yaml")
    dup = _GOOD + _GOOD.split("apis:\n")[1]
    with pytest.raises(UsageError, match="duplicate id 'telephony.getDeviceId'"):
        parse_catalogue(dup.encode(), tmp_path / "a.yaml")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such Android API catalogue file"):
        load_catalogue(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("apis: [", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_catalogue(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"\(pack\): must be of type object, got array"):
        load_catalogue(tmp_path / "list.yaml")
