"""Consent phases: ``marks.jsonl`` is the source of truth, shared by the CLI and the addon.

A session starts in ``before_consent``. ``piscan mark consent|refuse|background|foreground|NAME``
(or the mitmproxy command ``piscan.mark``) appends a chained record; the addon's
:class:`PhaseTracker` notices the file grew (one ``stat`` per request) and reads only the new
lines, so the next request carries the new phase.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import time
from pathlib import Path
from typing import Any

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
MARKS_FILE = "marks.jsonl"


def phase_for_mark(name: str) -> str:
    """The phase a mark switches to; custom names must be short lower-case identifiers."""
    if name in MARK_PHASES:
        return MARK_PHASES[name]
    if name in MARK_PHASES.values() or name == INITIAL_PHASE:
        return name
    if not _CUSTOM_RE.match(name):
        raise UsageError(
            f"bad mark name {name!r}: use consent, refuse, background, foreground or a custom name "
            "of lower-case letters, digits, '_', '.', '-' (max 40, starting with a letter)"
        )
    return name


def append_mark(session_dir: str | Path, name: str, *, source: str = "cli", now: float | None = None) -> dict[str, Any]:
    """Append a mark to the session's ``marks.jsonl`` (locked, chained, fsynced); return it."""
    phase = phase_for_mark(name)
    session = Path(session_dir)
    if not (session / "session.json").is_file():
        raise UsageError(f"{session}: not a PIScan session (no session.json); start `piscan proxy --session {session}` first")
    stamp = time.time() if now is None else now
    writer = ChainWriter(session / MARKS_FILE, locked=True)
    try:
        line = writer.append_with(lambda last: {
            "seq": (last["seq"] + 1) if last else 1,
            "time": iso_time(stamp),
            "ts": round(stamp, 6),
            "mark": name,
            "phase": phase,
            "source": source,
        })
    finally:
        writer.close()
    return json.loads(line)


class PhaseTracker:
    """The phase in force, re-read from ``marks.jsonl`` only when the file's size changed."""

    def __init__(self, marks_path: str | Path) -> None:
        self.path = Path(marks_path)
        self.phase = INITIAL_PHASE
        self._offset = 0
        self._size = -1

    def current(self) -> str:
        """The current phase (one ``stat`` call unless a mark was added)."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return self.phase
        if size != self._size:
            self._size = size
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(size - self._offset)
            end = chunk.rfind(b"\n")
            if end >= 0:
                for line in chunk[:end].split(b"\n"):
                    try:
                        self.phase = str(json.loads(line)["phase"])
                    except (ValueError, KeyError, TypeError):
                        continue
                self._offset += end + 1
        return self.phase


class PhaseTimeline:
    """Phase at a given time, from a list of marks (offline analysis of a session's flows)."""

    def __init__(self, marks: list[dict[str, Any]]) -> None:
        rows = sorted((float(m["ts"]), int(m["seq"]), str(m["phase"])) for m in marks)
        self._times = [r[0] for r in rows]
        self._phases = [r[2] for r in rows]

    def phase_at(self, timestamp: float) -> str:
        """The phase in force at ``timestamp``."""
        index = bisect.bisect_right(self._times, timestamp)
        return self._phases[index - 1] if index else INITIAL_PHASE
