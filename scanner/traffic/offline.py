"""Offline analysis: saved captures (.mitm, .har) and recorded sessions -> ``facts.traffic``.

``analyze_capture`` runs the same :class:`Analyzer` as the live addon over a capture;
``session_facts`` reads a session recorded by the addon (its chained observations are the
evidence) for ``piscan scan APP.apk --session DIR``.
"""

from __future__ import annotations

import base64
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from dataclasses import replace
from typing import Any, cast

from .. import safejson
from ..budgets import budgets
from ..errors import InputError
from ..model.records import Limitation
from ..safeio import read_regular
from .analyze import Analyzer
from .channel_events import connection_limitations
from .app_binding import AppIdentity, Tie, TieFinder, split_by_app
from .frequency import frequency
from .observation import Observation, RequestData
from .party import PartyResolver
from .phases import PhaseTimeline
from .session import FLOWS_FILE, MARKS_FILE, OBSERVATIONS_FILE, load_session_meta
from .store import read_chain

UNMARKED_PHASE = "unmarked"


class CaptureCutOff(InputError):
    """A capture whose complete flows were read but whose last record is cut off (proxy killed)."""


def iter_mitm(path: Path) -> Iterator[RequestData]:
    """HTTP requests of a mitmproxy dump, in file order; ``InputError`` on a bad file.

    Reads the records like ``mitmproxy.io.FlowReader`` (tnetstring, then the format migration)
    but rebuilds only each flow's request, not the whole flow: that halves the reading time.
    """
    from mitmproxy.io import compat, tnetstring

    from .flowdata import requests_of_state

    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the "with" below
    except FileNotFoundError:
        raise InputError("no such capture", path) from None
    except OSError as exc:
        raise InputError(f"cannot read capture: {exc}", path) from None
    with handle:
        index = 0
        size = os.fstat(handle.fileno()).st_size
        while True:
            try:
                state = _load_record(handle, size, tnetstring)
            except RecursionError:
                raise InputError(f"not a readable mitmproxy capture: flow {index + 1} is nested too deeply", path) from None
            except (ValueError, IndexError, TypeError) as exc:  # IndexError: file ends mid-record
                if str(exc) == "not a tnetstring: empty file":
                    return
                if index:
                    raise CaptureCutOff(f"capture ends in an incomplete record after flow {index} ({exc})", path) from None
                raise InputError(f"not a readable mitmproxy capture: flow {index + 1}: {exc}", path) from None
            index += 1
            try:
                state = compat.migrate_flow(state)
                if state.get("type") != "http":
                    continue
                yield from requests_of_state(cast(dict[str, Any], state))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise InputError(f"not a readable mitmproxy capture: flow {index}: {exc}", path) from None


def _load_record(handle: Any, size: int, tnetstring: Any) -> Any:
    """One tnetstring record, like ``tnetstring.load`` but never allocating more than the file
    holds: a record that declares 99,999,999,999 bytes in a 112-byte file is a cut-off record,
    not a request for 93 GiB."""
    first = handle.read(1)
    if first == b"":
        raise ValueError("not a tnetstring: empty file")
    digits = first
    while digits[-1:].isdigit():
        if len(digits) > 12:
            raise ValueError("not a tnetstring: absurdly large length prefix")
        char = handle.read(1)
        if not char:
            raise IndexError("file ends inside a length prefix")
        digits += char
    if digits[-1:] != b":" or len(digits) < 2:
        raise ValueError("not a tnetstring: missing or invalid length prefix")
    length = int(digits[:-1])
    if length > size - handle.tell():
        raise IndexError(f"a record declares {length:,} bytes, more than the file has left")
    body = handle.read(length)
    kind = handle.read(1)
    if len(body) < length or not kind:
        raise IndexError("file ends inside a record")
    return tnetstring.parse(kind[0], memoryview(body))


