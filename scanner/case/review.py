"""The examiner's verdicts: an append-only, hash-chained, signed review file beside a result.

``piscan scan`` writes what the tool found; what the examiner decides lives apart, in
``review.jsonl`` in the result's folder, so the result is never rewritten. Each line is one
chained record (:mod:`scanner.traffic.store`: ``prev_sha256`` links it to the line before) holding
an envelope signed with the examiner key (:mod:`scanner.keys`). The payload names the result it
is about (sha256), the target (a manual check by rule id, or an automatic finding by finding id),
the verdict, a note, the time, and each attachment's sha256; attachments are copied into
``review-attachments/<sha256><suffix>``. A later record for the same target supersedes the earlier
one, which stays in the history.

An edit, insertion or removal of a line breaks the chain; a rebuilt chain breaks the signatures
(unless made with the examiner's own key, which :func:`read_review` checks by fingerprint when
given one); an attachment swapped on disk no longer matches its hash. :func:`read_review` names
each such problem; it never trusts a record it could not check.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from ..keys import ExaminerKey, check_envelope
from ..traffic.store import ChainWriter, read_chain

REVIEW_FILE = "review.jsonl"
ATTACHMENTS_DIR = "review-attachments"
REVIEW_FORMAT = "piscan-review/1"

#: verdicts on a manual check (the examiner's conclusion on a legal item)
CHECK_VERDICTS = ("violation", "no_violation", "not_applicable", "undetermined")
#: verdicts on an automatic finding (the finding itself stays as the tool wrote it)
FINDING_VERDICTS = ("confirmed", "disputed")
MAX_ATTACHMENT_BYTES = 512 << 20  #: one screen recording at most this size
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Attachment:
    """A file the examiner attached: its original name, hash, size and where the copy lives."""

    name: str
    sha256: str
    size: int
    stored: str  #: path relative to the result's folder

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        return {"name": self.name, "sha256": self.sha256, "size": self.size, "stored": self.stored}


@dataclass(frozen=True)
class Verdict:
    """One checked review record."""

    target_kind: str  #: ``manual_check`` or ``finding``
    target_id: str  #: a rule id (manual check) or a finding id
    verdict: str
    note: str
    examiner: str
    fingerprint: str
    time: str
    attachments: tuple[Attachment, ...]
    seq: int  #: the record's line number in review.jsonl

    def to_json(self) -> dict[str, Any]:
        """Plain dict (the form reports and the bundle use)."""
        return {"target_kind": self.target_kind, "target_id": self.target_id, "verdict": self.verdict,
                "note": self.note, "examiner": self.examiner, "fingerprint": self.fingerprint,
                "time": self.time, "attachments": [a.to_json() for a in self.attachments], "seq": self.seq}


@dataclass
class ReviewState:
    """Every checked record, the current verdict per target, and what could not be checked."""

    history: list[Verdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    records: int = 0

    @property
    def current(self) -> dict[tuple[str, str], Verdict]:
        """The latest verdict per (target kind, target id)."""
        latest: dict[tuple[str, str], Verdict] = {}
        for verdict in self.history:
            latest[(verdict.target_kind, verdict.target_id)] = verdict
        return latest

    @property
    def ok(self) -> bool:
        """Whether every record checked."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The review section reports render: current verdicts (stable order), history size, problems."""
        current = sorted(self.current.values(), key=lambda v: (v.target_kind, v.target_id))
        return {"format": REVIEW_FORMAT, "records": self.records, "ok": self.ok, "problems": list(self.problems),
                "verdicts": [v.to_json() for v in current]}


