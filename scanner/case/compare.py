"""Re-test comparison (复测): what changed between an app version's result and a later one's.

Findings are matched by their stable id (rule id + evidence refs, :func:`scanner.model.records.finding_id`).
A finding whose id is gone but whose rule and responsible party reappear with other evidence
(the call moved, a new offset) is "changed in evidence", not fixed and new. SDKs, permissions and
traffic PI per phase are compared as sets; the examiner's verdicts (review files beside each
result) are carried over or changed per manual check. The comparison is data; renderers in
:mod:`scanner.case.compare_render` turn it into JSON, SARIF (baseline states) and HTML.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import safejson
from ..errors import InputError
from ..model.terms import terms
from ..result import load_result
from .review import ReviewState, read_review
from ..traffic.observation import claims

COMPARE_FORMAT = "piscan-compare/1"
STATES = ("new", "still_present", "changed", "fixed")
_RESULT_NAME = "result.json"


@dataclass
class Side:
    """One side of the comparison: the result, where it came from, and its verdicts."""

    label: str
    result: dict[str, Any]
    review: ReviewState = field(default_factory=ReviewState)
    sha256: str = ""


def _sha256_text(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def load_side(path: Path) -> Side:
    """A result.json (with the review file beside it) or a case bundle (its first result)."""
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        path = path / _RESULT_NAME
    if zipfile.is_zipfile(path):
        return _side_from_bundle(path)
    result = load_result(path)
    review = read_review(path)
    return Side(str(path), result, review, _sha256_text(path.read_bytes()))


def _side_from_bundle(path: Path) -> Side:
    import tempfile

    from .bundle import read_manifest, verify_bundle

    checked = verify_bundle(path)
    if not checked.ok:
        raise InputError(f"the bundle does not verify ({checked.problems[0]}); run `piscan verify` on it", path)
    with zipfile.ZipFile(path) as archive:
        payload = read_manifest(archive, path)["payload"]
        results = payload.get("results") or []
        if not results:
            raise InputError("the bundle holds no result", path)
        name = str(results[0])
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        with tempfile.TemporaryDirectory(prefix="piscan-compare-") as tmp:
            members = [n for n in archive.namelist() if n == name or (folder and n.startswith(folder + "/")
                                                                      and n.count("/") >= name.count("/"))]
            for member in members:
                target = Path(tmp) / member
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
            result_path = Path(tmp) / name
            data = result_path.read_bytes()
            result = safejson.loads(data)
            review = read_review(result_path)
    return Side(f"{path}!{name}", result, review, _sha256_text(data))


def _site(ref: str) -> str:
    """An evidence ref without its offset (``api:classes.dex:Lx;->m()V@0x1a`` → ``…m()V``)."""
    return ref.rsplit("@", 1)[0] if ref.startswith("api:") else ref


def _party_key(finding: Mapping[str, Any]) -> str:
    party = finding.get("party") or {}
    return str(party.get("sdk_id") or party.get("kind") or "")


def _finding_row(finding: Mapping[str, Any], state: str, before: Mapping[str, Any] | None = None) -> dict[str, Any]:
    evidence = [str(e.get("ref")) for e in finding.get("evidence") or []]
    row: dict[str, Any] = {"state": state, "id": finding.get("id"), "rule_id": finding.get("rule_id"), "severity": finding.get("severity"),
           "title": finding.get("title"), "legal_refs": finding.get("legal_refs") or [], "party": finding.get("party"),
           "evidence": evidence}
    if before is not None:
        previous = [str(e.get("ref")) for e in before.get("evidence") or []]
        row["previous_id"] = before.get("id")
        row["previous_evidence"] = previous
        row["evidence_added"] = sorted(set(evidence) - set(previous))
        row["evidence_removed"] = sorted(set(previous) - set(evidence))
    return row


def compare_findings(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every finding of either side with its state: new, still_present, changed (evidence) or fixed."""
    old_by_id = {f["id"]: f for f in old}
    new_by_id = {f["id"]: f for f in new}
    rows = [_finding_row(f, "still_present") for f in new if f["id"] in old_by_id]
    gone = [f for f in old if f["id"] not in new_by_id]
    arrived = [f for f in new if f["id"] not in old_by_id]
    for finding in list(arrived):
        key = (finding.get("rule_id"), _party_key(finding))
        sites = {_site(str(e.get("ref"))) for e in finding.get("evidence") or []}
        match = next((g for g in gone if (g.get("rule_id"), _party_key(g)) == key
                      and sites & {_site(str(e.get("ref"))) for e in g.get("evidence") or []}), None)
        if match is None:
            match = next((g for g in gone if (g.get("rule_id"), _party_key(g)) == key), None)
        if match is not None:
            gone.remove(match)
            arrived.remove(finding)
            rows.append(_finding_row(finding, "changed", match))
    rows += [_finding_row(f, "new") for f in arrived]
    rows += [_finding_row(f, "fixed") for f in gone]
    order = {s: i for i, s in enumerate(STATES)}
    severities = list(terms().severity_ids)  # most severe first

    def severity_rank(severity: Any) -> int:
        return severities.index(severity) if severity in severities else len(severities)

    return sorted(rows, key=lambda r: (order[r["state"]], severity_rank(r["severity"]), str(r["rule_id"]), str(r["id"])))