def _har_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _har_value(obj: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
    """``obj[key]`` checked against ``kind``; ``ValueError`` naming the HAR path otherwise."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where} is not an object")
    value = obj.get(key, default)
    if value is None and default is not None:
        value = default
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        shown = "missing" if key not in obj else f"a {type(value).__name__}, not a {expected}"
        raise ValueError(f"{where}.{key} is {shown}")
    return value


def iter_har(path: Path) -> Iterator[RequestData]:
    """HTTP requests of a HAR 1.2 file, in entry order, each read by mitmproxy's own HAR reader
    (``mitmproxy.io.har.request_to_flow``, what ``FlowReader`` uses for ``.har``); ``InputError``
    (one line naming the entry and the field) on a bad file. The file is read within the
    ``file_bytes`` budget and its JSON nesting is bounded before mitmproxy sees an entry.

    Added to mitmproxy's reading: the request keeps the exported headers and bytes (a base64
    ``postData``, as some exporters write binary bodies, is decoded; mitmproxy's reader would
    re-encode the text and add a Content-Length), an entry without a response (a request that
    failed) gets an empty one, and ``time_end`` stays unknown (HAR's ``time`` ends with the
    response, not the request)."""
    from mitmproxy.io.har import fix_headers, request_to_flow

    from .flowdata import request_data

    try:
        data = safejson.loads(read_regular(path, budgets().file_bytes).decode("utf-8-sig"))
        entries = _har_value(_har_value(data, "log", dict, "HAR"), "entries", list, "log")
    except InputError:
        raise
    except RecursionError:
        raise InputError("not a HAR file: JSON nested too deeply", path) from None
    except UnicodeDecodeError:
        raise InputError("not a HAR file: not UTF-8 text", path) from None
    except ValueError as exc:
        raise InputError(f"not a HAR file: {exc}", path) from None
    for index, entry in enumerate(entries):
        where = f"entries[{index}]"
        try:
            req = _har_value(entry, "request", dict, where)
            _har_value(req, "url", str, f"{where}.request")
            _har_time(_har_value(entry, "startedDateTime", str, where))
            for i, header in enumerate(_har_value(req, "headers", list, f"{where}.request", [])):
                _har_value(header, "name", str, f"{where}.request.headers[{i}]")
                _har_value(header, "value", str, f"{where}.request.headers[{i}]")
            post = _har_value(req, "postData", dict, f"{where}.request", {})
            text = _har_value(post, "text", str, f"{where}.request.postData", "")
        except ValueError as exc:
            raise InputError(f"HAR {exc}", path) from None
        try:
            flow = request_to_flow(_with_har_defaults(entry, req))
            # the request exactly as exported: mitmproxy's reader re-encodes a text body and sets
            # Content-Length; the headers and bytes the HAR holds are what was sent
            flow.request.headers = fix_headers(req.get("headers") or [])
            flow.request.raw_content = (base64.b64decode(text) if post.get("encoding") == "base64"
                                        else text.encode("utf-8", "surrogatepass"))
        except KeyError as exc:
            raise InputError(f"HAR {where}: missing field {exc}", path) from None
        except Exception as exc:  # noqa: BLE001 - mitmproxy's reader raises what it meets; one line each
            raise InputError(f"HAR {where}: {type(exc).__name__}: {exc}", path) from None
        yield replace(request_data(flow), flow_id=f"har:{index}", timestamp_end=None)


def _with_har_defaults(entry: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    """The fields mitmproxy's HAR reader requires and HAR exporters may omit, with neutral values."""
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    return {
        **entry, "time": entry.get("time") if isinstance(entry.get("time"), (int, float)) else 0,
        "request": {**req, "method": req.get("method") or "GET", "httpVersion": req.get("httpVersion") or "HTTP/1.1",
                    "headers": req.get("headers") or [], "postData": {"text": req.get("postData", {}).get("text") or ""}},
        "response": {"status": response.get("status") if isinstance(response.get("status"), int) else 0,
                     "httpVersion": response.get("httpVersion") or "HTTP/1.1",
                     "headers": response.get("headers") if isinstance(response.get("headers"), list) else [],
                     "content": response.get("content") if isinstance(response.get("content"), dict) else {}},
    }


