"""Append-only, hash-chained JSON-lines logs (``observations.jsonl``, ``marks.jsonl``).

Each line is one JSON object whose last key, ``prev_sha256``, is the sha256 of the previous line's
bytes (without its newline; 64 zeros for the first line). Every record is flushed to the operating
system before ``append`` returns, so a crash of the writing process loses nothing that was
written; it is fsynced at once, or with its group (``sync=False`` then :meth:`ChainWriter.sync`,
which the proxy's analysis process calls after each batch of flows). Any later edit,
insertion or removal breaks the chain at a line that ``verify_chain`` names. A torn last line
(the process was killed mid-write) is reported, not fatal; reopening a log moves such a tail to a
``.torn-<offset>`` side file so the chain can continue.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import safejson
from ..errors import InputError

GENESIS = "0" * 64
_TAIL = 1 << 16


def line_sha256(line: bytes) -> str:
    """Hash of one log line (without its trailing newline)."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def encode_record(record: dict[str, Any], prev: str) -> bytes:
    """The line for a record chained after a line with hash ``prev``."""
    body = {k: v for k, v in record.items() if k != "prev_sha256"}
    body["prev_sha256"] = prev
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _last_line(handle: Any) -> bytes | None:
    """The last complete line of an open binary file (read from its tail), or ``None``."""
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return None
    start = max(0, end - _TAIL)
    while True:
        handle.seek(start)
        tail = handle.read(end - start)
        body = tail[:-1] if tail.endswith(b"\n") else tail
        cut = body.rfind(b"\n")
        if cut >= 0 or start == 0:
            return body[cut + 1:] + b"\n"
        start = max(0, start - _TAIL)


class ChainWriter:
    """Appends chained records to one log; ``locked=True`` serialises writers across processes."""

    def __init__(self, path: str | Path, *, locked: bool = False) -> None:
        self.path = Path(path)
        self.locked = locked
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a+b")  # noqa: SIM115 - kept open for the session
        self._with_lock(self._recover_torn_tail)
        last = self._with_lock(lambda: _last_line(self._fh))
        self._prev = line_sha256(last) if last else GENESIS
        self._last_line = last

    @property
    def last_line(self) -> bytes | None:
        """The last line in the log (with its newline), or ``None`` for an empty log."""
        return self._last_line

    @property
    def last_record(self) -> dict[str, Any] | None:
        """The last record in the log (parsed when asked for, not on every append)."""
        return safejson.loads(self._last_line) if self._last_line else None

    def _with_lock(self, func: Callable[[], Any]) -> Any:
        fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX)
        try:
            return func()
        finally:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)

    def _recover_torn_tail(self) -> None:
        end = self._fh.seek(0, os.SEEK_END)
        if end == 0:
            return
        self._fh.seek(end - 1)
        if self._fh.read(1) == b"\n":
            return
        start = max(0, end - _TAIL)
        while True:
            self._fh.seek(start)
            chunk = self._fh.read(end - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0 or start == 0:
                break
            start = max(0, start - _TAIL)
        offset = start + cut + 1
        self._fh.seek(offset)
        torn = self._fh.read()
        side = self.path.with_name(f"{self.path.name}.torn-{offset}")
        side.write_bytes(torn)
        self._fh.truncate(offset)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def append(self, record: dict[str, Any], *, sync: bool = True) -> bytes:
        """Append one record, flushed to the operating system; returns the line written.

        ``sync=False`` leaves the fsync to a later :meth:`sync` (group commit): the line survives
        the writer's own crash at once, and a machine crash once the group is synced.
        """
        return self._append(lambda: record, sync)

    def append_with(self, make: Callable[[dict[str, Any] | None], dict[str, Any]]) -> bytes:
        """Append (and fsync) the record ``make(last_record)``; with ``locked`` the last record is
        re-read under the lock, so concurrent writers (the CLI and the addon) never fork the chain."""
        return self._append(lambda: make(self.last_record), True)

    def _append(self, make: Callable[[], dict[str, Any]], sync: bool) -> bytes:
        def write() -> bytes:
            if self.locked:
                self._last_line = _last_line(self._fh)
                self._prev = line_sha256(self._last_line) if self._last_line else GENESIS
            line = encode_record(make(), self._prev)
            self._fh.seek(0, os.SEEK_END)
            self._fh.write(line)
            self._fh.flush()
            if sync:
                os.fsync(self._fh.fileno())
            self._prev = line_sha256(line)
            self._last_line = line
            return line

        return self._with_lock(write) if self.locked else write()

    def sync(self) -> None:
        """Make every line appended so far durable (one fsync for a group of appends)."""
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Sync and close the file."""
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()


@dataclass(frozen=True)
class ChainReport:
    """Outcome of checking one log."""

    path: str
    records: int  #: lines that verify, from the start
    ok: bool
    torn_tail: bool  #: an incomplete last line (killed mid-write); not an error
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        return {"path": self.path, "records": self.records, "ok": self.ok, "torn_tail": self.torn_tail, "error": self.error}


def read_chain(path: str | Path) -> tuple[list[dict[str, Any]], ChainReport]:
    """Every record that verifies (without ``prev_sha256``) and the report for the whole file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such log", path) from None
    except OSError as exc:
        raise InputError(f"cannot read log: {exc}", path) from None
    records: list[dict[str, Any]] = []
    prev = GENESIS
    lines = data.split(b"\n")
    torn = lines[-1] != b""
    full = lines[:-1]
    for number, line in enumerate(full, start=1):
        try:
            obj = safejson.loads(line)
        except (ValueError, UnicodeDecodeError):
            return records, ChainReport(str(path), len(records), False, torn, f"line {number}: not JSON")
        if not isinstance(obj, dict) or obj.get("prev_sha256") != prev:
            return records, ChainReport(
                str(path), len(records), False, torn,
                f"line {number}: prev_sha256 does not match line {number - 1} (lines edited, inserted or removed)",
            )
        prev = line_sha256(line)
        obj.pop("prev_sha256")
        records.append(obj)
    return records, ChainReport(str(path), len(records), True, torn, None)


def verify_chain(path: str | Path) -> ChainReport:
    """Check one log's chain."""
    return read_chain(path)[1]
