"""wxapkg index parsing and safe unpacking (scanner/miniprogram/wxapkg.py)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.miniprogram.wxapkg import is_wxapkg, parse_wxapkg, unpack_wxapkg, unsafe_reason
from scanner.testing.fuzz import build_wxapkg


def test_parse_real_package_index(corpus: Path) -> None:
    data = (corpus / "wxapkg" / "jamielhf-test.wxapkg").read_bytes()
    entries = parse_wxapkg(data)
    assert len(entries) == 125
    first = entries[0]
    assert (first.name, first.size) == ("/app-config.json", 90538)
    service = next(e for e in entries if e.name == "/app-service.js")
    assert service.size == 577956
    assert data[service.offset : service.offset + 20].lstrip().startswith(b"var __wxAppData")


def test_truncated_corpus_package_is_one_line_input_error(corpus: Path) -> None:
    path = corpus / "wxapkg" / "jamielhf-test1-truncated.wxapkg"
    with pytest.raises(InputError, match=r"bad magic 0x3F…0x20") as info:
        parse_wxapkg(path.read_bytes(), path)
    assert info.value.exit_code == 3
    assert "\n" not in info.value.line()
    assert info.value.line().startswith(str(path))


GOOD = build_wxapkg([("/a.js", b"x"), ("/b.json", b"{}")])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"0 bytes is shorter than the header"),
        (GOOD[:10], r"shorter than the header"),
        (b"\x00" + GOOD[1:], r"bad magic 0x00…0xED"),
        (GOOD[:13] + b"\x00" + GOOD[14:], r"bad magic 0xBE…0x00"),
        (GOOD[:5] + struct.pack(">I", 10_000) + GOOD[9:], r"index of 10000 bytes runs past the end"),
        (GOOD[:-1], r"entry '/b.json' \(2 bytes at \d+\) runs past the end"),
        (GOOD[:14] + struct.pack(">I", 3) + GOOD[18:], r"index ends inside entry 3 of 3"),
        (GOOD.replace(b"/a.js", b"/\xff.js"), r"entry 1 has a name that is not UTF-8"),
        (GOOD[:18] + struct.pack(">I", 1 << 20) + GOOD[22:], r"entry 1 claims a 1048576-byte name"),
    ],
    ids=["empty", "short", "first-magic", "last-magic", "index-past-end", "entry-past-end", "count-too-big",
         "bad-utf8", "huge-name"],
)
def test_parse_rejects_bad_packages(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_wxapkg(data, "x.wxapkg")


def test_is_wxapkg() -> None:
    assert is_wxapkg(GOOD)
    assert not is_wxapkg(b"V1MMWX" + GOOD)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/pages/a.js", None),
        ("app.json", None),
        ("/../evil.js", "parent-directory component '..'"),
        ("/a/../../evil.js", "parent-directory component '..'"),
        ("//etc/passwd", "drive letter or UNC path"),
        ("/C:/Windows/x.js", "drive letter or UNC path"),
        ("C:/x.js", "drive letter or UNC path"),
        ("/a\\..\\..\\evil.js", "backslash in name"),
        ("/a\x00.js", "NUL character in name"),
        ("/a/./b.js", "empty or '.' path component"),
        ("/a//b.js", "empty or '.' path component"),
        ("/", "empty name"),
    ],
)
def test_unsafe_reason(name: str, reason: str | None) -> None:
    assert unsafe_reason(name) == reason


def _all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_crafted_traversal_package_writes_nothing_outside(tmp_path: Path) -> None:
    data = build_wxapkg([
        ("/app.js", b"first"),
        ("/../evil.js", b"EVIL1"),
        ("/pages/../../../evil2.js", b"EVIL2"),
        ("//etc/passwd-copy", b"EVIL3"),
        ("C:/evil4.js", b"EVIL4"),
        ("/pages\\..\\..\\evil5.js", b"EVIL5"),
        ("/nul\x00.js", b"EVIL6"),
        ("/app.js", b"second"),
        ("/pages/index.js", b"page"),
    ])
    out = tmp_path / "out"
    unpacked = unpack_wxapkg(data, out, "pkg")
    assert _all_files(tmp_path) == {"out/pkg/app.js", "out/pkg/pages/index.js"}
    assert (out / "pkg" / "app.js").read_bytes() == b"first"
    assert unpacked.files == {"app.js": b"first", "pages/index.js": b"page"}
    refused = {(lim.where, lim.detail) for lim in unpacked.limitations}
    assert refused == {
        ("/../evil.js", "wxapkg entry refused: parent-directory component '..'"),
        ("/pages/../../../evil2.js", "wxapkg entry refused: parent-directory component '..'"),
        ("//etc/passwd-copy", "wxapkg entry refused: drive letter or UNC path"),
        ("C:/evil4.js", "wxapkg entry refused: drive letter or UNC path"),
        ("/pages\\..\\..\\evil5.js", "wxapkg entry refused: backslash in name"),
        ("/nul\x00.js", "wxapkg entry refused: NUL character in name"),
        ("/app.js", "wxapkg entry refused: duplicate name"),
    }
    assert all(lim.kind == "unsafe_path" for lim in unpacked.limitations)


def test_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "out" / "pkg"
    root.mkdir(parents=True)
    os.symlink(outside, root / "link")
    os.symlink(outside / "f.js", root / "file.js")
    data = build_wxapkg([("/link/x.js", b"through dir link"), ("/file.js", b"through file link"), ("/ok.js", b"ok")])
    unpacked = unpack_wxapkg(data, tmp_path / "out", "pkg")
    assert list(outside.iterdir()) == []
    assert set(unpacked.files) == {"ok.js"}
    assert {lim.where for lim in unpacked.limitations} == {"/link/x.js", "/file.js"}


def test_file_and_folder_with_the_same_name_is_reported_not_raised(tmp_path: Path) -> None:
    data = build_wxapkg([("/a", b"file"), ("/a/b.js", b"under a file")])
    unpacked = unpack_wxapkg(data, tmp_path, "pkg")
    assert unpacked.files == {"a": b"file"}
    assert [lim.where for lim in unpacked.limitations] == ["/a/b.js"]


def test_unpack_real_package(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "wxapkg" / "haoduojisuanqi-calculator.wxapkg").read_bytes()
    unpacked = unpack_wxapkg(data, tmp_path, "calc")
    assert unpacked.limitations == ()
    assert len(unpacked.files) == 21
    assert (tmp_path / "calc" / "app-config.json").read_bytes() == unpacked.files["app-config.json"]
    assert b"navigationBarTitleText" in unpacked.files["app-config.json"]
