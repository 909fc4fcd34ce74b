"""Phases: a closed set of marks, custom phases on request, and the phase at a request's start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.errors import UsageError
from scanner.traffic.phases import LiveTimeline, PhaseTimeline, append_mark, phase_for_mark


@pytest.mark.parametrize(("name", "phase"), [
    ("consent", "after_consent"), ("refuse", "after_refusal"), ("background", "background"), ("foreground", "foreground"),
])
def test_standard_marks(name: str, phase: str) -> None:
    assert phase_for_mark(name) == phase


@pytest.mark.parametrize(("name", "custom", "message"), [
    ("consnet", False, "unknown mark 'consnet': did you mean 'consent'\\?"),
    ("backgroud", False, "did you mean 'background'\\?"),
    ("after_consent", False, "did you mean 'consent'\\?"),
    ("login_page", False, "for another phase give --custom login_page"),
    ("Bad Name", False, "for another phase give --custom NAME"),
    ("consent", True, "'consent' is a standard phase name, not a custom one: use `piscan mark consent`"),
    ("before_consent", True, "standard phase name"),
    ("Bad Name", True, "bad custom phase name 'Bad Name'"),
    ("x" * 41, True, "bad custom phase name"),
])
def test_unknown_and_bad_mark_names_are_refused_with_a_suggestion(name: str, custom: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        phase_for_mark(name, custom=custom)


def test_custom_phase(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text("{}")
    record = append_mark(tmp_path, "login_page", custom=True, now=1_700_000_000.0)
    assert (record["mark"], record["phase"], record["custom"]) == ("login_page", "login_page", True)


def test_cli_refuses_a_typo_in_one_line_and_writes_nothing(tmp_path: Path, capsys) -> None:
    (tmp_path / "session.json").write_text("{}")
    assert main(["mark", "consnet", "--session", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'consent'?" in err
    assert not (tmp_path / "marks.jsonl").exists()
    assert main(["mark", "--custom", "login_page", "--session", str(tmp_path)]) == 0


def test_mark_needs_a_session(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a PIScan session"):
        append_mark(tmp_path, "consent")


def test_live_and_offline_timelines_agree_at_every_instant(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text("{}")
    live = LiveTimeline(tmp_path / "marks.jsonl")
    assert live.phase_at(1_700_000_000.0) == "before_consent"
    append_mark(tmp_path, "consent", now=1_700_000_010.0)
    append_mark(tmp_path, "background", now=1_700_000_020.0)
    append_mark(tmp_path, "foreground", now=1_700_000_030.0)
    marks = [json.loads(line) for line in (tmp_path / "marks.jsonl").read_text().splitlines()]
    offline = PhaseTimeline(marks)
    # a request that started a moment before the mark keeps the earlier phase, in both
    for moment in (1_700_000_009.999, 1_700_000_010.0, 1_700_000_015.0, 1_700_000_025.0, 1_700_000_031.0):
        assert live.phase_at(moment) == offline.phase_at(moment)
    assert [offline.phase_at(t) for t in (1_700_000_009.999, 1_700_000_010.0, 1_700_000_031.0)] == [
        "before_consent", "after_consent", "foreground"]


def test_live_timeline_reads_a_mark_made_after_it_last_looked(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text("{}")
    live = LiveTimeline(tmp_path / "marks.jsonl")
    record = append_mark(tmp_path, "consent")  # stamped now, after the timeline was created
    assert live.phase_at(record["ts"]) == "after_consent"
    assert live.phase_at(record["ts"] - 0.001) == "before_consent"