def file_sha256(path: Path, *, limit: int | None = None) -> tuple[str, int]:
    """sha256 and size of a file, read in chunks; ``InputError`` past ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if limit is not None and size > limit:
                raise InputError(f"larger than {limit >> 20} MiB", path)
            digest.update(chunk)
    return digest.hexdigest(), size


def review_path(result_path: Path) -> Path:
    """Where the review file of ``result_path`` lives."""
    return result_path.parent / REVIEW_FILE


def _target_kind(result: Mapping[str, Any], target_id: str) -> str:
    if any(f.get("id") == target_id for f in result.get("findings", [])):
        return "finding"
    if any(c.get("rule_id") == target_id for c in result.get("manual_checks", [])):
        return "manual_check"
    raise UsageError(f"{target_id}: neither a finding id nor the rule id of a manual check in this result")


def _store_attachment(source: Path, folder: Path) -> Attachment:
    if not source.is_file():
        raise InputError("not a regular file; attach screenshots or recordings as files", source)
    digest, size = file_sha256(source, limit=MAX_ATTACHMENT_BYTES)
    stored_dir = folder / ATTACHMENTS_DIR
    stored_dir.mkdir(exist_ok=True)
    stored = stored_dir / f"{digest}{source.suffix.lower()[:16]}"
    if not stored.exists():
        partial = stored.with_name(stored.name + ".partial")
        shutil.copyfile(source, partial)
        partial.replace(stored)
    return Attachment(source.name, digest, size, f"{ATTACHMENTS_DIR}/{stored.name}")


def add_verdict(result_path: Path, result: Mapping[str, Any], target_id: str, verdict: str, *, note: str,
                examiner: str, key: ExaminerKey, attachments: Sequence[Path] = (), now: float | None = None) -> Verdict:
    """Append one signed verdict on ``target_id`` to the result's review file and return it."""
    kind = _target_kind(result, target_id)
    allowed = CHECK_VERDICTS if kind == "manual_check" else FINDING_VERDICTS
    if verdict not in allowed:
        raise UsageError(f"{target_id}: a verdict on a {kind.replace('_', ' ')} is one of {', '.join(allowed)}; "
                         f"got {verdict!r}")
    if verdict == "disputed" and not note.strip():
        raise UsageError(f"{target_id}: a disputed finding needs a --note giving the reason")
    folder = result_path.parent
    stored = tuple(_store_attachment(Path(p), folder) for p in attachments)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))
    result_sha256, _ = file_sha256(result_path)
    payload = {"format": REVIEW_FORMAT, "result_sha256": result_sha256, "target_kind": kind, "target_id": target_id,
               "verdict": verdict, "note": note, "examiner": examiner, "time": stamp,
               "attachments": [a.to_json() for a in stored]}
    writer = ChainWriter(review_path(result_path), locked=True)
    try:
        writer.append({"envelope": key.envelope(payload)})
        seq = _count_lines(writer.path)
    finally:
        writer.close()
    return Verdict(kind, target_id, verdict, note, examiner, key.fingerprint, stamp, stored, seq)


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _attachments(raw: Any, folder: Path, problems: list[str], seq: int) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            attachment = Attachment(str(item["name"]), str(item["sha256"]), int(item["size"]), str(item["stored"]))
        except (KeyError, TypeError, ValueError):
            problems.append(f"review record {seq}: an attachment entry is malformed")
            continue
        stored = (folder / attachment.stored).resolve()
        if folder.resolve() not in stored.parents:
            problems.append(f"review record {seq}: attachment {attachment.name!r} points outside the case folder")
            continue
        if not stored.is_file():
            problems.append(f"review record {seq}: attachment {attachment.name!r} is missing ({attachment.stored})")
            continue
        digest, _ = file_sha256(stored)
        if digest != attachment.sha256:
            problems.append(f"review record {seq}: attachment {attachment.name!r} was changed "
                            f"(sha256 {digest[:16]}…, recorded {attachment.sha256[:16]}…)")
            continue
        found.append(attachment)
    return tuple(found)


_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
MAX_EMBEDDED_IMAGE = 4 << 20  #: screenshots up to this size are embedded in the HTML report


def review_section(result_path: Path, state: ReviewState) -> dict[str, Any]:
    """``result["review"]`` for the reports: the current verdicts, the problems found, and each
    screenshot (attachments that verified, up to :data:`MAX_EMBEDDED_IMAGE`) as a data URI under
    ``images`` (sha256 -> URI) so the HTML report stays one self-contained file."""
    import base64

    section = state.to_json()
    images: dict[str, str] = {}
    folder = result_path.parent
    for verdict in state.current.values():
        for att in verdict.attachments:
            mime = _IMAGE_TYPES.get(Path(att.name).suffix.lower())
            path = folder / att.stored
            if mime is None or att.size > MAX_EMBEDDED_IMAGE or not path.is_file():
                continue
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() == att.sha256:  # only what verified is shown
                images[att.sha256] = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    section["images"] = dict(sorted(images.items()))
    return section


def with_review(result: dict[str, Any], result_path: Path, *, expected_fingerprint: str | None) -> dict[str, Any]:
    """``result`` with the verified review beside ``result_path`` as ``review`` (unchanged when
    there is no review file)."""
    if not review_path(result_path).exists():
        return result
    state = read_review(result_path, expected_fingerprint=expected_fingerprint)
    return {**result, "review": review_section(result_path, state)}


def read_review(result_path: Path, *, expected_fingerprint: str | None = None,
                result_sha256: str | None = None) -> ReviewState:
    """Check and read the review file beside ``result_path`` (an empty state when there is none)."""
    path = review_path(result_path)
    state = ReviewState()
    if not path.exists():
        return state
    records, chain = read_chain(path)
    state.records = len(records)
    if not chain.ok:
        state.problems.append(f"{path.name}: {chain.error}")
    if chain.torn_tail:
        state.problems.append(f"{path.name}: the last line is incomplete (the writer was stopped mid-write)")
    if result_sha256 is None and result_path.is_file():
        result_sha256, _ = file_sha256(result_path)
    for seq, record in enumerate(records, start=1):
        envelope = record.get("envelope")
        why = check_envelope(envelope, expected_fingerprint=expected_fingerprint)
        if why:
            state.problems.append(f"{path.name} record {seq}: {why}")
            continue
        assert isinstance(envelope, dict)  # check_envelope accepted it
        payload = envelope["payload"]
        if not isinstance(payload, dict) or payload.get("format") != REVIEW_FORMAT:
            state.problems.append(f"{path.name} record {seq}: not a {REVIEW_FORMAT} record")
            continue
        if result_sha256 is not None and payload.get("result_sha256") != result_sha256:
            state.problems.append(f"{path.name} record {seq}: made on another result (result.json was changed "
                                  "after the verdict, or the review belongs to another scan)")
            continue
        attachments = _attachments(payload.get("attachments"), result_path.parent, state.problems, seq)
        state.history.append(Verdict(str(payload.get("target_kind")), str(payload.get("target_id")),
                                     str(payload.get("verdict")), str(payload.get("note", "")),
                                     str(payload.get("examiner", "")), str(envelope["fingerprint"]),
                                     str(payload.get("time", "")), attachments, seq))
    return state
