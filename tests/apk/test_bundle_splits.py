"""App bundles are scanned whole: every split APK's code and files count (issue 19); an .aab is
read (tests/apk/test_app_bundle.py)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

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
    assert "2 split APK(s)" in result["app"]["input_note"]


def test_an_unreadable_split_is_named_not_skipped(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "app.xapk", {"base.apk": SAMPLE_APK.read_bytes(), "split_broken.apk": b"PK\x03\x04garbage"})
    result = _scan(tmp_path, bundle)
    (lim,) = [lim for lim in result["limitations"] if lim["where"] == "split_broken.apk"]
    assert lim["kind"] == "entry_unreadable" and "split APK not scanned" in lim["detail"]
    assert result["complete"] is False
