"""Seals: signed checkpoints over every byte of a session, written by the sealer process.

At each checkpoint (every ``interval`` seconds while anything changed, at least once a second by
default, and at start, stop and resume) the sealer

1. appends one chained line per new ``flows.mitm`` record to ``flows.index.jsonl`` (offset,
   length, sha256 and flow id: so every flow record is in a hash chain, while ``flows.mitm``
   stays mitmproxy's own format);
2. follows every chained log (events, marks, flow index, observations) up to its last complete
   line, checking each new line's link to the one before;
3. fsyncs all of them, and appends to ``seals.jsonl`` an envelope signed with the examiner key
   (:mod:`scanner.keys`) whose payload names, for each file, the records and bytes covered and
   the hash of its last covered line, the sha256 of ``session.json``, and the hash of the
   previous seal line.

A seal therefore fixes everything up to it: an edit anywhere before it, the removal of a tail, or
a chain rebuilt by someone without the key is found by ``piscan verify``. What was written after
the last seal is reported as not sealed. The sealer runs at normal priority (the analysis may
lag; sealing may not) and is told by the proxy when to write the final seal; if the proxy dies,
it waits for the analysis process to stop and seals what is on disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import select
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..keys import ExaminerKey
from .flowfile import dict_items, scalar
from .observation import iso_time
from .records import RecordTail
from .session import CHAINED_FILES, FLOW_INDEX_FILE, FLOWS_FILE, SEALS_FILE, SESSION_FILE
from .store import GENESIS, ChainWriter, line_sha256

log = logging.getLogger("piscan")
SEAL_FORMAT = "piscan-seal/1"
DEFAULT_INTERVAL = 0.5  #: seconds between checkpoints while anything changes (at most 1)
_PREV_KEY = b',"prev_sha256":"'
_READ_STEP = 8 << 20


def prev_of(line: bytes) -> str | None:
    """The ``prev_sha256`` of a chained line (always its last key), read without parsing the JSON."""
    body = line.rstrip(b"\n")
    cut = body.rfind(_PREV_KEY)
    if cut < 0 or not body.endswith(b'"}'):
        return None
    return body[cut + len(_PREV_KEY):-2].decode("ascii", "replace")


class ChainFollower:
    """Follows one chained log: complete lines only, each checked against the one before."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records = 0
        self.offset = 0
        self.head = GENESIS
        self.broken: str | None = None  #: where the chain broke while being followed

    def advance(self) -> bool:
        """Take in the lines written since the last call; whether any was added."""
        if self.broken is not None:
            return False
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(_READ_STEP)
        except FileNotFoundError:
            return False
        end = data.rfind(b"\n")
        if end < 0:
            return False
        added = False
        for line in data[:end].split(b"\n"):
            if prev_of(line) != self.head:
                self.broken = f"line {self.records + 1} does not follow line {self.records}"
                log.error("piscan: %s: %s; not sealed from there on", self.path.name, self.broken)
                return added
            self.head = line_sha256(line)
            self.records += 1
            self.offset += len(line) + 1
            added = True
        return added

    def covered(self) -> dict[str, Any]:
        """What a seal states about this file."""
        return {"records": self.records, "bytes": self.offset, "head": self.head}


