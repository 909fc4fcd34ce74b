"""Bounded, ambiguity-aware reading of zip archives (APKs and app bundles).

A suspect's APK is a zip that may be built to break or fool the scanner:

* a bomb: an entry that inflates to gigabytes, honestly declared or declared small;
* duplicate entry names, where Android's parsers have disagreed on which copy wins (the
  "Master Key" class of bugs), so a benign copy can hide the real code;
* a local header whose name differs from the central directory's, or entries whose data
  overlap (one body shared by many names).

:class:`ZipArchive` lists every central-directory record (duplicates included), reports the
ambiguities as :class:`ZipAmbiguity` rows, and reads one record with the budgets of
:mod:`scanner.budgets`: the declared size is checked before reading, the inflated size and the
ratio while inflating, and a record whose content disagrees with its declared size or CRC is an
error, never "read anyway". Records stored with a compression method Python does not know are
inflated raw (as Android's tolerant parsers do) within the same budgets.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..budgets import Budgets, budgets, size_text
from ..errors import InputError
from ..safeio import OverBudget

_LOCAL = struct.Struct("<4sHHHHHIIIHH")

# Python refuses a zip whose "version needed to extract" is above 6.3; Android never reads that
# field, so an APK can set it to break Python-based scanners. Reading on is what Android does.
zipfile.MAX_EXTRACT_VERSION = 0xFFFF  # type: ignore[attr-defined]
_CHUNK = 1 << 20


class EntryError(InputError):
    """One archive entry cannot be read within its budget or at all (a part-level failure)."""


class EntryOverBudget(EntryError, OverBudget):
    """One archive entry is larger (declared or inflated) than its budget."""


@dataclass(frozen=True)
class ZipAmbiguity:
    """Something about the archive that two zip readers may resolve differently."""

    kind: str  #: duplicate_name | name_mismatch | overlapping_entries
    name: str
    detail: str


class ZipArchive:
    """The central directory of one zip file (path or bytes), read once; entries read on demand."""

    def __init__(self, source: Path | bytes, label: str | Path, limits: Budgets | None = None) -> None:
        self.label = str(label)
        self.limits = limits or budgets()
        self._bytes = source if isinstance(source, bytes) else None
        self._path = source if isinstance(source, Path) else None
        self._handle: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        try:
            self._zip = zipfile.ZipFile(self._handle)
        except BaseException:
            self._handle.close()
            raise
        self.records: list[zipfile.ZipInfo] = list(self._zip.infolist())
        if len(self.records) > self.limits.entries:
            self.close()
            raise InputError(f"the archive has {len(self.records):,} entries, over the budget of "
                             f"{self.limits.entries:,}", label)
        self._by_name: dict[str, list[zipfile.ZipInfo]] = {}
        for info in self.records:
            self._by_name.setdefault(info.filename, []).append(info)
        self.read_total = 0

    def close(self) -> None:
        """Release the file."""
        self._zip.close()
        self._handle.close()

    def names(self) -> list[str]:
        """Entry names, each once, in central-directory order."""
        return list(self._by_name)

    def copies(self, name: str) -> list[zipfile.ZipInfo]:
        """Every central-directory record of ``name`` (more than one: a duplicate name)."""
        return list(self._by_name.get(name, ()))

    def ambiguities(self) -> list[ZipAmbiguity]:
        """Duplicate names, local/central name mismatches and overlapping entry data."""
        found: list[ZipAmbiguity] = []
        counts = Counter(info.filename for info in self.records)
        for name, count in sorted(counts.items()):
            if count > 1:
                found.append(ZipAmbiguity("duplicate_name", name, f"{count} entries share the name {name!r}; zip "
                                          "readers disagree on which one counts (every copy of code is scanned)"))
        spans: list[tuple[int, int, str]] = []
        for info in self.records:
            local = self._local_header(info)
            if local is None:
                continue
            local_name, data_start = local
            if local_name != info.filename:
                found.append(ZipAmbiguity("name_mismatch", info.filename,
                                          f"the local header names the entry {local_name!r}, the central directory "
                                          f"{info.filename!r}"))
            spans.append((data_start, data_start + info.compress_size, info.filename))
        spans.sort()
        for (start_a, end_a, name_a), (start_b, _end_b, name_b) in zip(spans, spans[1:]):
            if start_b < end_a and start_b >= start_a:
                found.append(ZipAmbiguity("overlapping_entries", name_b,
                                          f"the data of {name_b!r} overlaps that of {name_a!r} (one body under several "
                                          "names: a way to build a zip bomb)"))
        return found

    def _local_header(self, info: zipfile.ZipInfo) -> tuple[str, int] | None:
        try:
            self._handle.seek(info.header_offset)
            head = self._handle.read(_LOCAL.size)
            if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
                return None
            fields = _LOCAL.unpack(head)
            name_len, extra_len = fields[9], fields[10]
            raw = self._handle.read(name_len)
        except (OSError, ValueError):
            return None
        flags = fields[2]
        name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        return name, info.header_offset + _LOCAL.size + name_len + extra_len

    def read(self, name: str, copy: int = 0, *, max_bytes: int | None = None) -> bytes:
        """The inflated bytes of one record of ``name`` (``copy``: which duplicate, from 0), within
        the entry, total and ratio budgets; :class:`EntryError` naming the entry otherwise."""
        records = self._by_name.get(name)
        if not records or copy >= len(records):
            raise EntryError(f"no entry {name!r}", self.label)
        info = records[copy]
        cap = min(max_bytes or self.limits.entry_bytes, self.limits.entry_bytes)
        where = f"entry {name!r}" if len(records) == 1 else f"entry {name!r} (copy {copy + 1} of {len(records)})"
        if info.file_size > cap:
            raise EntryOverBudget(f"{where} declares {size_text(info.file_size)}, over the budget of {size_text(cap)}; "
                             "not read", self.label)
        if info.compress_size and info.file_size / info.compress_size > self.limits.ratio:
            raise EntryOverBudget(f"{where} declares a compression ratio of {info.file_size // info.compress_size:,}:1, over "
                             f"the budget of {self.limits.ratio:,}:1 (a zip bomb); not read", self.label)
        if self.read_total + info.file_size > self.limits.total_bytes:
            raise EntryOverBudget(f"{where}: reading it would pass the archive's budget of {size_text(self.limits.total_bytes)} "
                             "inflated bytes; not read", self.label)
        try:
            data = self._read_zipfile(info, cap)
        except NotImplementedError:  # a compression method Python does not implement: inflate raw
            data = self._read_raw(info, cap, where)
        except EntryError:
            raise
        except zipfile.BadZipFile as exc:
            if "differ" not in str(exc):
                raise EntryError(f"{where}: {_zip_reason(exc)}", self.label) from None
            data = self._read_raw(info, cap, where)  # local and central names differ: Android reads by the central one
        except (OSError, EOFError, ValueError, zlib.error, struct.error, OverflowError) as exc:
            raise EntryError(f"{where} is damaged: {_short(exc)}", self.label) from None
        self.read_total += len(data)
        return data

    def _read_zipfile(self, info: zipfile.ZipInfo, cap: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        with self._zip.open(info) as stream:  # stops at the declared size, then checks the CRC
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > cap:
                    raise EntryOverBudget(f"entry {info.filename!r} inflates past the budget of {size_text(cap)}; not read",
                                     self.label)
                chunks.append(chunk)
        return b"".join(chunks)

    def _read_raw(self, info: zipfile.ZipInfo, cap: int, where: str) -> bytes:
        local = self._local_header(info)
        if local is None:
            raise EntryError(f"{where} has no readable local header", self.label)
        self._handle.seek(local[1])
        raw = self._handle.read(info.compress_size)
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, cap + 1)
        except zlib.error:
            data = raw  # stored under an unknown method: Android reads such entries as stored
        if len(data) > cap:
            raise EntryOverBudget(f"{where} inflates past the budget of {size_text(cap)}; not read", self.label)
        if info.file_size and len(data) != info.file_size:
            raise EntryError(f"{where} inflates to {size_text(len(data))}, not the {size_text(info.file_size)} it "
                             "declares (zip bomb or tampering); not used", self.label)
        return data

    def __enter__(self) -> ZipArchive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] if text else type(exc).__name__


def _zip_reason(exc: zipfile.BadZipFile) -> str:
    text = str(exc)
    if "CRC" in text:
        return "its content does not match its CRC or declared size (zip bomb or tampering); not used"
    return f"damaged entry ({_short(exc)})"