def _ids(result: Mapping[str, Any], section: str, key: str) -> set[str]:
    return {str(item.get(key)) for item in (result.get("facts") or {}).get(section) or [] if item.get(key)}


def _set_change(old: set[str], new: set[str]) -> dict[str, list[str]]:
    return {"added": sorted(new - old), "removed": sorted(old - new), "unchanged": sorted(old & new)}


def traffic_pi(result: Mapping[str, Any]) -> dict[str, set[str]]:
    """``phase -> {pi_type@host}`` observed in a result's traffic."""
    observations = ((result.get("facts") or {}).get("traffic") or {}).get("observations") or []
    by_phase: dict[str, set[str]] = {}
    for observation in observations:
        for match in claims(observation):
            by_phase.setdefault(str(observation.get("phase")), set()).add(f"{match.get('pi_type')}@{observation.get('host')}")
    return by_phase


def _traffic_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    before, after = traffic_pi(old), traffic_pi(new)
    tested = {"old": bool((old.get("facts") or {}).get("traffic")), "new": bool((new.get("facts") or {}).get("traffic"))}
    return {"tested": tested,
            "phases": {phase: _set_change(before.get(phase, set()), after.get(phase, set()))
                       for phase in sorted(set(before) | set(after))}}


def _verdict_change(old: ReviewState, new: ReviewState) -> list[dict[str, Any]]:
    before, after = old.current, new.current
    rows = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None:
            state = "carried_over" if a.verdict == b.verdict else "changed"
        else:
            state = "new" if a is None else "not_repeated"
        latest = b if b is not None else a
        rows.append({"target_kind": key[0], "target_id": key[1], "state": state,
                     "old": a.verdict if a else None, "new": b.verdict if b else None,
                     "note": latest.note if latest is not None else ""})
    return rows


def compare(old: Side, new: Side) -> dict[str, Any]:
    """The comparison of two results as a JSON-ready dict (stable order)."""
    findings = compare_findings(list(old.result.get("findings") or []), list(new.result.get("findings") or []))
    counts = {state: sum(1 for r in findings if r["state"] == state) for state in STATES}
    return {
        "format": COMPARE_FORMAT,
        "old": _side_json(old),
        "new": _side_json(new),
        "counts": counts,
        "findings": findings,
        "sdks": _set_change(_ids(old.result, "sdks", "sdk_id"), _ids(new.result, "sdks", "sdk_id")),
        "permissions": _set_change(_ids(old.result, "permissions", "name"), _ids(new.result, "permissions", "name")),
        "traffic": _traffic_change(old.result, new.result),
        "verdicts": _verdict_change(old.review, new.review),
        "review_problems": [f"old: {p}" for p in old.review.problems] + [f"new: {p}" for p in new.review.problems],
    }


def _side_json(side: Side) -> dict[str, Any]:
    app = side.result.get("app") or {}
    return {"source": side.label, "sha256": side.sha256, "package": app.get("package"),
            "version_name": app.get("version_name"), "version_code": app.get("version_code"),
            "complete": side.result.get("complete"),
            "input_sha256": [i.get("sha256") for i in (side.result.get("provenance") or {}).get("inputs") or []]}


def blocking(comparison: Mapping[str, Any], fail_on: str | None) -> list[dict[str, Any]]:
    """Findings that are new, still present or changed at or above ``fail_on`` (the CI gate)."""
    if not fail_on:
        return []
    order = list(terms().severity_ids)  # most severe first
    limit = order.index(fail_on)
    return [r for r in comparison["findings"] if r["state"] != "fixed" and r["severity"] in order
            and order.index(r["severity"]) <= limit]
