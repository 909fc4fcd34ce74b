"""The report's proxy-session section as plain data (HTML partial ``session.html.j2``, SARIF properties).

Built from ``facts.traffic.session`` and the observations: start and end, restarts, the marks
timeline, the device-profile hash, the verify and seal outcome, and a per-phase, per-host table
that counts *every* observation, including those that no rule turned into a finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any
from ..traffic.observation import claims

_PROBLEMS_SHOWN = 50


def session_view(result: dict[str, Any], phase_text: Callable[[str | None], str] = lambda p: str(p),
                 pi_text: Callable[[str], str] = lambda p: p) -> dict[str, Any] | None:
    """The session section, or ``None`` when no session was joined. Values are display-ready text
    except ``verify_ok`` and counts; ``phase_text`` and ``pi_text`` name a phase and a PI type in
    the report's language."""
    traffic = (result.get("facts") or {}).get("traffic") or {}
    session = traffic.get("session")
    if not isinstance(session, dict):
        return None
    observations = traffic.get("observations") or []
    cited = {str(ev.get("ref")) for f in result.get("findings") or [] for ev in f.get("evidence") or []}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for obs in observations:
        groups[(str(obs.get("phase")), str(obs.get("host")))].append(obs)
    rows = []
    for (phase, host), group in sorted(groups.items()):
        pi_counts: dict[str, int] = defaultdict(int)
        for obs in group:
            for pi in {m.get("pi_type") for m in claims(obs)}:
                pi_counts[str(pi)] += 1
        times = sorted(str(o.get("time")) for o in group)
        seqs = sorted(int(o.get("seq", 0)) for o in group)
        rows.append({
            "phase": phase_text(phase), "phase_id": phase, "host": host,
            "party": str(((group[0].get("party") or {}).get("sdk_id")) or (group[0].get("party") or {}).get("kind") or ""),
            "requests": len(group), "with_pi": sum(1 for o in group if o.get("matches")),
            "pi": ", ".join(f"{pi_text(pi)} ×{n}" for pi, n in sorted(pi_counts.items())),
            "min_interval": _min_interval(traffic.get("frequency") or [], phase, host),
            "opaque": sum(1 for o in group if o.get("opaque")), "cleartext": sum(1 for o in group if o.get("cleartext")),
            "in_findings": sum(1 for o in group if str(o.get("id")) in cited),
            "first": times[0], "last": times[-1], "seqs": f"{seqs[0]}–{seqs[-1]}" if len(seqs) > 1 else str(seqs[0]),
        })
    timeline = [{"time": str(session.get("started_at") or ""), "what": "start", "detail": ""}]
    for mark in session.get("marks") or []:
        timeline.append({"time": str(mark.get("time")), "what": "mark",
                         "detail": f"{mark.get('mark')} → {phase_text(mark.get('phase'))}" + (" (custom)" if mark.get("custom") else "")})
    for restart in session.get("restarts") or []:
        previous = restart.get("previous_seal") or {}
        detail = f"{restart.get('reason') or ''}"
        if previous:
            detail += f" (previous seal #{previous.get('seq')} at {previous.get('time')}, {str(previous.get('sha256', ''))[:16]}…)"
        timeline.append({"time": str(restart.get("time")), "what": "restart", "detail": detail.strip()})
    if session.get("ended_at"):
        timeline.append({"time": str(session["ended_at"]), "what": "end", "detail": ""})
    timeline.sort(key=lambda row: row["time"])
    verify = session.get("verify") or {}
    seal = session.get("seal") or {}
    problems = verify.get("problems") or []
    return {
        "dir": str(session.get("dir") or ""),
        "started": str(session.get("started_at") or ""), "ended": str(session.get("ended_at") or ""),
        "restarts": len(session.get("restarts") or []),
        "device_profile_sha256": str(session.get("device_profile_sha256") or ""),
        "timeline": timeline,
        "verify_ok": bool(verify.get("ok")), "verify_summary": str(verify.get("summary") or ""),
        "problems": [_problem_text(p) for p in problems[:_PROBLEMS_SHOWN]],
        "problems_more": max(0, int(verify.get("problem_count") or len(problems)) - _PROBLEMS_SHOWN),
        "notes": [str(n) for n in verify.get("notes") or []],
        "seal_fingerprint": str(seal.get("fingerprint") or ""), "seal_head": str(seal.get("head") or ""),
        "seals": int(seal.get("seals") or 0), "closed": bool(seal.get("closed")),
        "files": [{"name": str(f.get("name")), "size": int(f.get("size", 0)), "sha256": str(f.get("sha256"))}
                  for f in session.get("files") or []],
        "observations": len(observations), "observations_in_findings": sum(r["in_findings"] for r in rows),
        "rows": rows,
        "device": " · ".join(str(v) for v in ((session.get("device") or {}).get(k) for k in ("label", "model", "os")) if v),
        "binding": {k: str((session.get("app_binding") or {}).get(k) or "") for k in ("status", "recorded_for", "note")},
        "capture_scope": str(session.get("capture_scope") or "device"),
        "unattributed": [{"id": str(o.get("id")), "time": str(o.get("time")), "phase": phase_text(o.get("phase")),
                          "method": str(o.get("method")), "url": str(o.get("url")),
                          "pi": ", ".join(pi_text(p) for p in o.get("pi_types") or [])}
                         for o in traffic.get("unattributed") or []],
    }


def _min_interval(frequency: list[dict[str, Any]], phase: str, host: str) -> str:
    """The shortest interval (seconds) between two requests carrying the same PI to ``host`` in
    ``phase`` (``facts.traffic.frequency``), or "" when no PI type was sent twice."""
    values = [float(f["min_interval_s"]) for f in frequency if str(f.get("phase")) == phase and str(f.get("host")) == host
              and f.get("min_interval_s") is not None]
    return f"{min(values):g}" if values else ""


def _problem_text(problem: dict[str, Any]) -> str:
    file, line = problem.get("file"), problem.get("line")
    where = f"{file} line {line}" if line is not None else str(file)
    return f"{where}: {problem.get('what')}"