def iter_capture(path: str | Path) -> Iterator[RequestData]:
    """Requests of a .mitm (mitmproxy dump) or .har capture, chosen by content."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except FileNotFoundError:
        raise InputError("no such capture", path) from None
    except OSError as exc:
        raise InputError(f"cannot read capture: {exc}", path) from None
    if head.startswith(b"{") or path.suffix.lower() == ".har":
        return iter_har(path)
    return iter_mitm(path)


def upgrade_observation(obs: dict[str, Any]) -> None:
    """Give an observation written by an earlier PIScan the fields added since, with the values
    they meant then: no end time, plain HTTP, the opaque reason as the one opaque item, each
    match's detector as its level and its location as its chain."""
    obs.setdefault("time_end", None)
    obs.setdefault("channel", "http")
    if "opaque_items" not in obs:
        reason = obs.get("opaque_reason") or "unknown"
        obs["opaque_items"] = ([{"location": "body", "chain": "body", "size": 0,
                                 "reason": reason if reason.startswith("opaque: ") else f"opaque: {reason}"}]
                               if obs.get("opaque") else [])
    for match in obs.get("matches") or []:
        match.setdefault("level", match.get("detector") or "pattern")
        match.setdefault("chain", match.get("location") or "")


def analyze_capture(
    path: str | Path,
    analyzer: Analyzer,
    marks: list[dict[str, Any]] | None = None,
    limitations: list[Limitation] | None = None,
) -> list[Observation]:
    """Observations for every request of a capture, numbered from 1 in capture order.

    With ``marks`` (a session's marks.jsonl records) each request gets the phase in force at its
    time; without, the phase is ``unmarked`` (a capture alone cannot tell consent phases).
    With ``limitations``, a capture whose last record is cut off (the proxy was killed) gives
    the observations of its complete flows and an ``entry_unreadable`` limitation there;
    without, it raises :class:`CaptureCutOff`.
    """
    timeline = PhaseTimeline(marks) if marks is not None else None
    out = []
    try:
        for seq, req in enumerate(iter_capture(path), start=1):
            phase = timeline.phase_at(req.timestamp) if timeline is not None else UNMARKED_PHASE
            out.append(analyzer.observe(req, seq, phase))
    except CaptureCutOff as exc:
        if limitations is None:
            raise
        limitations.append(Limitation("entry_unreadable", exc.message, str(path)))
    return out


def traffic_limitations(observations: list[dict[str, Any]]) -> list[Limitation]:
    """One ``payload_opaque`` / ``body_truncated`` limitation per host, sorted."""
    opaque: dict[str, list[dict[str, Any]]] = defaultdict(list)
    cut: dict[str, int] = defaultdict(int)
    for obs in observations:
        if obs["opaque"]:
            opaque[obs["host"]].append(obs)
        if obs["truncated"]:
            cut[obs["host"]] += 1
    out = []
    for host, rows in sorted(opaque.items()):
        reasons = sorted({r["opaque_reason"] or "unknown" for r in rows})
        out.append(Limitation(
            "payload_opaque",
            f"{len(rows)} request(s) to {host} could not be decoded, so their content was not inspected "
            f"(first: {rows[0]['id']}): " + "; ".join(reasons[:3]),
            f"traffic:{host}",
        ))
    for host, count in sorted(cut.items()):
        out.append(Limitation("body_truncated", f"{count} request body(ies) to {host} exceeded the body cap; only the start was inspected", f"traffic:{host}"))
    return out


def capture_facts(observations: list[Observation]) -> tuple[dict[str, Any], list[Limitation]]:
    """``facts.traffic`` (without a session) and limitations for observations of a capture."""
    rows = [o.to_json() for o in observations]
    return {"session": None, "observations": rows, "frequency": frequency(rows)}, traffic_limitations(rows)


