"""``piscan verify SESSION``: is this everything, and is it unchanged? A report of every problem.

:func:`verify_session` checks a session folder against its seals (:mod:`scanner.traffic.seal`)
and returns a :class:`SessionVerification`: the sealed range of each file, and every problem
found, each with the file, the line (or flow record) and what is wrong:

- seals: each line's signature, that all are made by one key and by the expected key, their
  numbering and their chain;
- every chained log (events, marks, flow index, observations): edited, inserted or removed
  lines, ``seq`` gaps and repeats, lines that a seal covered and are gone or changed, lines not
  sealed yet, an incomplete last line;
- ``flows.mitm``: each record against the sha256 in the flow index, records not indexed (and so
  not sealed), a cut-off last record;
- ``session.json`` against the hash the seals hold (the line that changed, from the copy in the
  start record);
- flows without an observation (not analysed yet: ``piscan traffic resume``) and observations
  without their flow;
- whether the recording ended with a final seal, and restarts whose previous seal does not match.

A session is OK only when it is fully sealed by the expected key and consistent. Notes (an
abnormal end the sealer recorded, ranges sealed only at a restart) are reported but are not
failures. This module prints nothing; the CLI and the case-bundle code present the report.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import mmap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import safejson
from ..keys import check_envelope
from .flowfile import RecordError, split_records
from .seal import prev_of
from .session import (
    CHAINED_FILES, EVENTS_FILE, FLOW_INDEX_FILE, FLOWS_FILE, OBSERVATIONS_FILE, SEALS_FILE, SESSION_FILE,
    load_session_meta)
from .store import GENESIS, line_sha256

FINAL_KINDS = frozenset({"close", "resume", "proxy_died"})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a session: ``kind``, the file, the 1-based line or flow record, what."""

    kind: str  #: edited | removed | seq | unsealed | torn | signature | key | not_closed | unanalysed | orphan | damaged
    file: str
    line: int | None
    what: str

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        return {"kind": self.kind, "file": self.file, "line": self.line, "what": self.what}

    def text(self) -> str:
        """``file line N: what``."""
        where = f"{self.file} line {self.line}" if self.line is not None else self.file
        if self.file == FLOWS_FILE and self.line is not None:
            where = f"{self.file} flow {self.line}"
        return f"{where}: {self.what}"


@dataclass(frozen=True)
class FileState:
    """How much of one file exists and how much the last seal covers."""

    file: str
    records: int
    bytes: int
    sealed_records: int
    sealed_bytes: int

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        return {"file": self.file, "records": self.records, "bytes": self.bytes,
                "sealed_records": self.sealed_records, "sealed_bytes": self.sealed_bytes}


