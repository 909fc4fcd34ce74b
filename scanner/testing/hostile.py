"""Builders of hostile inputs (issue 15's table): bombs, lies, ambiguities, special files.

Each builder writes one input under a folder and returns its path. The inputs are built from the
bundled sample APK and mini-program, never from the corpus, so the table runs on a fresh clone.
Bombs are sized so that building them takes about a second: what matters is that the declared or
inflated size is far over the default budgets (:mod:`scanner.budgets`), not the absolute size.
"""

from __future__ import annotations

import json
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from .corpus import REPO
from .fuzz import build_wxapkg

SAMPLE_APK = REPO / "samples" / "piscan-demo.apk"
SAMPLE_MP = REPO / "samples" / "miniprogram"
MiB = 1 << 20


def _sample_entries() -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(SAMPLE_APK) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def _write_zeros(archive: zipfile.ZipFile, name: str, size: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(1981, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = 1  # type: ignore[attr-defined] # fast for zeros
    chunk = bytes(MiB)
    with archive.open(info, "w", force_zip64=size >= 0xFFFFFFFF) as stream:
        for _ in range(size // MiB):
            stream.write(chunk)


def apk_with(path: Path, *, extra: Sequence[tuple[str, bytes]] = (), zeros: tuple[str, int] | None = None,
             replace: dict[str, bytes] | None = None, skip: tuple[str, ...] = ()) -> Path:
    """The sample APK's entries (some replaced or skipped), then ``extra`` entries, then an entry
    of ``zeros`` (name, inflated size) compressed as a bomb."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in _sample_entries():
            if info.filename in skip:
                continue
            archive.writestr(info, (replace or {}).get(info.filename, data))
        for name, data in extra:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1981, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        if zeros is not None:
            _write_zeros(archive, *zeros)
    return path


def lie_about_size(path: Path, name: str, declared: int) -> Path:
    """Rewrite the uncompressed size of entry ``name`` in its local header and central directory
    record to ``declared`` (the data and CRC stay those of the real, larger content)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
        cd_offset = archive.start_dir  # type: ignore[attr-defined]
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    pos = cd_offset
    while pos < len(data) and data[pos:pos + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46: pos + 46 + name_len].decode() == name:
            struct.pack_into("<I", data, pos + 24, declared)
        pos += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path


def dex_with_bad_string(path: Path) -> Path:
    """The sample APK whose classes.dex has string 41 pointing past the end of the file."""
    dex = dict((i.filename, d) for i, d in _sample_entries())["classes.dex"]
    data = bytearray(dex)
    (off_str,) = struct.unpack_from("<I", data, 0x3C)
    struct.pack_into("<I", data, off_str + 4 * 41, len(data) + 100)
    return apk_with(path, replace={"classes.dex": bytes(data)})


def duplicate_dex(path: Path) -> Path:
    """The real classes.dex first, then a second entry of the same name holding a benign DEX
    (the sample's DEX with its class names' strings unchanged but no code: the header only)."""
    entries = _sample_entries()
    real = dict((i.filename, d) for i, d in entries)["classes.dex"]
    benign = bytearray(real[:0x70])
    struct.pack_into("<I", benign, 0x20, 0x70)  # file_size
    for off in range(0x38, 0x70, 4):
        struct.pack_into("<I", benign, off, 0)
    struct.pack_into("<I", benign, 0x28, 0x12345678)
    struct.pack_into("<I", benign, 0x24, 0x70)
    struct.pack_into("<I", benign, 8, zlib.adler32(bytes(benign[12:])))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Duplicate name": that is the point
            archive.writestr(zipfile.ZipInfo("classes.dex", date_time=(1981, 1, 1, 0, 0, 0)), bytes(benign))
    return path


def xapk_with_bomb_base(path: Path, size: int) -> Path:
    """An XAPK whose base.apk inflates to ``size`` bytes of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps({"package_name": "cn.piscan.demo"}))
        _write_zeros(archive, "base.apk", size)
    return path


def xapk_with_deep_manifest(path: Path, depth: int = 100_000) -> Path:
    """An XAPK whose manifest.json is nested ``depth`` levels deep (base APK named by package)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", "[" * depth + "]" * depth)
        archive.write(SAMPLE_APK, "cn.piscan.demo.apk")
        archive.write(SAMPLE_APK, "config.arm64_v8a.apk")
    return path


def wxapkg_shared_body(path: Path, entries: int = 4000, body: int = MiB) -> Path:
    """A wxapkg of ``entries`` names all pointing at one ``body``-byte file (app.json first)."""
    app_json = (SAMPLE_MP / "app.json").read_bytes()
    names = ["/app.json"] + [f"/pages/p{i}.js" for i in range(entries)]
    raw_names = [n.encode() for n in names]
    index_len = 4 + sum(4 + len(n) + 8 for n in raw_names)
    start = 14 + index_len
    shared_off = start + len(app_json)
    index = struct.pack(">I", len(names))
    for i, raw in enumerate(raw_names):
        offset, size = (start, len(app_json)) if i == 0 else (shared_off, body)
        index += struct.pack(">I", len(raw)) + raw + struct.pack(">II", offset, size)
    content = app_json + b"/*" + b"x" * (body - 4) + b"*/"
    path.write_bytes(struct.pack(">BIIIB", 0xBE, 0, index_len, len(content), 0xED) + index + content)
    return path


def wxapkg_with_app_json(path: Path, app_json: bytes) -> Path:
    """A wxapkg holding the sample's JS with ``app_json`` as its app.json."""
    files = [(f"/{p.relative_to(SAMPLE_MP).as_posix()}", p.read_bytes()) for p in sorted(SAMPLE_MP.rglob("*"))
             if p.is_file() and p.suffix in (".js", ".wxml") ]
    path.write_bytes(build_wxapkg([("/app.json", app_json), *files]))
    return path


def miniprogram_folder(path: Path, *, device: str | None = None, fifo: str | None = None,
                       app_json: bytes | None = None, extra: dict[str, bytes] | None = None) -> Path:
    """A copy of the sample mini-program, optionally with a character device (``/dev/zero``'s
    numbers) or a FIFO at a relative path, another app.json, or extra files."""
    import shutil

    shutil.copytree(SAMPLE_MP, path)
    if device is not None:
        os.mknod(path / device, 0o644 | 0o020000, os.makedev(1, 5))
    if fifo is not None:
        os.mkfifo(path / fifo)
    if app_json is not None:
        (path / "app.json").write_bytes(app_json)
    for name, data in (extra or {}).items():
        (path / name).write_bytes(data)
    return path


def mitm_huge_length(path: Path) -> Path:
    """A 112-byte .mitm whose first tnetstring declares 99,999,999,999 bytes."""
    head = b"99999999999:"
    path.write_bytes(head + b"x" * (112 - len(head)))
    return path


def deep_tnetstring(path: Path, depth: int = 100_000) -> Path:
    """A .mitm holding one list nested ``depth`` deep."""
    inner = b"0:]"
    for _ in range(depth):
        inner = str(len(inner)).encode() + b":" + inner + b"]"
    path.write_bytes(inner)
    return path


def billion_laughs(path: Path) -> Path:
    """A rule pack whose aliases expand to 9**10 nodes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    path.write_text("\n".join(lines) + "\npack: {id: x}\nrules: []\n")
    return path
