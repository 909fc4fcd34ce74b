"""``DexFile.strings_with``: the byte-level filter equals decoding every string and testing it."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from scanner.apk.code import dex_entry_names
from scanner.apk.dex import DexError, DexFile
from scanner.testing.corpus import apk_params, corpus_apks


def _dexes(apk: Path) -> list[DexFile]:
    with zipfile.ZipFile(apk) as zf:
        return [DexFile(name, zf.read(name)) for name in dex_entry_names(zf.namelist())]


def test_sample_strings_with_dot(sample_apk: Path) -> None:
    (dex,) = _dexes(sample_apk)
    dotted = list(dex.strings_with(b"."))
    assert dotted == [s for s in dex.strings() if "." in s]
    assert "https://api.piscan-demo.cn/v1/privacy/consent" in dotted
    assert "http://stat.piscan-demo.cn/collect?imei=" in dotted
    assert "getDeviceId" not in dotted and "getDeviceId" in set(dex.strings())


def test_cached_strings_are_reused(sample_apk: Path) -> None:
    (dex,) = _dexes(sample_apk)
    idx = next(i for i, s in enumerate(dex.strings()) if s == "https://api.piscan-demo.cn/v1/privacy/consent")
    cached = dex.string(idx)
    assert [text is cached for text in dex.strings_with(b"privacy/consent")] == [True]


def test_bad_string_offset_is_a_dex_error(sample_apk: Path) -> None:
    (good,) = _dexes(sample_apk)
    data = bytearray(good.data)
    (off_str,) = struct.unpack_from("<I", data, 0x3C)
    struct.pack_into("<I", data, off_str + 4 * 3, len(data) + 100)
    # checked when the DEX is opened, so that no later lookup can run out of range
    with pytest.raises(DexError, match="^string data out of range") as info:
        DexFile("classes.dex", bytes(data))
    assert info.value.line().startswith("classes.dex: string data out of range")


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params(corpus_apks()))
def test_corpus_strings_with_dot(apk: Path) -> None:
    for dex in _dexes(apk):
        assert list(dex.strings_with(b".")) == [s for s in dex.strings() if "." in s], dex.name


@pytest.mark.corpus
def test_non_ascii_needles_and_strings(corpus: Path) -> None:
    dex = _dexes(corpus / "apk" / "bugly-hotfix-demo-release.apk")[0]
    chinese = [s for s in dex.strings() if any("\u4e00" <= c <= "\u9fff" for c in s)]
    assert "Bugly debug模式开启，请在发布时把isDebug关闭。 -- Running in debug model for 'isDebug' is enabled. " \
        "Please disable it when you release." in chinese
    for text in chinese:
        char = next(c for c in text if "\u4e00" <= c <= "\u9fff")  # 3 bytes in UTF-8 and in MUTF-8
        assert text in list(dex.strings_with(char.encode("utf-8"))), text
