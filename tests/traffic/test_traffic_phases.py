"""Consent phases: mark names, the tracker that follows marks.jsonl, the offline timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import UsageError
from scanner.traffic.phases import PhaseTimeline, PhaseTracker, append_mark, phase_for_mark
from scanner.traffic.session import init_session
from scanner.traffic.store import read_chain


@pytest.mark.parametrize("name,phase", [
    ("consent", "after_consent"), ("refuse", "after_refusal"), ("background", "background"),
    ("foreground", "foreground"), ("login_page", "login_page"), ("after_consent", "after_consent"),
])
def test_mark_names(name: str, phase: str) -> None:
    assert phase_for_mark(name) == phase


@pytest.mark.parametrize("name", ["Consent", "two words", "x" * 41, "1st", ""])
def test_bad_mark_names(name: str) -> None:
    with pytest.raises(UsageError, match="bad mark name"):
        phase_for_mark(name)


def test_mark_needs_a_session(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a PIScan session"):
        append_mark(tmp_path, "consent")


def test_tracker_sees_each_new_mark(tmp_path: Path) -> None:
    init_session(tmp_path, profile=None, now=1_700_000_000.0)
    tracker = PhaseTracker(tmp_path / "marks.jsonl")
    assert tracker.current() == "before_consent"
    append_mark(tmp_path, "consent", now=1_700_000_010.0)
    assert tracker.current() == "after_consent"
    append_mark(tmp_path, "background", now=1_700_000_020.0)
    append_mark(tmp_path, "foreground", now=1_700_000_030.0)
    assert tracker.current() == "foreground"
    with open(tmp_path / "marks.jsonl", "ab") as handle:  # a writer caught mid-line
        handle.write(b'{"seq":4,"phase":"ba')
    assert tracker.current() == "foreground"
    records, report = read_chain(tmp_path / "marks.jsonl")
    assert [(r["seq"], r["mark"], r["phase"], r["time"]) for r in records] == [
        (1, "consent", "after_consent", "2023-11-14T22:13:30.000Z"),
        (2, "background", "background", "2023-11-14T22:13:40.000Z"),
        (3, "foreground", "foreground", "2023-11-14T22:13:50.000Z"),
    ]
    assert report.torn_tail
    timeline = PhaseTimeline(records)
    assert [timeline.phase_at(t) for t in (1_700_000_005.0, 1_700_000_010.0, 1_700_000_025.0, 1_700_000_099.0)] == [
        "before_consent", "after_consent", "background", "foreground"]
