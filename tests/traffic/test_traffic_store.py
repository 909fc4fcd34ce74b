"""The hash-chained JSON-lines logs: append, reopen, tamper detection, torn last lines."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.traffic.store import GENESIS, ChainWriter, line_sha256, read_chain, verify_chain


def _write(path: Path, n: int) -> None:
    writer = ChainWriter(path)
    for i in range(1, n + 1):
        writer.append({"seq": i, "v": f"r{i}"})
    writer.close()


def test_chain_links_every_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    _write(path, 3)
    lines = path.read_bytes().splitlines()
    assert json.loads(lines[0])["prev_sha256"] == GENESIS
    assert json.loads(lines[2])["prev_sha256"] == line_sha256(lines[1])
    records, report = read_chain(path)
    assert [r["v"] for r in records] == ["r1", "r2", "r3"] and report.ok and not report.torn_tail


def test_reopen_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    _write(path, 2)
    writer = ChainWriter(path)
    assert writer.last_record is not None and writer.last_record["v"] == "r2"
    writer.append({"seq": 3, "v": "r3"})
    writer.close()
    assert verify_chain(path).records == 3 and verify_chain(path).ok


def test_edit_and_removal_are_detected_at_the_next_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    _write(path, 4)
    original = path.read_bytes()
    path.write_bytes(original.replace(b'"r2"', b'"rX"'))
    report = verify_chain(path)
    assert not report.ok and report.records == 2
    assert report.error == "line 3: prev_sha256 does not match line 2 (lines edited, inserted or removed)"
    lines = original.splitlines(keepends=True)
    path.write_bytes(lines[0] + lines[2] + lines[3])
    assert verify_chain(path).error.startswith("line 2: prev_sha256 does not match")


def test_torn_last_line_is_reported_not_fatal_and_moved_aside_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    _write(path, 3)
    with open(path, "ab") as handle:
        handle.write(b'{"seq":4,"v":"r')
    report = verify_chain(path)
    assert report.ok and report.torn_tail and report.records == 3
    size = len(path.read_bytes()) - len(b'{"seq":4,"v":"r')
    writer = ChainWriter(path)
    writer.append({"seq": 4, "v": "r4"})
    writer.close()
    assert (tmp_path / f"log.jsonl.torn-{size}").read_bytes() == b'{"seq":4,"v":"r'
    report = verify_chain(path)
    assert report.ok and not report.torn_tail and report.records == 4


def test_locked_writers_never_fork_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "marks.jsonl"
    first, second = ChainWriter(path, locked=True), ChainWriter(path, locked=True)
    for writer in (first, second, first, second):
        writer.append_with(lambda last: {"seq": (last["seq"] + 1) if last else 1})
    first.close()
    second.close()
    records, report = read_chain(path)
    assert report.ok and [r["seq"] for r in records] == [1, 2, 3, 4]


def test_group_commit_lines_are_written_at_once_and_chain(tmp_path: Path) -> None:
    """``sync=False`` defers only the fsync: each line is in the file (and survives the writer
    being killed) as soon as append returns; sync() and close() make the group durable."""
    path = tmp_path / "log.jsonl"
    writer = ChainWriter(path)
    writer.append({"seq": 1}, sync=False)
    assert path.read_bytes().count(b"\n") == 1
    writer.append({"seq": 2}, sync=False)
    writer.sync()
    assert writer.last_record == {"seq": 2, "prev_sha256": line_sha256(path.read_bytes().splitlines()[0])}
    writer.close()
    writer.close()  # closing twice is harmless
    assert verify_chain(path).records == 2 and verify_chain(path).ok