def session_facts(
    session_dir: str | Path, first_party_prefixes: Sequence[str] | None = None, verification: Any = None,
    app: AppIdentity | None = None, binding: dict[str, Any] | None = None,
    first_party_domains: Sequence[str] = (),
) -> tuple[dict[str, Any], list[Limitation]]:
    """``facts.traffic`` and limitations from a recorded session directory.

    Observations come from the chained ``observations.jsonl`` (up to the first line that does not
    verify). ``verification`` is the session's :class:`~scanner.traffic.verify.SessionVerification`
    (computed here, against the examiner key of this machine if there is one, when not given);
    when it is not OK the outcome becomes a ``session_unverified`` limitation. The session section
    records the sha256 of every session file, the seals' key, restarts and the marks timeline.
    With ``first_party_prefixes`` (the scanned APK's package and aliases) and
    ``first_party_domains`` every observation's party is attributed again against them; the
    recorded log itself is not changed.

    With ``app`` (the scanned app's identity) each request is searched for its ties to the app
    (:mod:`scanner.traffic.app_binding`): requests with none go to ``unattributed`` and are not
    the app's observations. ``binding`` (how the session was matched to the app) is recorded in
    the session section as ``app_binding``.
    """
    from ..hashing import digest_file
    from .session import EVENTS_FILE, SESSION_FILES
    from .verify import verify_session

    root = Path(session_dir)
    meta = load_session_meta(root)
    if verification is None:
        verification = verify_session(root, expected_fingerprint=default_expected_fingerprint())
    limitations: list[Limitation] = []
    obs_path = root / OBSERVATIONS_FILE
    observations, obs_report = read_chain(obs_path) if obs_path.exists() else ([], None)
    marks_path = root / MARKS_FILE
    marks, _ = read_chain(marks_path) if marks_path.exists() else ([], None)
    events_path = root / EVENTS_FILE
    events, _ = read_chain(events_path) if events_path.exists() else ([], None)
    if not verification.ok:
        limitations.append(Limitation("session_unverified", f"piscan verify: {verification.summary()}", str(root)))
    if obs_report is not None and not obs_report.ok:
        limitations.append(Limitation("entry_unreadable", f"hash chain broken: {obs_report.error}; only the "
                                      f"{obs_report.records} records before it are used", obs_report.path))
    resolver = (PartyResolver(first_party_prefixes=first_party_prefixes or (), first_party_domains=first_party_domains)
                if first_party_prefixes or first_party_domains else None)
    for obs in observations:
        obs.pop("prev_sha256", None)
        upgrade_observation(obs)
        if resolver is not None:
            obs["party"] = resolver.party_of(obs["host"]).to_json()
    observations.sort(key=lambda o: o["seq"])
    unattributed: list[dict[str, Any]] | None = None
    if app is not None:
        observations, unattributed = _bind_to_app(root, observations, app, meta, limitations)
    files = []
    for path in sorted([root / name for name in SESSION_FILES if (root / name).is_file()] + list(root.glob("*.torn-*"))):
        digest = digest_file(path)
        files.append({"name": path.name, "size": digest["size"], "sha256": digest["sha256"]})
    stops = [e for e in events if e.get("event") in ("stop", "resume")]
    last_seal = verification.last_seal
    report = verification.to_json()
    session = {
        "id": "session",
        "dir": root.name,
        "started_at": meta.get("started_at"),
        "ended_at": last_seal["time"] if last_seal else (stops[-1]["time"] if stops else None),
        "tool_version": meta.get("tool_version"),
        "mitmproxy_version": meta.get("mitmproxy_version"),
        "device_profile_sha256": meta.get("device_profile_sha256"),
        "apk": meta.get("apk"),
        "app_binding": binding,
        "capture_scope": meta.get("capture_scope", "device"),
        "device": {"label": meta.get("device_label"), "model": meta.get("device_model"), "os": meta.get("device_os")},
        "marks": [{"seq": m["seq"], "time": m["time"], "mark": m["mark"], "phase": m["phase"],
                   "custom": bool(m.get("custom", False))} for m in marks],
        "restarts": [{"time": e["time"], "reason": e.get("reason"), "previous_seal": e.get("previous_seal")}
                     for e in events if e.get("event") == "restart"],
        "chains_verified": verification.ok,
        "flows_file": FLOWS_FILE if (root / FLOWS_FILE).exists() else None,
        "files": files,
        "seal": {"fingerprint": verification.fingerprint, "seals": verification.seals,
                 "head": last_seal["head"] if last_seal else None, "last_kind": last_seal["kind"] if last_seal else None,
                 "closed": verification.closed},
        "verify": {"ok": verification.ok, "summary": verification.summary(),
                   "expected_fingerprint": verification.expected_fingerprint, "flows": verification.flows,
                   "observations": verification.observations, "unanalysed": report["unanalysed"],
                   "problems": report["problems"][:200], "problem_count": len(verification.problems),
                   "notes": report["notes"]},
    }
    limitations.extend(traffic_limitations(observations))
    limitations.extend(connection_limitations(events))
    traffic = {"session": session, "observations": observations, "frequency": frequency(observations)}
    if unattributed is not None:
        traffic["unattributed"] = unattributed
    return traffic, limitations


