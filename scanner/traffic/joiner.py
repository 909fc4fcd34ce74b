"""The proxy-session joiner: a recorded session's observations into ``facts.traffic``.

Used by ``piscan scan APP --session DIR``. The session must have been recorded for the scanned
app (``piscan proxy --apk``/``--package``); a session recorded for another app, or for none, is
refused unless the examiner says ``--session-app-unverified``, and the result then says so on
every traffic finding. Within the session only requests tied to the app
(:mod:`scanner.traffic.app_binding`) become its observations. It also marks the SDKs of the
scanned app that were seen sending (``facts.sdks[].seen_in_traffic``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model.collector import FactBundle, Progress
from ..model.records import Limitation
from .app_binding import AppIdentity
from .offline import session_facts
from .session import load_session_meta

UNVERIFIED_OPTION = "--session-app-unverified"


def recorded_package(meta: Mapping[str, Any]) -> str | None:
    """The app a session was recorded for (``piscan proxy --apk/--package``), or ``None``."""
    return meta.get("app_package") or (meta.get("apk") or {}).get("package") or None


def require_recorded_app(session: Path, allow_unverified: bool) -> None:
    """Refuse, before a scan starts, a session recorded for no app (unless ``allow_unverified``)."""
    if recorded_package(load_session_meta(session)) is None and not allow_unverified:
        raise InputError("this session was recorded for no app (piscan proxy without --apk or --package), so its "
                         "traffic cannot be tied to the app under test; record it with `piscan proxy --apk APP`, "
                         f"or give {UNVERIFIED_OPTION} to join it anyway (every traffic finding then says so)", session)


def app_binding(meta: Mapping[str, Any], result: Mapping[str, Any], allow_unverified: bool,
                session: Path) -> tuple[dict[str, Any], list[Limitation]]:
    """How the session is bound to the scanned app: ``status`` ``bound`` or ``unverified``
    (``InputError`` for a mismatch without ``allow_unverified``), and the limitations to add."""
    scanned = (result.get("app") or {}).get("package")
    recorded = recorded_package(meta)
    apk_row = meta.get("apk") or {}
    inputs = (result.get("provenance") or {}).get("inputs") or []
    scanned_sha = next((row.get("sha256") for row in inputs if row.get("role") in ("apk", "wxapkg")), None)
    binding: dict[str, Any] = {"recorded_for": recorded, "scanned": scanned, "status": "bound", "note": None}
    limitations: list[Limitation] = []
    if recorded is None or recorded != scanned:
        why = ("was recorded for no app" if recorded is None else f"was recorded for {recorded}, not {scanned}")
        if not allow_unverified:
            raise InputError(f"this session {why}; join it only with {UNVERIFIED_OPTION} "
                             "(every traffic finding then says so)", session)
        binding.update(status="unverified", note=f"the session {why}; joined with {UNVERIFIED_OPTION}")
        limitations.append(Limitation("session_app_unverified", f"the proxy session {why}; the examiner joined it "
                                      f"with {UNVERIFIED_OPTION}, so no traffic finding is proven to come from "
                                      f"{scanned}", str(session)))
    elif apk_row.get("sha256") and scanned_sha and apk_row["sha256"] != scanned_sha:
        binding["note"] = (f"the session was recorded with another build of {scanned} "
                           f"({apk_row.get('name')}, sha256 {apk_row['sha256']})")
    return binding, limitations


def own_domains(result: Mapping[str, Any]) -> list[str]:
    """Registrable domains the app names as its own: the domains of the contact e-mail addresses in
    its resources (``privacy@example.cn`` -> ``example.cn``)."""
    out = set()
    for endpoint in ((result.get("facts") or {}).get("endpoints") or []):
        if endpoint.get("kind") == "email" and any(s.get("kind") == "resource" for s in endpoint.get("sources") or []):
            out.add(str(endpoint.get("host") or "").lower())
    return sorted(d for d in out if d)


@dataclass(frozen=True)
class SessionJoiner:
    """Joins one recorded proxy session to the scanned app's facts."""

    session: Path
    #: the session's verify outcome when the caller already has it (the scan command's gate)
    verification: Any = None
    #: join a session recorded for another app or for none (the examiner's decision, recorded)
    allow_unverified_app: bool = False
    name: str = "proxy-session"

    def join(self, result: Mapping[str, Any], progress: Progress) -> FactBundle:
        """``traffic`` (the app's requests, attributed against its own prefixes and domains, and
        the unattributed ones apart) and the SDK rows with ``seen_in_traffic`` set."""
        progress(f"joining proxy session {self.session}")
        app = result.get("app") or {}
        binding, limitations = app_binding(load_session_meta(self.session), result, self.allow_unverified_app,
                                           self.session)
        traffic, more = session_facts(self.session, first_party_prefixes=app.get("first_party_prefixes", []),
                                      verification=self.verification, app=AppIdentity.from_result(result),
                                      binding=binding, first_party_domains=own_domains(result))
        limitations.extend(more)
        seen = {obs["party"].get("sdk_id") for obs in traffic.get("observations", []) if obs["party"].get("sdk_id")}
        sections: dict[str, Any] = {"traffic": traffic}
        sdks = (result.get("facts") or {}).get("sdks")
        if sdks:
            sections["sdks"] = [{**sdk, "seen_in_traffic": sdk["sdk_id"] in seen} for sdk in sdks]
        return FactBundle(sections=sections, limitations=list(limitations))
