"""Android App Bundles (``.aab``) are read as the app they install (issue 19).

The oracle is the APK itself: ``aapt2 convert`` turns an APK's binary XML and resource table into
the protobuf format of a bundle module, and the bundle must give the facts the APK gives
(androguard reads the APK). The committed ``samples/piscan-demo.aab`` (built by
``samples/build_sample_aab.py``) adds a feature module, whose permissions, activity, strings and
native library must be found too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from scanner.apk.appbundle import BundleFormatError, ProtoResources, apk_path, bundle_modules, xml_root
from scanner.apk.archive import open_apk
from scanner.cli import main
from scanner.testing.bundles import bundle_from_apk, write_zip
from scanner.testing.corpus import REPO, apk_params, corpus_apks

SAMPLE_APK = REPO / "samples" / "piscan-demo.apk"
SAMPLE_AAB = REPO / "samples" / "piscan-demo.aab"
ANDROID = "http://schemas.android.com/apk/res/android"
NEEDS_AAPT2 = pytest.mark.skipif(shutil.which("aapt2") is None,
                                 reason="aapt2 (Debian package aapt) converts APKs to the bundle's protobuf format")


def _scan(tmp_path: Path, target: Path, name: str = "out") -> dict[str, Any]:
    out = tmp_path / name
    assert main(["scan", str(target), "-o", str(out), "-f", "json", "-q"]) == 0
    return json.loads((out / "result.json").read_text(encoding="utf-8"))


def _entries(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(name, archive.read(name)) for name in archive.namelist()]


# --- protobuf encoding, to write hostile bundles by hand ---------------------------------------

def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _element(name: str, attrs: bytes = b"", children: bytes = b"", uri: str = "") -> bytes:
    """An ``XmlElement`` message."""
    return (_field(2, uri) if uri else b"") + _field(3, name) + attrs + children


def _node(element: bytes) -> bytes:
    """An ``XmlNode`` holding an element."""
    return _field(1, element)


def _attr(name: str, text: str = "", item: bytes | None = None, uri: str = ANDROID) -> bytes:
    body = _field(1, uri) + _field(2, name) + (_field(3, text) if text else b"") + (_field(6, item) if item is not None else b"")
    return _field(4, body)


# --- the committed sample ------------------------------------------------------------------------

def test_the_sample_bundle_gives_the_apks_facts_and_its_feature_modules(tmp_path: Path) -> None:
    apk, aab = _scan(tmp_path, SAMPLE_APK, "apk"), _scan(tmp_path, SAMPLE_AAB, "aab")
    assert aab["complete"] is True and aab["limitations"] == []
    assert aab["app"]["input_note"] == "base module of an Android App Bundle (.aab), with 1 feature module(s)"
    assert {**aab["app"], "input_note": None} == apk["app"]
    assert aab["app"]["label"] == {"default": "PIScan Demo", "zh-CN": "PIScan 演示"}
    # the pay module's CAMERA is not the app's: Android takes permissions from the base manifest only
    assert aab["facts"]["permissions"] == apk["facts"]["permissions"]
    components = [c["name"] for c in aab["facts"]["components"]]
    assert sorted(components) == sorted([c["name"] for c in apk["facts"]["components"]] + ["cn.piscan.demo.pay.ScanToPayActivity"])
    assert aab["facts"]["api_calls"] == apk["facts"]["api_calls"]
    assert aab["facts"]["dex"] == apk["facts"]["dex"]
    endpoints = {e["value"]: e for e in aab["facts"]["endpoints"]}
    assert {e["value"] for e in apk["facts"]["endpoints"]} < set(endpoints)
    assert endpoints["https://pay.piscan-demo.cn/v1/order"]["sources"] == [{"kind": "resource", "file": "resources.pb"}]
    sdks = {s["sdk_id"] for s in aab["facts"]["sdks"]}
    assert {s["sdk_id"] for s in apk["facts"]["sdks"]} < sdks and "jpush" in sdks  # libjcore.so of the pay module
    jpush = next(s for s in aab["facts"]["sdks"] if s["sdk_id"] == "jpush")
    assert jpush["signals"] == [{"kind": "native_lib", "value": "libjcore.so", "detail": "matches libjcore(.*)\\.so, in pay"}]
    assert aab["facts"]["manifest"]["native_libs"] == {"arm64-v8a": ["libjcore.so"]}
    signing = aab["facts"]["signing"]
    assert signing["schemes"] == {"v1": True, "v2": False, "v3": False, "v31": False}
    assert [c["sha256"] for c in signing["certificates"]] == [
        c["sha256"] for c in apk["facts"]["signing"]["certificates"] if c["scheme"] == "v1"]
    assert {f["id"] for f in apk["findings"]} <= {f["id"] for f in aab["findings"]}


def test_the_bundle_reads_like_an_apk(tmp_path: Path) -> None:
    opened = open_apk(SAMPLE_AAB)
    assert opened.apk is None and opened.bundle is not None
    assert opened.package_name() == "cn.piscan.demo"
    assert opened.has("classes.dex") and opened.read("classes.dex")[:4] == b"dex\n"
    assert [split.name for split in opened.splits] == ["pay"]
    assert opened.splits[0].entries == ("AndroidManifest.xml", "lib/arm64-v8a/libjcore.so", "resources.pb")
    resources = opened.resource_table()
    assert resources is opened.bundle.resources
    assert {"Scan to pay", "扫码支付", "PIScan 演示"} <= set(resources.strings())  # both modules' tables
    assert resources.label(opened.manifest_root().find("application").get(f"{{{ANDROID}}}label")) == {
        "default": "PIScan Demo", "zh-CN": "PIScan 演示"}


def test_code_in_a_feature_module_is_named_after_it(tmp_path: Path) -> None:
    moved = [(name.replace("base/dex/", "pay/dex/"), data) for name, data in _entries(SAMPLE_AAB)
             if not name.startswith("META-INF/")]
    bundle = tmp_path / "moved.aab"
    write_zip(bundle, moved)
    result = _scan(tmp_path, bundle)
    assert [row["name"] for row in result["facts"]["dex"]["files"]] == ["pay!classes.dex"]
    assert result["facts"]["api_calls"] and {c["dex"] for c in result["facts"]["api_calls"]} == {"pay!classes.dex"}
    assert result["facts"]["signing"]["schemes"]["v1"] is False  # the signature was left out


def test_damaged_parts_are_named_and_the_result_is_incomplete(tmp_path: Path) -> None:
    damaged = []
    for name, data in _entries(SAMPLE_AAB):
        if name == "pay/manifest/AndroidManifest.xml":
            data = b"\x0a\xff\xff\xff\xff\x0f"  # a length far past the end
        elif name == "pay/resources.pb":
            data = b"\x12\x05garbage"
        damaged.append((name, data))
    bundle = tmp_path / "damaged.aab"
    write_zip(bundle, damaged)
    result = _scan(tmp_path, bundle)
    assert result["complete"] is False
    where = {lim["where"]: lim for lim in result["limitations"]}
    assert where["pay/manifest/AndroidManifest.xml"]["detail"].endswith("is not valid protobuf")
    assert where["pay/resources.pb"]["kind"] == "entry_unreadable"
    assert {p["name"] for p in result["facts"]["permissions"]} >= {"android.permission.READ_CONTACTS"}  # the base still counts


def test_a_bomb_in_a_feature_resource_table_is_a_limitation(tmp_path: Path) -> None:
    from scanner.testing.hostile import _write_zeros

    bundle = tmp_path / "bomb.aab"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in _entries(SAMPLE_AAB):
            if name != "pay/resources.pb" and not name.startswith("META-INF/"):
                archive.writestr(name, data)
        _write_zeros(archive, "pay/resources.pb", 300 << 20)  # 300 MiB of zeros, about 300 KiB deflated
    result = _scan(tmp_path, bundle)
    (lim,) = [lim for lim in result["limitations"] if lim["where"] == "pay/resources.pb"]
    assert "compression ratio" in lim["detail"] or "budget" in lim["detail"]
    assert result["complete"] is False and result["app"]["label"]["default"] == "PIScan Demo"


def _signing_of(tmp_path: Path, entries: list[tuple[str, bytes]]) -> tuple[dict[str, Any], list[str]]:
    bundle = tmp_path / "signed.aab"
    write_zip(bundle, entries)
    result = _scan(tmp_path, bundle)
    return result["facts"]["signing"], [lim["detail"] for lim in result["limitations"] if lim["kind"] == "signature_mismatch"]


def test_an_entry_changed_after_signing_voids_the_signature(tmp_path: Path) -> None:
    entries = [(n, d + b"\n" if n == "pay/lib/arm64-v8a/libjcore.so" else d) for n, d in _entries(SAMPLE_AAB)]
    signing, problems = _signing_of(tmp_path, entries)
    assert signing == {"schemes": {"v1": False, "v2": False, "v3": False, "v31": False}, "certificates": []}
    assert problems == ["v1 signature META-INF/PISCAN-D.RSA: 1 entry changed after signing (first: pay/lib/arm64-v8a/libjcore.so)"]


def test_a_changed_signature_file_and_a_stray_certificate_sign_nothing(tmp_path: Path) -> None:
    """The reviewer's case: the .SF edited, and another company's certificate put in the block."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
    from cryptography.x509.oid import NameOID

    other_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some Other Company")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    other = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(other_key.public_key())
             .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
             .sign(other_key, hashes.SHA256()))
    key, cert, _ = pkcs12.load_key_and_certificates((REPO / "samples" / "demo-key.p12").read_bytes(), b"piscan-demo")
    entries = dict(_entries(SAMPLE_AAB))
    signature_file = entries["META-INF/PISCAN-D.SF"]
    block = (pkcs7.PKCS7SignatureBuilder().set_data(signature_file).add_signer(cert, key, hashes.SHA256())
             .add_certificate(other).sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature,
                                                                       pkcs7.PKCS7Options.NoAttributes]))
    entries["META-INF/PISCAN-D.RSA"] = block
    signing, problems = _signing_of(tmp_path / "stray", list(entries.items()))
    assert [c["subject"] for c in signing["certificates"]] == ["CN=PIScan Demo Test Key, OU=Test Only, O=PIScan, C=CN"]
    assert problems == []
    entries["META-INF/PISCAN-D.SF"] = signature_file.replace(b"Signature-Version: 1.0", b"Signature-Version: 1.1")
    signing, problems = _signing_of(tmp_path / "edited", list(entries.items()))
    assert signing["schemes"]["v1"] is False and signing["certificates"] == []
    assert problems == ["v1 signature META-INF/PISCAN-D.RSA: a signer whose signature does not verify (InvalidSignature)"]


