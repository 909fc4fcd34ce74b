"""Consent phases: ``marks.jsonl`` is the source of truth, shared by the CLI, the addon and offline analysis.

A session starts in ``before_consent``. ``piscan mark consent|refuse|background|foreground``
(or ``piscan mark --custom NAME``, or the mitmproxy commands ``piscan.mark`` /
``piscan.mark_custom``) appends a chained record with the time it took effect. A request belongs
to the phase in force when it *started* (the client's first byte, mitmproxy's
``timestamp_start``), live and offline alike: both look the time up in the same
:class:`PhaseTimeline`.

Live, the analysis process must not look a request up before every mark that precedes it is
visible. ``append_mark`` takes its time stamp while it holds the marks file's exclusive lock;
:class:`LiveTimeline` reads the file under the shared lock and notes the time it got the lock.
Every mark stamped before that time was written before the lock was granted, so a request that
started before that time is looked up in a complete timeline.
"""

from __future__ import annotations

import bisect
import difflib
import fcntl
import os
import re
import time
from pathlib import Path
from typing import Any

from .. import safejson
from ..errors import UsageError
from .observation import iso_time
from .store import ChainWriter

INITIAL_PHASE = "before_consent"
MARK_PHASES: dict[str, str] = {
    "consent": "after_consent",
    "refuse": "after_refusal",
    "background": "background",
    "foreground": "foreground",
}
_CUSTOM_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
_RESERVED = frozenset({*MARK_PHASES, *MARK_PHASES.values(), INITIAL_PHASE, "unmarked"})
MARKS_FILE = "marks.jsonl"


def phase_for_mark(name: str, *, custom: bool = False) -> str:
    """The phase a mark switches to; ``UsageError`` with a suggestion for an unknown name.

    Standard marks are a closed set, so that a typo never becomes a phase of its own; anything
    else must be asked for as a custom phase (``custom=True``), a short lower-case identifier.
    """
    if custom:
        if name in _RESERVED:
            hint = f"`piscan mark {name}`" if name in MARK_PHASES else "one of the standard marks"
            raise UsageError(f"{name!r} is a standard phase name, not a custom one: use {hint}")
        if not _CUSTOM_RE.match(name):
            raise UsageError(f"bad custom phase name {name!r}: lower-case letters, digits, '_', '.', '-' "
                             "(at most 40, starting with a letter)")
        return name
    if name in MARK_PHASES:
        return MARK_PHASES[name]
    by_phase = {phase: mark for mark, phase in MARK_PHASES.items()}
    guess = by_phase.get(name) or next(iter(difflib.get_close_matches(name, list(MARK_PHASES), n=1, cutoff=0.5)), None)
    suggestion = f"did you mean {guess!r}? " if guess else ""
    raise UsageError(f"unknown mark {name!r}: {suggestion}marks are {', '.join(MARK_PHASES)}; "
                     f"for another phase give --custom {name if _CUSTOM_RE.match(name) else 'NAME'}")


def append_mark(session_dir: str | Path, name: str, *, custom: bool = False, source: str = "cli",
                now: float | None = None) -> dict[str, Any]:
    """Append a mark to the session's ``marks.jsonl`` (locked, chained, fsynced); return it.

    The time stamp is taken under the file's exclusive lock (see the module docstring); ``now``
    pins it (the sample session only).
    """
    phase = phase_for_mark(name, custom=custom)
    session = Path(session_dir)
    if not (session / "session.json").is_file():
        raise UsageError(f"{session}: not a PIScan session (no session.json); start `piscan proxy --session {session}` first")
    writer = ChainWriter(session / MARKS_FILE, locked=True)

    def record(last: dict[str, Any] | None) -> dict[str, Any]:
        stamp = time.time() if now is None else now
        return {"seq": (last["seq"] + 1) if last else 1, "time": iso_time(stamp), "ts": round(stamp, 6),
                "mark": name, "phase": phase, "custom": custom, "source": source}

    try:
        line = writer.append_with(record)
    finally:
        writer.close()
    return safejson.loads(line)


class PhaseTimeline:
    """Phase at a given time, from a list of marks (offline analysis of a session's flows)."""

    def __init__(self, marks: list[dict[str, Any]]) -> None:
        rows = sorted((float(m["ts"]), int(m["seq"]), str(m["phase"])) for m in marks
                      if isinstance(m, dict) and "ts" in m and "phase" in m)
        self._times = [r[0] for r in rows]
        self._phases = [r[2] for r in rows]

    def phase_at(self, timestamp: float) -> str:
        """The phase in force at ``timestamp``: that of the last mark stamped at or before it."""
        index = bisect.bisect_right(self._times, timestamp)
        return self._phases[index - 1] if index else INITIAL_PHASE


class LiveTimeline:
    """The phase in force at a time, for the analysis process while marks are still being added."""

    def __init__(self, marks_path: str | Path) -> None:
        self.path = Path(marks_path)
        self._marks: list[dict[str, Any]] = []
        self._offset = 0
        self._complete_until = float("-inf")  #: every mark stamped before this time is known
        self._size = -1
        self._timeline = PhaseTimeline([])

    def phase_at(self, timestamp: float) -> str:
        """The phase in force at ``timestamp`` (re-reads the marks only when they may have changed)."""
        if timestamp >= self._complete_until or self._size_changed():
            self._refresh()
        return self._timeline.phase_at(timestamp)

    def _size_changed(self) -> bool:
        try:
            return os.stat(self.path).st_size != self._size
        except FileNotFoundError:
            return False

    def _refresh(self) -> None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            # a mark made from now on creates the file first and is stamped after that
            self._complete_until = time.time()
            return
        with handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            try:
                granted = time.time()
                handle.seek(self._offset)
                chunk = handle.read()
                self._size = self._offset + len(chunk)
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        end = chunk.rfind(b"\n")
        if end >= 0:
            for line in chunk[:end].split(b"\n"):
                try:
                    self._marks.append(safejson.loads(line))
                except ValueError:
                    continue
            self._offset += end + 1
            self._timeline = PhaseTimeline(self._marks)
        self._complete_until = granted
