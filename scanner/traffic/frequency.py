"""How often each PI type goes to each host, per phase (``facts.traffic.frequency``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from .observation import claims


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def frequency(observations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Count and shortest interval (seconds) per (pi_type, host, phase), sorted by those keys.

    A request carrying a PI type several times counts once; ``min_interval_s`` is ``null`` when
    the PI type went to that host only once in that phase.
    """
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for obs in observations:
        moment = _seconds(obs["time"])
        for pi_type in sorted({m["pi_type"] for m in claims(obs)}):
            times[(pi_type, obs["host"], obs["phase"])].append(moment)
    rows = []
    for (pi_type, host, phase), stamps in sorted(times.items()):
        stamps.sort()
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        rows.append({
            "pi_type": pi_type,
            "host": host,
            "phase": phase,
            "count": len(stamps),
            "min_interval_s": round(min(gaps), 3) if gaps else None,
        })
    return rows
