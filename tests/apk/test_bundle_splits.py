"""App bundles are scanned whole: every split APK's code and files count (issue 19); an .aab is
read (tests/apk/test_app_bundle.py)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.testing.corpus import REPO
from scanner.testing.hostile import apk_with

SAMPLE_APK = REPO / "samples" / "piscan-demo.apk"


def _sample_dex() -> bytes:
    with zipfile.ZipFile(SAMPLE_APK) as archive:
        return archive.read("classes.dex")


def _split(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _bundle(tmp_path: Path, name: str, members: dict[str, bytes]) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def _scan(tmp_path: Path, target: Path) -> dict:
    out = tmp_path / "out"
    assert main(["scan", str(target), "-o", str(out), "-f", "json", "-q"]) == 0
    return json.loads((out / "result.json").read_text())


def test_code_in_a_feature_split_is_scanned(tmp_path: Path) -> None:
    base = apk_with(tmp_path / "base.apk", skip=("classes.dex",)).read_bytes()
    bundle = _bundle(tmp_path, "app.apks", {
        "base.apk": base,
        "split_feature.apk": _split({"AndroidManifest.xml": b"", "classes.dex": _sample_dex()}),
        "split_config.arm64_v8a.apk": _split({"lib/arm64-v8a/libjcore.so": b"\x7fELF"}),
    })
    result = _scan(tmp_path, bundle)
    assert [row["name"] for row in result["facts"]["dex"]["files"]] == ["split_feature.apk!classes.dex"]
    calls = result["facts"]["api_calls"]
    assert calls and all(c["dex"] == "split_feature.apk!classes.dex" for c in calls)
    assert result["facts"]["sdks"], "SDKs in the split's code are detected"
    code = [sig for sdk in result["facts"]["sdks"] for sig in sdk["signals"] if sig["kind"] == "code_prefix"]
    assert code and all(sig["detail"].endswith(", in split_feature.apk") for sig in code), code
    jcore = [sig for sdk in result["facts"]["sdks"] for sig in sdk["signals"] if sig["value"] == "libjcore.so"]
    assert jcore and all(sig["detail"].endswith(", in split_config.arm64_v8a.apk") for sig in jcore), jcore
    assert "2 split APK(s)" in result["app"]["input_note"]
    (lim,) = [lim for lim in result["limitations"] if lim["where"] == "split_feature.apk!AndroidManifest.xml"]
    assert "not valid binary XML" in lim["detail"] and result["complete"] is False  # the empty split manifest


def test_bundletool_standalones_are_alternatives_not_splits(tmp_path: Path) -> None:
    """bundletool's standalones/*.apk are the whole app for older devices, installed instead of
    the base and splits: read as splits they would add the app's code a second time (review)."""
    base = apk_with(tmp_path / "base.apk", skip=("classes.dex",)).read_bytes()
    bundle = _bundle(tmp_path, "app.apks", {
        "splits/base-master.apk": base,
        "splits/pay-master.apk": _split({"AndroidManifest.xml": b"", "classes.dex": _sample_dex()}),
        "standalones/standalone-arm64_v8a.apk": _split({"AndroidManifest.xml": b"", "classes.dex": _sample_dex()}),
    })
    result = _scan(tmp_path, bundle)
    assert [row["name"] for row in result["facts"]["dex"]["files"]] == ["splits/pay-master.apk!classes.dex"]
    code = [sig for sdk in result["facts"]["sdks"] for sig in sdk["signals"] if sig["kind"] == "code_prefix"]
    assert code and all(sig["detail"].endswith(", in splits/pay-master.apk") for sig in code), code
    assert "1 standalone APK(s) not read" in result["app"]["input_note"]


def test_no_split_is_named_for_code_when_a_base_dex_is_unreadable(tmp_path: Path) -> None:
    """The base APK's unreadable DEX might define the split's classes too: then no code signal
    says "in <split>" (the limitation says what could not be read)."""
    base = apk_with(tmp_path / "base.apk", replace={"classes.dex": b"dex\n035\x00" + b"\x00" * 100}).read_bytes()
    bundle = _bundle(tmp_path, "app.apks", {
        "base.apk": base,
        "split_feature.apk": _split({"AndroidManifest.xml": b"", "classes.dex": _sample_dex()}),
    })
    result = _scan(tmp_path, bundle)
    assert any(lim["kind"] == "dex_unreadable" and lim["where"] == "classes.dex" for lim in result["limitations"])
    code = [sig for sdk in result["facts"]["sdks"] for sig in sdk["signals"] if sig["kind"] == "code_prefix"]
    assert code and not any(", in " in sig["detail"] or " of them in " in sig["detail"] for sig in code), code


@pytest.mark.skipif(shutil.which("aapt2") is None, reason="aapt2 (Debian package aapt) writes the split's binary manifest")
def test_a_split_manifest_adds_its_components_not_permissions(tmp_path: Path) -> None:
    """The feature module of the sample bundle, converted by aapt2 to a binary split APK."""
    with zipfile.ZipFile(REPO / "samples" / "piscan-demo.aab") as aab:
        proto = _split({"AndroidManifest.xml": aab.read("pay/manifest/AndroidManifest.xml"),
                        "resources.pb": aab.read("pay/resources.pb")})
    (tmp_path / "pay-proto.apk").write_bytes(proto)
    subprocess.run(["aapt2", "convert", "--output-format", "binary", "-o", str(tmp_path / "split_pay.apk"),
                    str(tmp_path / "pay-proto.apk")], check=True, capture_output=True)
    bundle = _bundle(tmp_path, "app.apks", {"base.apk": SAMPLE_APK.read_bytes(),
                                           "split_pay.apk": (tmp_path / "split_pay.apk").read_bytes()})
    result = _scan(tmp_path, bundle)
    assert result["complete"] is True, result["limitations"]
    # a split adds components; its uses-permission is not granted (Android reads the base manifest's)
    assert "android.permission.CAMERA" not in {p["name"] for p in result["facts"]["permissions"]}
    components = [c["name"] for c in result["facts"]["components"]]
    assert "cn.piscan.demo.pay.ScanToPayActivity" in components and len(components) == len(set(components))


def test_an_unreadable_split_is_named_not_skipped(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "app.xapk", {"base.apk": SAMPLE_APK.read_bytes(), "split_broken.apk": b"PK\x03\x04garbage"})
    result = _scan(tmp_path, bundle)
    (lim,) = [lim for lim in result["limitations"] if lim["where"] == "split_broken.apk"]
    assert lim["kind"] == "entry_unreadable" and "split APK not scanned" in lim["detail"]
    assert result["complete"] is False
