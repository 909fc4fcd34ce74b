"""The wxapkg container: parse its index and unpack it without ever writing outside a folder.

Layout (all integers big-endian): a 14-byte header ``0xBE, u32 reserved, u32 index_length,
u32 body_length, 0xED``, then the index ``u32 count`` and ``count`` entries of ``u32
name_length, name (UTF-8, starting with "/"), u32 offset, u32 size``; offsets are from the
start of the file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..budgets import budgets
from ..errors import InputError
from ..model.records import Limitation

HEADER = struct.Struct(">BIIIB")
FIRST_MARK = 0xBE
LAST_MARK = 0xED
_U32 = struct.Struct(">I")
_PAIR = struct.Struct(">II")
MAX_NAME = 4096


@dataclass(frozen=True)
class Entry:
    """One file of a wxapkg: its name as stored and where its bytes are."""

    name: str
    offset: int
    size: int


@dataclass(frozen=True)
class Unpacked:
    """The files of one package that were accepted, by package-relative path (no leading ``/``)."""

    name: str
    files: dict[str, bytes]
    limitations: tuple[Limitation, ...]


def is_wxapkg(data: bytes) -> bool:
    """True when ``data`` starts with a plain wxapkg header."""
    return len(data) >= HEADER.size and data[0] == FIRST_MARK and data[13] == LAST_MARK


def parse_wxapkg(data: bytes, source: str | Path | None = None) -> list[Entry]:
    """Parse the index of a plain wxapkg; ``InputError`` for bad magic or truncation."""
    if len(data) < HEADER.size + 4:
        raise InputError(f"not a wxapkg: {len(data)} bytes is shorter than the header", source)
    first, _reserved, index_len, _body_len, last = HEADER.unpack_from(data, 0)
    if first != FIRST_MARK or last != LAST_MARK:
        raise InputError(
            f"not a wxapkg: bad magic 0x{first:02X}…0x{last:02X} (expected 0xBE…0xED)", source
        )
    index_end = HEADER.size + index_len
    if index_end > len(data):
        raise InputError(f"truncated wxapkg: index of {index_len} bytes runs past the end of the file", source)
    (count,) = _U32.unpack_from(data, HEADER.size)
    limit = budgets().entries
    if count > limit:
        raise InputError(f"bad wxapkg: the index claims {count:,} entries, over the budget of {limit:,}", source)
    pos = HEADER.size + 4
    entries: list[Entry] = []
    for number in range(count):
        if pos + 4 > index_end:
            raise InputError(f"truncated wxapkg: index ends inside entry {number + 1} of {count}", source)
        (name_len,) = _U32.unpack_from(data, pos)
        pos += 4
        if name_len > MAX_NAME:
            raise InputError(f"bad wxapkg: entry {number + 1} claims a {name_len}-byte name", source)
        if pos + name_len + 8 > index_end:
            raise InputError(f"truncated wxapkg: index ends inside entry {number + 1} of {count}", source)
        raw_name = data[pos : pos + name_len]
        pos += name_len
        offset, size = _PAIR.unpack_from(data, pos)
        pos += 8
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"bad wxapkg: entry {number + 1} has a name that is not UTF-8", source) from None
        if offset + size > len(data):
            raise InputError(
                f"truncated wxapkg: entry {name!r} ({size} bytes at {offset}) runs past the end of the file",
                source,
            )
        entries.append(Entry(name=name, offset=offset, size=size))
    return entries


def _index_len(data: bytes) -> int:
    return int(HEADER.unpack_from(data, 0)[2])


def overlapping_entries(entries: list[Entry], body_start: int) -> dict[int, str]:
    """Entries (by ``id``) whose bytes lie in the header or index, or overlap an earlier entry's:
    WeChat's packer never writes them, and one body under 4,000 names is how a 1 MB package
    unpacks to 4 GB. The first entry over a range keeps it; the others are refused."""
    refused: dict[int, str] = {}
    end_so_far, owner = body_start, "the package index"
    for entry in sorted(entries, key=lambda e: (e.offset, e.size)):
        if entry.size == 0:
            continue
        if entry.offset < end_so_far:
            refused[id(entry)] = f"its data overlaps {owner} (shared or overlapping entries: a way to build a bomb)"
            continue
        end_so_far, owner = entry.offset + entry.size, repr(entry.name)
    return refused


def unsafe_reason(name: str) -> str | None:
    """Why an entry name may not be written to disk, or ``None`` when it is a plain relative path."""
    if not name or name in {"/", "."}:
        return "empty name"
    if "\x00" in name:
        return "NUL character in name"
    if "\\" in name:
        return "backslash in name"
    rel = name[1:] if name.startswith("/") else name
    if name.startswith("//") or len(rel) >= 2 and rel[1] == ":" and rel[0].isalpha():
        return "drive letter or UNC path"
    if rel.startswith("/"):
        return "absolute path"
    parts = rel.split("/")
    if any(p == ".." for p in parts):
        return "parent-directory component '..'"
    if any(p in {"", "."} for p in parts):
        return "empty or '.' path component"
    return None


def relative_name(name: str) -> str:
    """The package-relative path of an entry (its stored name without the leading ``/``)."""
    return name[1:] if name.startswith("/") else name


def unpack_wxapkg(data: bytes, dest: Path, package_name: str, source: str | Path | None = None) -> Unpacked:
    """Write the entries of a plain wxapkg under ``dest/package_name`` and return them in memory.

    Entries with traversal names, absolute paths, drive letters, backslashes, NUL characters, or
    a name already used by an earlier entry are refused and reported as ``unsafe_path``
    limitations (``where`` = the entry name); nothing is ever written outside ``dest``.
    """
    entries = parse_wxapkg(data, source)
    root = (dest / package_name).resolve()
    dest_resolved = dest.resolve()
    if dest_resolved not in root.parents and root != dest_resolved:
        raise InputError(f"package name {package_name!r} would leave the unpack folder", source)
    root.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    limitations: list[Limitation] = []
    seen_lower: set[str] = set()
    shared = overlapping_entries(entries, HEADER.size + _index_len(data))
    for entry in entries:
        reason = unsafe_reason(entry.name) or shared.get(id(entry))
        rel = relative_name(entry.name)
        if reason is None and rel.lower() in seen_lower:
            reason = "duplicate name"
        if reason is None:
            target = (root / rel).resolve()
            if root not in target.parents:
                reason = "resolves outside the unpack folder"
        if reason is not None:
            limitations.append(
                Limitation(kind="unsafe_path", detail=f"wxapkg entry refused: {reason}", where=entry.name)
            )
            continue
        seen_lower.add(rel.lower())
        content = data[entry.offset : entry.offset + entry.size]
        # O_NOFOLLOW: never write through a planted symlink (the path itself was checked above).
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, flags, 0o644)
        except OSError as exc:
            limitations.append(
                Limitation(kind="unsafe_path", detail=f"wxapkg entry refused: {exc.strerror}", where=entry.name)
            )
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        files[str(PurePosixPath(rel))] = content
    return Unpacked(name=package_name, files=files, limitations=tuple(limitations))