class FlowIndexer:
    """Appends a chained index line for every complete record of ``flows.mitm``."""

    def __init__(self, root: Path) -> None:
        self.index = ChainWriter(root / FLOW_INDEX_FILE)
        last = self.index.last_record
        offset = int(last["offset"]) + int(last["length"]) if last else 0
        self.tail = RecordTail(root / FLOWS_FILE, offset=offset, seq=int(last["seq"]) if last else 0)

    @property
    def records(self) -> int:
        """Flow records indexed so far."""
        return self.tail.seq

    @property
    def end(self) -> int:
        """Bytes of ``flows.mitm`` indexed so far."""
        return self.tail.offset

    def advance(self, max_bytes: int = _READ_STEP) -> bool:
        """Index the records written since the last call (at most about ``max_bytes``)."""
        added = False
        for seq, offset, record in self.tail.read(max_bytes):
            try:
                flow_id = str(scalar(dict_items(record)["id"]))
            except (ValueError, KeyError):
                flow_id = None
            self.index.append({"seq": seq, "flow_id": flow_id, "offset": offset, "length": len(record),
                               "sha256": hashlib.sha256(record).hexdigest()}, sync=False)
            added = True
        return added

    def close(self) -> None:
        """Sync and close."""
        self.index.close()
        self.tail.close()


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Sealer:
    """Indexes, follows and seals one session (one sealer per session at a time: it holds the lock)."""

    def __init__(self, session: str | Path, key: ExaminerKey) -> None:
        self.root = Path(session)
        self.key = key
        self.indexer = FlowIndexer(self.root)
        self.followers = {name: ChainFollower(self.root / name) for name in CHAINED_FILES}
        self.seals = ChainWriter(self.root / SEALS_FILE)
        last = self.seals.last_record
        self.seq = int(last["payload"]["seq"]) if last else 0
        self._last_line = self.seals.last_line
        self._last_state: Any = None
        while any(f.advance() for f in self.followers.values()):
            pass  # take in everything already on disk (checked line by line)

    @property
    def head(self) -> str:
        """sha256 of the last seal line (what a case record should note), or the genesis hash."""
        return line_sha256(self._last_line) if self._last_line else GENESIS

    def advance(self) -> None:
        """Index new flows and follow every chained log to its end (in bounded steps)."""
        while self.indexer.advance():
            pass
        for follower in self.followers.values():
            while follower.advance():
                pass

    def checkpoint(self, kind: str = "checkpoint", *, force: bool = False, now: float | None = None,
                   note: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Seal what is on disk now; ``None`` when nothing changed since the last seal (unless ``force``)."""
        self.advance()
        files = {name: f.covered() for name, f in self.followers.items()}
        files[FLOWS_FILE] = {"records": self.indexer.records, "bytes": self.indexer.end}
        session_sha = hashlib.sha256((self.root / SESSION_FILE).read_bytes()).hexdigest()
        state = (json.dumps(files, sort_keys=True), session_sha)
        if state == self._last_state and not force:
            return None
        self.indexer.index.sync()
        for name in (FLOWS_FILE, *CHAINED_FILES):
            _fsync(self.root / name)
        stamp = time.time() if now is None else now
        self.seq += 1
        payload = {"format": SEAL_FORMAT, "seq": self.seq, "kind": kind, "time": iso_time(stamp), "ts": round(stamp, 6),
                   "prev_seal": self.head, "session_json": session_sha, "files": dict(sorted(files.items()))}
        if note:
            payload["note"] = note
        self._last_line = self.seals.append(self.key.envelope(payload))
        self._last_state = state
        return payload

    def close(self) -> None:
        """Close the files (the seals log is fsynced after every seal)."""
        self.indexer.close()
        self.seals.close()


def _wait_for_exit(pid: int | None, timeout: float) -> None:
    if not pid:
        return
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)
        return
    try:
        select.select([fd], [], [], timeout)
    finally:
        os.close(fd)


def run(config: dict[str, Any]) -> int:
    """The sealer process: a checkpoint every ``interval`` s; ``F`` on the control pipe asks for the
    final seal (its payload goes back on the reply pipe); end-of-file means the proxy died."""
    from ..keys import load_key
    from .helpers import helper_start

    helper_start(config, None)  # outlives a crashed proxy on purpose: it seals what is on disk
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    control, reply = config["control_fd"], config["reply_fd"]
    try:
        sealer = Sealer(config["session"], load_key(config["key"]))
    except (OSError, ValueError) as exc:
        log.error("piscan: the sealer cannot start: %s", getattr(exc, "message", exc))
        return 3
    interval = float(config["interval"])
    try:
        sealer.checkpoint(config.get("first_kind", "start"), force=True)
        os.write(reply, b"ready\n")
        next_at = time.monotonic() + interval
        while True:
            ready, _, _ = select.select([control], [], [], max(0.0, next_at - time.monotonic()))
            if ready:
                data = os.read(control, 64)
                if data.startswith(b"F"):
                    payload = sealer.checkpoint("close", force=True)
                    assert payload is not None
                    os.write(reply, json.dumps({"seq": payload["seq"], "head": sealer.head,
                                                "fingerprint": sealer.key.fingerprint,
                                                "files": payload["files"]}).encode() + b"\n")
                    return 0
                if not data:
                    # the proxy died: let the analysis process stop, then seal what reached the disk
                    _wait_for_exit(config.get("worker_pid"), 30)
                    sealer.checkpoint("proxy_died", force=True)
                    return 0
            if time.monotonic() >= next_at:
                sealer.checkpoint()
                next_at = time.monotonic() + interval
    finally:
        sealer.close()


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1])))
