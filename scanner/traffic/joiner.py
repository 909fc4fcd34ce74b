"""The proxy-session joiner: a recorded session's observations into ``facts.traffic``.

Used by ``piscan scan APP --session DIR``. It also marks the SDKs of the scanned app that were
seen sending in the session (``facts.sdks[].seen_in_traffic``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.collector import FactBundle, Progress
from .offline import session_facts


@dataclass(frozen=True)
class SessionJoiner:
    """Joins one recorded proxy session to the scanned app's facts."""

    session: Path
    #: the session's verify outcome when the caller already has it (the scan command's gate)
    verification: Any = None
    name: str = "proxy-session"

    def join(self, result: Mapping[str, Any], progress: Progress) -> FactBundle:
        """``traffic`` (attributed against the app's own prefixes) and the SDK rows with
        ``seen_in_traffic`` set."""
        progress(f"joining proxy session {self.session}")
        app = result.get("app") or {}
        traffic, limitations = session_facts(self.session, first_party_prefixes=app.get("first_party_prefixes", []),
                                             verification=self.verification)
        seen = {obs["party"].get("sdk_id") for obs in traffic.get("observations", []) if obs["party"].get("sdk_id")}
        sections: dict[str, Any] = {"traffic": traffic}
        sdks = (result.get("facts") or {}).get("sdks")
        if sdks:
            sections["sdks"] = [{**sdk, "seen_in_traffic": sdk["sdk_id"] in seen} for sdk in sdks]
        return FactBundle(sections=sections, limitations=list(limitations))