def test_a_root_file_cannot_stand_in_for_the_manifest(tmp_path: Path) -> None:
    """bundletool refuses root/ files that would replace the manifest or code; so does the reader."""
    entries = [("base/root/AndroidManifest.xml", _node(_element("manifest", _attr("package", "com.decoy.clean", uri="")))),
               ("base/root/classes.dex", b"dex\n035\x00"),
               *[(n, d) for n, d in _entries(SAMPLE_AAB) if not n.startswith("META-INF/")]]
    bundle = tmp_path / "decoy.aab"
    write_zip(bundle, entries)
    result = _scan(tmp_path, bundle)
    assert result["app"]["package"] == "cn.piscan.demo"
    assert [row["name"] for row in result["facts"]["dex"]["files"]] == ["classes.dex"]
    shadowing = sorted(lim["where"] for lim in result["limitations"] if lim["kind"] == "zip_ambiguity")
    assert shadowing == ["base/root/AndroidManifest.xml", "base/root/classes.dex"]


def test_a_self_referencing_resource_table_resolves_at_once() -> None:
    """Seven configurations of one string, each pointing back at it: linear, not 7**9 lookups."""
    rid = 0x7F020000
    ref_item = _field(1, _field(2, rid))
    config_values = b"".join(_field(6, _field(1, _field(3, f"l{i}")) + _field(2, _field(4, ref_item))) for i in range(7))
    config_values += _field(6, _field(2, _field(4, _field(2, _field(1, "Real name")))))
    entry = _field(1, _field(1, 0)) + _field(2, "app_name") + config_values
    table = _field(2, _field(1, _field(1, 0x7F)) + _field(2, "x") + _field(3, _field(1, _field(1, 2)) + _field(2, "string") + _field(3, entry)))
    resources = ProtoResources([table])
    assert resources.resolve("@7F020000") == "Real name"


