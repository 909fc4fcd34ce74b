"""Tamper table: every edit to a sealed session makes `piscan verify` fail and name the file and line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.keys import create_key, load_key
from scanner.traffic.seal import Sealer
from scanner.traffic.verify import verify_session

SAMPLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "session-unbound"
DEMO_KEY = Path(__file__).resolve().parents[2] / "samples" / "examiner-demo-key.pem"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _rewrite(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"".join(change(_lines(path))))


def _set(line: bytes, old: bytes, new: bytes) -> bytes:
    assert old in line
    return line.replace(old, new, 1)


def last_observation_phase(root: Path) -> None:
    _rewrite(root / "observations.jsonl", lambda ls: ls[:-1] + [_set(ls[-1], b'"phase":"background"', b'"phase":"before_consent"')])


def middle_observation_phase(root: Path) -> None:
    _rewrite(root / "observations.jsonl", lambda ls: ls[:9] + [_set(ls[9], b'"phase":"before_consent"', b'"phase":"after_consent"')] + ls[10:])


def deleted_tail(root: Path) -> None:
    _rewrite(root / "observations.jsonl", lambda ls: ls[:-3])


def seq_gap(root: Path) -> None:
    _rewrite(root / "observations.jsonl", lambda ls: ls[:9] + ls[10:])


def repeated_line(root: Path) -> None:
    _rewrite(root / "observations.jsonl", lambda ls: ls[:6] + [ls[5]] + ls[6:])


def mark_time(root: Path) -> None:
    _rewrite(root / "marks.jsonl", lambda ls: ls[:-1] + [_set(ls[-1], b'"ts":1764359159.0', b'"ts":1764359100.0')])


def first_mark_time(root: Path) -> None:
    _rewrite(root / "marks.jsonl", lambda ls: [_set(ls[0], b'"time":"2025-11-28T19:43:19.000Z"', b'"time":"2025-11-28T19:43:29.000Z"')] + ls[1:])


def flows_byte(root: Path) -> None:
    data = bytearray((root / "flows.mitm").read_bytes())
    index = [json.loads(x) for x in _lines(root / "flows.index.jsonl")]
    where = index[4]["offset"] + index[4]["length"] // 2  # inside flow 5
    data[where] ^= 0x01
    (root / "flows.mitm").write_bytes(bytes(data))


def flows_cut(root: Path) -> None:
    data = (root / "flows.mitm").read_bytes()
    (root / "flows.mitm").write_bytes(data[:-100])


def index_line(root: Path) -> None:
    _rewrite(root / "flows.index.jsonl", lambda ls: ls[:2] + [_set(ls[2], b'"sha256":"', b'"sha256":"0')] + ls[3:])


def session_json(root: Path) -> None:
    text = (root / "session.json").read_text(encoding="utf-8")
    (root / "session.json").write_text(text.replace("lab phone 1 (example values)", "lab phone 2"), encoding="utf-8")


def start_event(root: Path) -> None:
    _rewrite(root / "events.jsonl", lambda ls: [_set(ls[0], b'"pid":0', b'"pid":1')] + ls[1:])


def resigned_without_the_key(root: Path) -> None:
    middle_observation_phase(root)
    (root / "seals.jsonl").unlink()
    (root / "flows.index.jsonl").unlink()
    attacker = create_key(root.parent / "attacker.pem")
    sealer = Sealer(root, attacker)
    sealer.checkpoint("close", force=True)
    sealer.close()


def swapped_seal_file(root: Path) -> None:
    other = root.parent / "other"
    shutil.copytree(root, other)
    from scanner.traffic.phases import append_mark

    append_mark(other, "foreground", now=1_764_359_300.0)
    sealer = Sealer(other, load_key(DEMO_KEY))
    sealer.checkpoint("close", force=True, now=1_764_359_301.0)
    sealer.close()
    shutil.copy(other / "seals.jsonl", root / "seals.jsonl")


def last_seal_removed(root: Path) -> None:
    _rewrite(root / "seals.jsonl", lambda ls: ls[:-1])


def seal_payload_edited(root: Path) -> None:
    _rewrite(root / "seals.jsonl", lambda ls: [ls[0]] + [_set(ls[1], b'"kind":"close"', b'"kind":"checkpoint"')])


def forged_line_appended(root: Path) -> None:
    lines = _lines(root / "observations.jsonl")
    import hashlib

    record = json.loads(lines[-1])
    record["seq"] = 25
    record["prev_sha256"] = hashlib.sha256(lines[-1].rstrip(b"\n")).hexdigest()
    (root / "observations.jsonl").write_bytes(b"".join(lines) + json.dumps(record, separators=(",", ":")).encode() + b"\n")


TABLE = [
    (last_observation_phase, "observations.jsonl", 24, "edited"),
    (middle_observation_phase, "observations.jsonl", 10, "edited"),
    (deleted_tail, "observations.jsonl", 22, "removed"),
    (seq_gap, "observations.jsonl", 10, "seq"),
    (repeated_line, "observations.jsonl", 7, "seq"),
    (mark_time, "marks.jsonl", 2, "edited"),
    (first_mark_time, "marks.jsonl", 1, "edited"),
    (flows_byte, "flows.mitm", 5, "edited"),
    (flows_cut, "flows.mitm", 24, "removed"),
    (index_line, "flows.index.jsonl", 3, "edited"),
    (session_json, "session.json", 8, "edited"),
    (start_event, "events.jsonl", 1, "edited"),
    (resigned_without_the_key, "seals.jsonl", 1, "key"),
    (swapped_seal_file, "marks.jsonl", 3, "removed"),
    (last_seal_removed, "seals.jsonl", 1, "not_closed"),
    (seal_payload_edited, "seals.jsonl", 2, "signature"),
    (forged_line_appended, "observations.jsonl", 25, "unsealed"),
]


@pytest.mark.parametrize(("edit", "file", "line", "kind"), TABLE, ids=[row[0].__name__ for row in TABLE])
def test_every_edit_fails_verify_at_the_right_line(tmp_path: Path, capsys, edit, file: str, line: int, kind: str) -> None:
    root = tmp_path / "session"
    shutil.copytree(SAMPLE, root)
    assert verify_session(root, expected_fingerprint=load_key(DEMO_KEY).fingerprint).ok
    edit(root)
    report = verify_session(root, expected_fingerprint=load_key(DEMO_KEY).fingerprint)
    assert not report.ok
    found = {(p.file, p.line, p.kind) for p in report.problems}
    assert (file, line, kind) in found, [p.text() for p in report.problems]
    assert main(["verify", str(root), "--key", str(DEMO_KEY)]) == 3
    out = capsys.readouterr().out
    assert "verify: FAILED" in out and file in out


def test_the_table_covers_at_least_twelve_edits() -> None:
    assert len(TABLE) >= 12
