"""Progress on a terminal: each stage's name, and once a stage has run for 2 s, a line that
counts its seconds until the next stage starts (``piscan: analysing code... 14 s``).

Only for a person watching a terminal: with ``--quiet`` or when stderr is not a terminal
nothing is printed, so scripts, batch logs and case records keep only the summary or the one
error line.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

SHOW_AFTER_S = 2.0
TICK_S = 0.5


class TerminalProgress:
    """A callable progress sink; close() ends the last stage's counter."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._stage: str | None = None
        self._started = 0.0
        self._drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._end_line()
            self._stage, self._started = message, time.monotonic()
            self.stream.write(f"piscan: {message}\n")
            self.stream.flush()
        if self._thread is None:
            self._thread = threading.Thread(target=self._tick, name="piscan-progress", daemon=True)
            self._thread.start()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            with self._lock:
                if self._stage is None:
                    continue
                elapsed = time.monotonic() - self._started
                if elapsed >= SHOW_AFTER_S:
                    self.stream.write(f"\r\x1b[Kpiscan: {self._stage} ... {elapsed:.0f} s")
                    self.stream.flush()
                    self._drawn = True

    def _end_line(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False

    def close(self) -> None:
        """Stop the counter and end its line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        with self._lock:
            self._end_line()
            self._stage = None
