"""Progress on a terminal: stage lines, then a seconds counter once a stage passes 2 s;
nothing at all when the stream is not a terminal."""

from __future__ import annotations

import io
import time

from scanner import progress as progress_module
from scanner.progress import TerminalProgress


def test_a_long_stage_gets_a_seconds_counter(monkeypatch) -> None:
    monkeypatch.setattr(progress_module, "SHOW_AFTER_S", 0.2)
    monkeypatch.setattr(progress_module, "TICK_S", 0.05)
    out = io.StringIO()
    sink = TerminalProgress(out, enabled=True)
    sink("reading the DEX files")
    time.sleep(0.5)
    sink("evaluating the rules")
    sink.close()
    text = out.getvalue()
    assert text.startswith("piscan: reading the DEX files\n")
    assert "\r\x1b[Kpiscan: reading the DEX files ... " in text
    assert text.rstrip("\n").endswith("piscan: evaluating the rules")  # a short stage gets no counter


def test_nothing_is_written_off_a_terminal() -> None:
    out = io.StringIO()  # isatty() is False
    sink = TerminalProgress(out)
    sink("reading the DEX files")
    sink.close()
    assert out.getvalue() == ""