@dataclass(frozen=True)
class SessionVerification:
    """The outcome of verifying one session folder."""

    session: str
    fingerprint: str | None  #: key of the seals (None when there is no valid seal)
    expected_fingerprint: str | None
    seals: int
    last_seal: dict[str, Any] | None  #: seq, kind, time, head (sha256 of the last seal line)
    files: tuple[FileState, ...]
    flows: int
    observations: int
    unanalysed: tuple[tuple[int, int], ...]  #: ranges of flow numbers without an observation
    restarts: int
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Fully sealed by the expected key and consistent."""
        return not self.problems

    @property
    def closed(self) -> bool:
        """The recording ended with a final seal."""
        return bool(self.last_seal and self.last_seal["kind"] in FINAL_KINDS)

    def summary(self) -> str:
        """One line: OK, or how many problems and the first."""
        if self.ok:
            return (f"OK: fully sealed and consistent ({self.flows} flows, {self.observations} observations, "
                    f"{self.seals} seals by {self.fingerprint})")
        return f"FAILED: {len(self.problems)} problem(s); first: {self.problems[0].text()}"

    def to_json(self) -> dict[str, Any]:
        """Plain dict (the ``--json`` output and the result's session section)."""
        return {
            "ok": self.ok, "fingerprint": self.fingerprint, "expected_fingerprint": self.expected_fingerprint,
            "seals": self.seals, "last_seal": self.last_seal, "closed": self.closed,
            "files": [f.to_json() for f in self.files], "flows": self.flows, "observations": self.observations,
            "unanalysed": [list(r) for r in self.unanalysed], "restarts": self.restarts,
            "problems": [p.to_json() for p in self.problems], "notes": list(self.notes),
        }


@dataclass
class _Chain:
    """A chained log as read from disk."""

    name: str
    lines: list[bytes]
    hashes: list[str]
    records: list[dict[str, Any] | None]
    torn: bool
    size: int


def _read_chain(path: Path) -> _Chain:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = b""
    parts = data.split(b"\n")
    torn = parts[-1] != b""
    lines = parts[:-1]
    records: list[dict[str, Any] | None] = []
    for line in lines:
        try:
            obj = safejson.loads(line)
        except (ValueError, UnicodeDecodeError):
            obj = None
        records.append(obj if isinstance(obj, dict) else None)
    return _Chain(path.name, lines, [line_sha256(x) for x in lines], records, torn, len(data) - (len(parts[-1]) if torn else 0))


def _ranges(numbers: list[int]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return tuple((a, b) for a, b in out)


def _span(first: int, last: int, noun: str = "lines") -> str:
    return f"{noun[:-1]} {first}" if first == last else f"{noun} {first}–{last}"


class _Verifier:
    def __init__(self, root: Path, expected: str | None) -> None:
        self.root = root
        self.expected = expected
        self.problems: list[Problem] = []
        self.notes: list[str] = []

    def problem(self, kind: str, file: str, line: int | None, what: str) -> None:
        self.problems.append(Problem(kind, file, line, what))

    # -- seals ---------------------------------------------------------------------------------
    def seals(self) -> tuple[list[tuple[int, dict[str, Any], str]], str | None]:
        chain = _read_chain(self.root / SEALS_FILE)
        valid: list[tuple[int, dict[str, Any], str]] = []
        fingerprint: str | None = None
        prev = GENESIS
        last_seq = 0
        for number, (_line, obj) in enumerate(zip(chain.lines, chain.records), start=1):
            if obj is None:
                self.problem("edited", SEALS_FILE, number, "not a JSON object")
                prev = chain.hashes[number - 1]
                continue
            if obj.get("prev_sha256") != prev:
                self.problem("edited", SEALS_FILE, number, f"does not follow line {number - 1} "
                             "(seal lines edited, inserted, removed or swapped)")
            envelope = {k: v for k, v in obj.items() if k != "prev_sha256"}
            error = check_envelope(envelope, expected_fingerprint=self.expected)
            payload = envelope.get("payload") if isinstance(envelope.get("payload"), dict) else {}
            if error is not None:
                kind = "key" if "not by the expected key" in error else "signature"
                self.problem(kind, SEALS_FILE, number, f"seal {payload.get('seq', '?')}: {error}")
            elif fingerprint is None:
                fingerprint = envelope["fingerprint"]
            elif envelope["fingerprint"] != fingerprint:
                self.problem("key", SEALS_FILE, number, f"signed by {envelope['fingerprint']}, "
                             f"but the earlier seals by {fingerprint}")
            seq = payload.get("seq")
            if seq != last_seq + 1:
                self.problem("seq", SEALS_FILE, number, _seq_text(seq, last_seq))
            if payload.get("prev_seal") != prev:
                self.problem("edited", SEALS_FILE, number, "its signed link to the previous seal does not match "
                             f"line {number - 1} (a seal was removed, inserted or swapped)")
            if isinstance(seq, int):
                last_seq = seq
            if error is None:
                valid.append((number, payload, chain.hashes[number - 1]))
            prev = chain.hashes[number - 1]
        if chain.torn:
            self.problem("torn", SEALS_FILE, len(chain.lines) + 1, "incomplete last line (a seal cut off by a crash)")
        if not valid:
            self.problem("unsealed", SEALS_FILE, None, "no valid seal: nothing in this session is sealed")
        if self.expected is None and fingerprint is not None:
            self.problem("key", SEALS_FILE, None, f"the seals verify under key {fingerprint}, but no expected key was "
                         "given: anyone can make a key, so name yours (--fingerprint from the case record, or --key)")
        return valid, fingerprint

    # -- one chained log -------------------------------------------------------------------------
    def chain(self, name: str, seals: list[tuple[int, dict[str, Any], str]]) -> tuple[_Chain, int, int]:
        chain = _read_chain(self.root / name)
        n = len(chain.lines)
        link_ok = [prev_of(chain.lines[i]) == (chain.hashes[i - 1] if i else GENESIS) for i in range(n)]
        anchors: dict[int, tuple[str, int]] = {}
        sealed_records = sealed_bytes = 0
        for _, payload, _ in seals:
            covered = (payload.get("files") or {}).get(name) or {}
            records = int(covered.get("records", 0))
            if records:
                anchors[records] = (str(covered.get("head")), int(payload["seq"]))
            sealed_records, sealed_bytes = records, int(covered.get("bytes", 0))
        # lines a seal covered that are gone
        longest = max(anchors, default=0)
        if longest > n:
            seal = anchors[longest][1]
            self.problem("removed", name, n + 1, f"{_span(n + 1, longest)} are gone: seal #{seal} covered {longest} lines")
        # seq: each record's number follows the one before
        last_seq = 0
        seq_bad: set[int] = set()
        for number, obj in enumerate(chain.records, start=1):
            if obj is None:
                self.problem("edited", name, number, "not a JSON object")
                continue
            seq = obj.get("seq")
            if seq != last_seq + 1:
                self.problem("seq", name, number, _seq_text(seq, last_seq))
                seq_bad.add(number)
            if isinstance(seq, int):
                last_seq = seq
        # broken links: name the line that changed where the neighbours tell
        for i in range(n):
            if link_ok[i] or chain.records[i] is None:
                continue
            number = i + 1
            if number in seq_bad:
                continue  # already reported as records removed or inserted before this line
            confirmed_here = (i + 1 < n and link_ok[i + 1]) or anchors.get(number, ("", 0))[0] == chain.hashes[i]
            if number > 1 and confirmed_here:
                self.problem("edited", name, number - 1, f"changed: line {number} no longer links to it")
            else:
                self.problem("edited", name, number, f"changed: it no longer links to line {number - 1}"
                             if number > 1 else "changed: the first line must link to the genesis hash")
        # seal anchors: the hash of the last covered line (catches a changed last line, a rewritten chain)
        matched = 0
        for records in sorted(anchors):
            head, seal = anchors[records]
            if records > n:
                break
            if chain.hashes[records - 1] != head:
                if all(link_ok[i] for i in range(matched, records)):
                    earlier = "" if records == matched + 1 else (
                        f" (or, if the links after it were redone, a line from {matched + 1} on)")
                    self.problem("edited", name, records, f"changed since seal #{seal}{earlier}")
                break
            matched = records
        if n > sealed_records:
            when = f"seal #{seals[-1][1]['seq']} at {seals[-1][1]['time']}" if seals else "any seal"
            self.problem("unsealed", name, sealed_records + 1, f"{_span(sealed_records + 1, n)} not sealed "
                         f"(written after {when})")
        if chain.torn:
            self.problem("torn", name, n + 1, "incomplete last line (cut off by a crash): not sealed")
        return chain, sealed_records, sealed_bytes

    # -- flows.mitm against the index --------------------------------------------------------------
    def flows(self, index: _Chain, sealed: dict[str, Any]) -> tuple[int, int]:
        path = self.root / FLOWS_FILE
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            if index.lines or sealed.get("records"):
                self.problem("removed", FLOWS_FILE, None, "missing, but the flow index lists flows")
            return 0, 0
        with handle:
            size = path.stat().st_size
            data: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            try:
                return self._flows_against_index(data, size, index, sealed)
            finally:
                if size:
                    data.close()

    def _flows_against_index(self, data: Any, size: int, index: _Chain, sealed: dict[str, Any]) -> tuple[int, int]:
        end = 0
        indexed = 0
        for number, rec in enumerate(index.records, start=1):
            if rec is None:
                continue
            offset, length = int(rec.get("offset", -1)), int(rec.get("length", -1))
            if offset != end:
                self.problem("edited", FLOW_INDEX_FILE, number, f"flow {number} starts at byte {offset}, "
                             f"but the flow before it ends at byte {end}")
            if offset + length > size:
                self.problem("removed", FLOWS_FILE, number, f"cut short: flow {number} needs bytes {offset}–"
                             f"{offset + length - 1}, the file has {size}")
                break
            digest = hashlib.sha256(memoryview(data)[offset:offset + length]).hexdigest()
            if digest != rec.get("sha256"):
                self.problem("edited", FLOWS_FILE, number, f"changed: bytes {offset}–{offset + length - 1} differ from "
                             f"what {FLOW_INDEX_FILE} line {number} recorded")
            end = offset + length
            indexed = number
        if int(sealed.get("bytes", 0)) > size:
            self.problem("removed", FLOWS_FILE, None, f"{int(sealed['bytes']) - size} sealed bytes are gone "
                         f"(sealed {sealed['bytes']}, the file has {size})")
        # what follows the index: complete records not indexed (not sealed), a cut-off last one
        try:
            spans, used = split_records(memoryview(data)[end:size]) if size > end else ([], 0)
        except RecordError as exc:
            self.problem("damaged", FLOWS_FILE, indexed + 1, f"not a flow record at byte {end}: {exc}")
            return indexed, size
        if spans:
            self.problem("unsealed", FLOWS_FILE, indexed + 1, f"{_span(indexed + 1, indexed + len(spans), 'flows')} "
                         f"(bytes {end}–{end + used - 1}) not indexed and not sealed")
        if end + used < size:
            self.problem("torn", FLOWS_FILE, indexed + len(spans) + 1, f"incomplete last record (bytes {end + used}–"
                         f"{size - 1}, cut off by a crash): not sealed")
        return indexed + len(spans), size

    # -- session.json ------------------------------------------------------------------------------
    def session_json(self, seals: list[tuple[int, dict[str, Any], str]], events: _Chain) -> None:
        if not seals:
            return
        data = (self.root / SESSION_FILE).read_bytes()
        if hashlib.sha256(data).hexdigest() == seals[-1][1].get("session_json"):
            return
        line = None
        start = next((r for r in events.records if r and r.get("event") == "start"), None)
        if start and isinstance(start.get("session"), dict):
            original = (json.dumps(start["session"], ensure_ascii=False, indent=2) + "\n").splitlines()
            current = data.decode("utf-8", "replace").splitlines()
            for tag, i1, _i2, _j1, _j2 in difflib.SequenceMatcher(a=original, b=current).get_opcodes():
                if tag != "equal":
                    line = i1 + 1
                    break
        self.problem("edited", SESSION_FILE, line, f"changed since seal #{seals[-1][1]['seq']} "
                     "(its sha256 differs from the sealed one)")

    # -- the recording's lifecycle -------------------------------------------------------------------
    def lifecycle(self, seals: list[tuple[int, dict[str, Any], str]], events: _Chain) -> int:
        by_seq = {payload["seq"]: (payload, digest) for _, payload, digest in seals}
        restarts = 0
        for number, rec in enumerate(events.records, start=1):
            if not rec or rec.get("event") != "restart":
                continue
            restarts += 1
            previous = rec.get("previous_seal")
            if previous:
                known = by_seq.get(previous.get("seq"))
                if known is None or known[1] != previous.get("sha256"):
                    self.problem("edited", EVENTS_FILE, number, f"restart record names seal #{previous.get('seq')} "
                                 f"({str(previous.get('sha256'))[:12]}…), which is not in {SEALS_FILE}")
        previous_kind = None
        for _number, payload, _ in seals:
            if payload.get("kind") in ("restart", "resume") and previous_kind not in (None, "close", "resume", "proxy_died"):
                self.notes.append(f"seal #{payload['seq']} ({payload['kind']}, {payload['time']}) followed a run that ended "
                                  "without a final seal: what it newly covers was sealed only then")
            if payload.get("kind") == "proxy_died":
                self.notes.append(f"the proxy stopped abnormally; the sealer sealed what had reached the disk "
                                  f"(seal #{payload['seq']}, {payload['time']})")
            previous_kind = payload.get("kind")
        if seals and seals[-1][1].get("kind") not in FINAL_KINDS:
            last = seals[-1][1]
            self.problem("not_closed", SEALS_FILE, seals[-1][0], f"the recording has no final seal: the last is "
                         f"checkpoint #{last['seq']} at {last['time']}; flows the phone sent after that may be lost")
        return restarts


def _seq_text(seq: Any, last: int) -> str:
    if not isinstance(seq, int):
        return f"seq {seq!r} is not a number"
    if seq == last:
        return f"seq {seq} repeats the line before"
    if seq > last + 1:
        missing = _span(last + 1, seq - 1, "records")
        return f"seq gap: {missing} missing before seq {seq}"
    return f"seq {seq} after {last}: out of order"


def verify_session(session_dir: str | Path, *, expected_fingerprint: str | None = None) -> SessionVerification:
    """Verify a session folder (see the module docstring); ``InputError`` if it is not a session."""
    root = Path(session_dir)
    load_session_meta(root)
    v = _Verifier(root, expected_fingerprint)
    seals, fingerprint = v.seals()
    last = seals[-1][1] if seals else {}
    chains: dict[str, _Chain] = {}
    states = []
    for name in CHAINED_FILES:
        chain, sealed_records, sealed_bytes = v.chain(name, seals)
        chains[name] = chain
        states.append(FileState(name, len(chain.lines), chain.size, sealed_records, sealed_bytes))
    sealed_flows = (last.get("files") or {}).get(FLOWS_FILE) or {}
    flows, flows_size = v.flows(chains[FLOW_INDEX_FILE], sealed_flows)
    states.insert(0, FileState(FLOWS_FILE, flows, flows_size, int(sealed_flows.get("records", 0)),
                               int(sealed_flows.get("bytes", 0))))
    v.session_json(seals, chains[EVENTS_FILE])
    # observations against flows: same numbering, same flow ids
    index = chains[FLOW_INDEX_FILE].records
    observations = [r for r in chains[OBSERVATIONS_FILE].records if r is not None]
    for number, obs in enumerate(chains[OBSERVATIONS_FILE].records, start=1):
        if obs is None or number > len(index):
            continue
        flow = index[number - 1]
        if flow is not None and obs.get("flow_id") != flow.get("flow_id"):
            v.problem("orphan", OBSERVATIONS_FILE, number, f"observation of flow {obs.get('flow_id')}, but flow {number} in "
                      f"{FLOWS_FILE} is {flow.get('flow_id')}")
    analysed = len(chains[OBSERVATIONS_FILE].lines)
    if analysed > flows:
        v.problem("orphan", OBSERVATIONS_FILE, flows + 1, f"{_span(flows + 1, analysed)}: observations without a flow "
                  f"({FLOWS_FILE} holds {flows})")
    unanalysed = _ranges(list(range(analysed + 1, flows + 1)))
    for first, last_flow in unanalysed:
        v.problem("unanalysed", FLOWS_FILE, first, f"{_span(first, last_flow, 'flows')} captured but not analysed yet "
                  f"(`piscan traffic resume {root}` analyses them)")
    restarts = v.lifecycle(seals, chains[EVENTS_FILE])
    for torn in sorted(root.glob("*.torn-*")):
        v.notes.append(f"{torn.name}: {torn.stat().st_size} bytes cut off by a crash, moved aside at a restart")
    last_seal = None
    if seals:
        last_seal = {"seq": last["seq"], "kind": last.get("kind"), "time": last.get("time"), "head": seals[-1][2]}
    return SessionVerification(
        session=str(root), fingerprint=fingerprint, expected_fingerprint=expected_fingerprint, seals=len(seals),
        last_seal=last_seal, files=tuple(states), flows=flows, observations=len(observations), unanalysed=unanalysed,
        restarts=restarts, problems=tuple(v.problems), notes=tuple(v.notes))
