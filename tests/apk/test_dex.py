"""The DEX reader against androguard (strings, class names, method counts) and on bad input."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from scanner.apk.code import dex_entry_names, load_dex_index
from scanner.apk.dex import DexError, DexFile, classify_unreadable, decode_mutf8, dotted
from scanner.testing.corpus import ZipEntries, apk_params, corpus_apks, corpus_edge_apks




@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params(corpus_apks()))
def test_reader_matches_androguard(apk: Path) -> None:
    from androguard.core.dex import DEX
    from loguru import logger

    logger.disable("androguard")
    with zipfile.ZipFile(apk) as zf:
        for name in dex_entry_names(zf.namelist()):
            data = zf.read(name)
            ours = DexFile(name, data)
            theirs = DEX(data)
            assert list(ours.strings()) == list(theirs.get_strings()), f"{apk.name}/{name}: string tables differ"
            our_classes = [ours.type_name(c.type_idx) for c in ours.class_defs()]
            assert our_classes == list(theirs.get_classes_names()), f"{apk.name}/{name}: class names differ"
            assert ours.method_count() == len(theirs.get_encoded_methods()), f"{apk.name}/{name}: defined methods differ"
            assert ours.method_id_count == len(theirs.get_methods()), f"{apk.name}/{name}: method ids differ"


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params(corpus_apks()))
def test_index_summary(apk: Path) -> None:
    index = load_dex_index(ZipEntries(apk))
    summary = index.summary()
    names = [row["name"] for row in summary["files"]]
    with zipfile.ZipFile(apk) as zf:
        assert names == dex_entry_names(zf.namelist())
        for row in summary["files"]:
            assert row["sha256"] == hashlib.sha256(zf.read(row["name"])).hexdigest()
    assert all(row["readable"] for row in summary["files"])
    assert summary["class_count"] == sum(r["classes"] for r in summary["files"]) > 0
    classes = index.class_names()
    assert classes == sorted(set(classes)) and len(classes) <= summary["class_count"]


@pytest.mark.corpus
def test_multidex_order_and_known_facts(corpus: Path) -> None:
    index = load_dex_index(ZipEntries(corpus / "apk" / "appium-uiautomator2-server-v10.6.6.apk"))
    names = [row["name"] for row in index.summary()["files"]]
    assert names[:3] == ["classes.dex", "classes2.dex", "classes3.dex"] and names[-1] == "classes16.dex"
    index = load_dex_index(ZipEntries(corpus / "apk" / "jpush-jbox-app-release.apk"))
    assert "cn.jpush.android.util.b" in index.class_names()
    assert ("classes.dex", "getDeviceId") in set(index.strings())


@pytest.mark.corpus
def test_asset_apk_is_runtime_loaded_code(corpus: Path) -> None:
    index = load_dex_index(ZipEntries(corpus / "apk" / "android-apidemos-5.0.0-debug.apk"))
    rows = [(lim.kind, lim.where) for lim in index.limitations]
    assert ("dex_runtime_loaded", "assets/HelloActivity.apk") in rows


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params(corpus_edge_apks()))
def test_edge_apks_read_without_errors(apk: Path) -> None:
    index = load_dex_index(ZipEntries(apk))
    assert [row["readable"] for row in index.summary()["files"]] == [True]


def _tiny_dex(corpus: Path) -> bytes:
    with zipfile.ZipFile(corpus / "apk" / "umeng-cnzz-123-tiny.apk") as zf:
        return zf.read("classes.dex")


def _pseudo_random(n: int) -> bytes:
    out, block = bytearray(), b"piscan"
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


@pytest.mark.parametrize(("data", "message"), [
    (b"dex\n035\x00" + b"\x00" * 20, "truncated DEX"),
    (b"PK\x03\x04" + b"\x00" * 200, "not a DEX file"),
    (b"dex\n0a5\x00" + b"\x00" * 200, "not a DEX file"),
])
def test_bad_headers(data: bytes, message: str) -> None:
    with pytest.raises(DexError, match=message):
        DexFile("classes.dex", data)


def test_truncated_tables_and_file_size(corpus: Path) -> None:
    data = _tiny_dex(corpus)
    with pytest.raises(DexError, match="truncated DEX: header says"):
        DexFile("classes.dex", data[: len(data) // 2])


def test_checksum_mismatch_is_read_with_a_note(corpus: Path) -> None:
    data = bytearray(_tiny_dex(corpus))
    data[-1] ^= 0xFF
    dex = DexFile("classes.dex", bytes(data))
    assert dex.note is not None and dex.note.startswith("checksum mismatch")
    assert len(dex.class_defs()) > 0


def test_encrypted_and_garbage_are_told_apart() -> None:
    assert classify_unreadable(_pseudo_random(65536)) == "dex_encrypted"
    assert classify_unreadable(b"\x00\x01" * 40000) == "dex_unreadable"


class _Entries:
    def __init__(self, files: dict[str, bytes]) -> None:
        self._files = files
        self.entries = tuple(sorted(files))

    def read(self, name: str) -> bytes:
        return self._files[name]


def test_unreadable_dex_becomes_a_limitation_and_the_rest_is_read(corpus: Path) -> None:
    index = load_dex_index(_Entries({
        "classes.dex": _tiny_dex(corpus),
        "classes2.dex": _pseudo_random(70000),
        "classes3.dex": b"dex\n035\x00 short",
        "assets/plugin.jar": b"PK",
    }))
    kinds = sorted((lim.kind, lim.where) for lim in index.limitations)
    assert kinds == [("dex_encrypted", "classes2.dex"), ("dex_runtime_loaded", "assets/plugin.jar"),
                     ("dex_unreadable", "classes3.dex")]
    rows = {r["name"]: (r["readable"], r["reason"]) for r in index.summary()["files"]}
    assert rows["classes.dex"] == (True, None)
    assert rows["classes2.dex"][0] is False and "magic" in rows["classes2.dex"][1]
    assert rows["classes3.dex"] == (False, "truncated DEX (14 bytes, header needs 112)")
    assert [d.name for d in index.dexes] == ["classes.dex"]


def test_dex_class_loader_reference(tmp_path: Path) -> None:
    if shutil.which("smali") is None:
        pytest.skip("the smali assembler is not installed (Debian package libsmali-java, installed with apktool)")
    (tmp_path / "L.smali").write_text(
        ".class public Lcom/x/L;\n.super Ljava/lang/Object;\n"
        ".method public static load(Ljava/lang/String;)V\n    .registers 4\n"
        "    new-instance v0, Ldalvik/system/DexClassLoader;\n    return-void\n.end method\n", encoding="utf-8")
    subprocess.run(["smali", "a", str(tmp_path / "L.smali"), "-o", str(tmp_path / "classes.dex")], check=True)
    index = load_dex_index(_Entries({"classes.dex": (tmp_path / "classes.dex").read_bytes()}))
    assert [(lim.kind, lim.where) for lim in index.limitations] == [("dex_runtime_loaded", "classes.dex")]
    assert "dalvik.system.DexClassLoader" in index.limitations[0].detail


def test_mutf8() -> None:
    assert decode_mutf8(b"a\xc0\x80b") == "a\x00b"
    assert decode_mutf8(b"\xed\xa0\xbd\xed\xb8\x80") == "\U0001F600"  # CESU-8 surrogate pair
    assert decode_mutf8("设备".encode()) == "设备"
    assert dotted("Lcom/x/App;") == "com.x.App" and dotted("[I") == "[I"