def test_many_text_nodes_join_in_linear_time() -> None:
    children = b"".join(_field(5, _field(2, "x" * 20)) for _ in range(40_000))
    root = xml_root(_node(_element("domain", children=children)))
    assert len(root.text) == 800_000


@pytest.mark.parametrize(("members", "message"), [
    ({"BundleConfig.pb": b"", "base/manifest/AndroidManifest.xml": b"\x0a\x03\x1a"}, "is not valid protobuf"),
    ({"BundleConfig.pb": b"", "base/manifest/AndroidManifest.xml": _field(3, "no element")}, "has no root element"),
    ({"BundleConfig.pb": b"", "feature/manifest/AndroidManifest.xml": b""}, "has no base module"),
], ids=["truncated", "no-root", "no-base"])
def test_a_bundle_without_a_usable_base_manifest_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             members: dict[str, bytes], message: str) -> None:
    bundle = tmp_path / "bad.aab"
    write_zip(bundle, list(members.items()))
    assert main(["scan", str(bundle), "-o", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Android App Bundle" in err and message in err
    assert not (tmp_path / "out" / "result.json").exists()


# --- protobuf XML -------------------------------------------------------------------------------

def test_attribute_values_are_spelled_as_androguard_spells_binary_xml() -> None:
    ref = _field(1, _field(2, 0x7F0A0001))
    framework_ref = _field(1, _field(2, 0x01040000))
    theme_attr = _field(1, _field(1, 1) + _field(2, 0x7F010002))
    prim = lambda number, value: _field(7, _field(number, value))  # noqa: E731
    attrs = (_attr("label", "@string/app_name", ref) + _attr("icon", "", framework_ref) + _attr("theme", "", theme_attr)
             + _attr("exported", "true", prim(8, 1)) + _attr("debuggable", "", prim(8, 0))
             + _attr("versionCode", "", prim(6, -5)) + _attr("protectionLevel", "dangerous", prim(7, 0x12))
             + _attr("name", "cn.example.App") + _attr("package", "cn.example", uri=""))
    root = xml_root(_node(_element("manifest", attrs + _field(5, _node(_element("application"))))))
    get = lambda name: root.get(f"{{{ANDROID}}}{name}")  # noqa: E731
    assert (get("label"), get("icon"), get("theme")) == ("@7F0A0001", "@android:01040000", "?7F010002")
    assert (get("exported"), get("debuggable"), get("versionCode"), get("protectionLevel")) == ("true", "false", "-5", "0x00000012")
    assert get("name") == "cn.example.App" and root.get("package") == "cn.example"
    assert [child.tag for child in root] == ["application"]


def test_text_nodes_become_element_text_and_tails() -> None:
    domain = _element("domain", children=_field(5, _field(2, "example.com")))
    config = _element("domain-config", children=_field(5, _node(domain)) + _field(5, _field(2, "tail")))
    root = xml_root(_node(_element("network-security-config", children=_field(5, _node(config)))))
    assert root.find("domain-config/domain").text == "example.com"
    assert root.find("domain-config/domain").tail == "tail"


def test_nesting_past_the_depth_budget_is_refused() -> None:
    element = _element("leaf")
    for _ in range(260):
        element = _element("e", children=_field(5, _node(element)))
    with pytest.raises(BundleFormatError, match="nests deeper than 200"):
        xml_root(_node(element))


def test_elements_past_the_element_budget_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import scanner.apk.appbundle as appbundle

    monkeypatch.setattr(appbundle, "_MAX_ELEMENTS", 50)
    children = b"".join(_field(5, _node(_element("uses-permission"))) for _ in range(60))
    with pytest.raises(BundleFormatError, match="more than 50 elements"):
        xml_root(_node(_element("manifest", children=children)))


def test_an_element_name_xml_cannot_hold_is_refused() -> None:
    with pytest.raises(BundleFormatError, match="not a valid XML name"):
        xml_root(_node(_element("bad name<")))


def test_module_layout() -> None:
    assert bundle_modules(["base/manifest/AndroidManifest.xml", "pay/manifest/AndroidManifest.xml", "a/b/manifest/AndroidManifest.xml",
                           "../manifest/AndroidManifest.xml", "BundleConfig.pb"]) == ["base", "pay"]
    assert [apk_path(p) for p in ("dex/classes2.dex", "dex/x/classes.dex", "root/kotlin/x.kotlin_builtins", "native.pb",
                                  "lib/arm64-v8a/libx.so", "assets/a.txt", "res/xml/c.xml")] == [
        "classes2.dex", None, "kotlin/x.kotlin_builtins", None, "lib/arm64-v8a/libx.so", "assets/a.txt", "res/xml/c.xml"]


def test_a_damaged_resource_table_adds_nothing() -> None:
    table = ProtoResources()
    with pytest.raises(BundleFormatError):
        table.add_table(_field(2, _field(3, b"\x0a\xff")))
    assert table.strings() == [] and table.resolve("@7F010000") is None


# --- oracles: the same app as APK and as bundle -------------------------------------------------

@NEEDS_AAPT2
@pytest.mark.parametrize("apk", apk_params(corpus_apks()))
def test_protobuf_manifest_equals_androguards_binary_manifest(apk: Path, tmp_path: Path) -> None:
    """aapt2 converts the APK's binary manifest to protobuf XML; both trees must be identical."""
    from scanner.apk.archive import quiet_androguard

    quiet_androguard()
    from androguard.core.apk import APK

    bundle = bundle_from_apk(apk, tmp_path / "app.aab")
    with zipfile.ZipFile(bundle) as archive:
        ours = xml_root(archive.read("base/manifest/AndroidManifest.xml"))

    def canon(el: Any, path: str = "") -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        rows = [(f"{path}/{el.tag}", tuple(sorted(el.attrib.items())))]
        for child in el:
            if isinstance(child.tag, str):
                rows += canon(child, f"{path}/{el.tag}")
        return rows

    assert canon(ours) == canon(APK(str(apk)).get_android_manifest_xml())


SMALL_CORPUS = apk_params([p for p in corpus_apks() if p.stat().st_size < 4_000_000])  # the larger ones add time, not cases


@NEEDS_AAPT2
@pytest.mark.parametrize("apk", [pytest.param(SAMPLE_APK, id="sample"), *SMALL_CORPUS])
def test_an_apk_as_a_bundle_gives_the_same_facts(apk: Path, tmp_path: Path) -> None:
    bundle = bundle_from_apk(apk, tmp_path / f"{apk.stem}.aab")
    as_apk, as_aab = _scan(tmp_path, apk, "apk"), _scan(tmp_path, bundle, "aab")
    for result in (as_apk, as_aab):
        result["facts"].pop("signing")  # a bundle carries no APK signature; see the sample test for v1
        for endpoint in result["facts"]["endpoints"]:
            for source in endpoint["sources"]:
                source["file"] = source["file"].replace("resources.pb", "resources.arsc")
    assert as_aab["facts"] == as_apk["facts"]
    assert as_aab["app"] == {**as_apk["app"], "input_note": "base module of an Android App Bundle (.aab)"}
    assert as_aab["limitations"] == as_apk["limitations"]
    assert [f["id"] for f in as_aab["findings"]] == [f["id"] for f in as_apk["findings"]]


@NEEDS_AAPT2
@pytest.mark.skipif(not Path("/usr/share/android-framework-res/framework-res.apk").is_file(),
                    reason="Debian's framework-res.apk (package android-framework-res) links the feature module")
def test_the_sample_bundle_rebuilds_to_the_same_facts(tmp_path: Path) -> None:
    rebuilt = tmp_path / "rebuilt.aab"
    subprocess.run([sys.executable, str(REPO / "samples" / "build_sample_aab.py"), str(rebuilt)], check=True)
    committed, again = _scan(tmp_path, SAMPLE_AAB, "committed"), _scan(tmp_path, rebuilt, "rebuilt")
    assert again["facts"] == committed["facts"] and again["app"] == committed["app"]
    assert [name for name, _ in _entries(rebuilt)] == [name for name, _ in _entries(SAMPLE_AAB)]