def _bind_to_app(root: Path, observations: list[dict[str, Any]], app: AppIdentity, meta: dict[str, Any],
                 limitations: list[Limitation]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split a session's observations into the app's (with ties) and the unattributed ones."""
    shared = {o["host"] for o in observations if o["party"].get("kind") == "sdk"}
    finder = TieFinder(app, shared_hosts=shared)
    wanted = {o["flow_id"] for o in observations}
    ties: dict[str, list[Tie]] = {}
    flows = root / FLOWS_FILE
    try:
        for req in iter_mitm(flows):
            if req.flow_id in wanted:
                ties[req.flow_id] = finder.ties(req)
    except CaptureCutOff:
        pass  # the complete flows were searched; the cut-off itself is reported by verify
    except InputError as exc:
        limitations.append(Limitation("entry_unreadable", f"{exc.message}: requests were tied to the app by "
                                      "their URL and host only", str(flows)))
    for obs in observations:  # requests whose flow record is missing: what the observation holds
        if obs["flow_id"] not in ties:
            ties[obs["flow_id"]] = finder.observation_ties(obs)
    mine, others = split_by_app(observations, ties, meta.get("capture_scope") == "app")
    if others:
        limitations.append(Limitation(
            "traffic_unattributed", f"{len(others)} of {len(observations)} request(s) carry nothing that ties them to "
            f"{app.package} (no package name, app key or app host): listed as unattributed traffic, which may come "
            "from other apps or the system, and not used for findings", "traffic:unattributed"))
    return mine, others


def default_expected_fingerprint() -> str | None:
    """The key a session's seals are checked against when none is named: ``$PISCAN_KEY_FINGERPRINT``,
    else the examiner key of this machine (``$PISCAN_KEY`` or the default path), if it exists."""
    import os

    from ..keys import default_key_path, load_key

    named = os.environ.get("PISCAN_KEY_FINGERPRINT")
    if named:
        return named
    path = default_key_path()
    return load_key(path).fingerprint if path.exists() else None


def session_gate(session_dir: str | Path, accept_unverified: bool) -> Any:
    """Verify a session before a scan joins it: ``InputError`` (one line) when it fails, unless
    ``accept_unverified``; returns the :class:`~scanner.traffic.verify.SessionVerification`."""
    from .verify import verify_session

    verification = verify_session(session_dir, expected_fingerprint=default_expected_fingerprint())
    if not verification.ok and not accept_unverified:
        raise InputError(f"fails piscan verify ({verification.summary()}); check it with `piscan verify {session_dir}`, "
                         "or give --accept-unverified to use it anyway (the result then says so)", session_dir)
    return verification
