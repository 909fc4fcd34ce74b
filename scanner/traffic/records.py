"""Read ``flows.mitm`` as it grows: complete records only, in bounded steps, by flow number.

The proxy appends one record per flow; the analysis process and the sealer follow the file with
a :class:`RecordTail` each. A record that is still being written (or was cut off by a crash) is
left for later; a step reads at most ``max_bytes`` (more only for a single record larger than
that), so memory stays bounded however far behind a reader is.
"""

from __future__ import annotations

import os
from pathlib import Path

from .flowfile import RecordError, record_span

_PREFIX = 16


class RecordTail:
    """Complete flow records of a flows file, from a given record on."""

    def __init__(self, path: str | Path, offset: int = 0, seq: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset  #: where the next record starts
        self.seq = seq  #: number of the last record read (records count from 1)
        self._fd: int | None = None

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return None
        return self._fd

    def size(self) -> int:
        """Current size of the file (0 when it does not exist yet)."""
        fd = self._open()
        return os.fstat(fd).st_size if fd is not None else 0

    def _end_of(self, fd: int, start: int, size: int) -> int | None:
        head = os.pread(fd, _PREFIX, start)
        colon = head.find(b":")
        if colon < 0:
            if len(head) >= _PREFIX:
                raise RecordError(f"no length prefix at byte {start}")
            return None
        if not head[:colon].isdigit():
            raise RecordError(f"bad length prefix at byte {start}")
        end = start + colon + 1 + int(head[:colon]) + 1
        return end if end <= size else None

    def skip(self, count: int) -> int:
        """Move past ``count`` complete records without reading them; returns how many were skipped."""
        fd = self._open()
        if fd is None:
            return 0
        size = os.fstat(fd).st_size
        done = 0
        while done < count:
            end = self._end_of(fd, self.offset, size)
            if end is None:
                break
            self.offset = end
            self.seq += 1
            done += 1
        return done

    def read(self, max_bytes: int = 4 << 20) -> list[tuple[int, int, bytes]]:
        """The next complete records as ``(seq, offset, bytes)``; ``[]`` when none is complete yet."""
        fd = self._open()
        if fd is None:
            return []
        size = os.fstat(fd).st_size
        if size <= self.offset:
            return []
        first_end = self._end_of(fd, self.offset, size)
        if first_end is None:
            return []
        want = max(first_end - self.offset, min(max_bytes, size - self.offset))
        data = os.pread(fd, want, self.offset)
        out = []
        pos = 0
        while pos < len(data):
            end = record_span(data, pos)
            if end is None:
                break
            self.seq += 1
            out.append((self.seq, self.offset + pos, data[pos:end]))
            pos = end
        self.offset += pos
        return out

    def torn_tail(self) -> int | None:
        """Offset of an incomplete record at the end of the file (after every complete one), or None."""
        self.skip(1 << 62)
        return self.offset if self.size() > self.offset else None

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def recover_torn_flows(path: str | Path, start: int = 0, seq: int = 0) -> dict[str, object] | None:
    """Move an incomplete last record of a flows file (a crash mid-write) to ``<name>.torn-<offset>``
    so that appending can go on; returns what was moved, or ``None``. :class:`RecordError` when
    the file is damaged before its end (that is for ``piscan verify`` to report, not to repair)."""
    import hashlib

    path = Path(path)
    tail = RecordTail(path, offset=start, seq=seq)
    try:
        offset = tail.torn_tail()
    finally:
        tail.close()
    if offset is None:
        return None
    with open(path, "r+b") as handle:
        handle.seek(offset)
        torn = handle.read()
        side = path.with_name(f"{path.name}.torn-{offset}")
        side.write_bytes(torn)
        handle.truncate(offset)
        handle.flush()
        os.fsync(handle.fileno())
    return {"file": side.name, "offset": offset, "bytes": len(torn), "sha256": hashlib.sha256(torn).hexdigest()}
