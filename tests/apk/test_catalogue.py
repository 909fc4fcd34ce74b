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
    assert cat.version == "2026.11.28"
    assert len(cat.entries) >= 120
    vocab = vocabulary()
    assert all(pi in vocab for e in cat.entries for pi in e.pi_types)
    imei = cat.by_id("telephony.getDeviceId")
    assert (imei.class_name, imei.name, imei.proto) == ("Landroid/telephony/TelephonyManager;", "getDeviceId", "()Ljava/lang/String;")
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
    assert cat.pack_row() == {"pack_id": "android-apis", "kind": "catalogue", "version": "2026.11.28", "sha256": cat.sha256}


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
    catalogued = {e.descriptor for e in default_catalogue().entries}
    assert written - catalogued == set()


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
