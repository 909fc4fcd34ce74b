"""Turn one request into an :class:`Observation`: decode, match, attribute.

The same :class:`Analyzer` serves the live addon (in its worker thread) and offline analysis,
so a capture analysed later gives the same observations as the live session.
"""

from __future__ import annotations

from .decoders import DEFAULT_BODY_CAP, JoinedFields, decode_request
from .detectors import pattern_matches
from .matcher import ProfileMatcher
from .observation import Match, Observation, RequestData, iso_time
from .party import PartyResolver
from .device_profile import DeviceProfile


class Analyzer:
    """Decoder, profile matcher, pattern detectors and party resolver, built once per session."""

    def __init__(self, profile: DeviceProfile | None, resolver: PartyResolver, body_cap: int = DEFAULT_BODY_CAP) -> None:
        self.matcher = ProfileMatcher(profile) if profile is not None else None
        self.resolver = resolver
        self.body_cap = body_cap

    def matches(self, req: RequestData) -> tuple[list[Match], bool, str | None, bool]:
        """(matches, opaque, opaque_reason, truncated) for one request."""
        decoded = decode_request(req, self.body_cap)
        joined = JoinedFields(decoded.fields)
        profile_hits = self.matcher.match_fields(joined) if self.matcher is not None else []
        pattern_hits = pattern_matches(joined)
        covered = {(m.pi_type, m.location) for m in profile_hits}
        merged = set(profile_hits)
        merged.update(m for m in pattern_hits if (m.pi_type, m.location) not in covered)
        ordered = sorted(merged, key=lambda m: (m.location, m.pi_type, m.detector, m.encoding, m.value_masked))
        return ordered, decoded.opaque, decoded.opaque_reason, decoded.truncated

    def observe(self, req: RequestData, seq: int, phase: str) -> Observation:
        """The observation for one request."""
        matches, opaque, reason, truncated = self.matches(req)
        return Observation(
            seq=seq,
            flow_id=req.flow_id,
            time=iso_time(req.timestamp),
            phase=phase,
            method=req.method,
            scheme=req.scheme,
            host=req.host,
            port=req.port,
            url=req.url,
            party=self.resolver.party_of(req.host),
            matches=tuple(matches),
            cleartext=req.scheme != "https",
            opaque=opaque,
            opaque_reason=reason,
            truncated=truncated,
            request_sha256=req.raw_sha256(),
            time_end=_end_time(req),
        )

    def failed(self, req: RequestData, seq: int, phase: str, reason: str) -> Observation:
        """An observation for a request whose analysis raised: marked opaque, never clean."""
        return Observation(
            seq=seq, flow_id=req.flow_id, time=iso_time(req.timestamp), phase=phase,
            method=req.method, scheme=req.scheme, host=req.host, port=req.port, url=req.url,
            party=self.resolver.party_of(req.host), matches=(), cleartext=req.scheme != "https",
            opaque=True, opaque_reason=reason, truncated=False, request_sha256=req.raw_sha256(),
            time_end=_end_time(req),
        )


def _end_time(req: RequestData) -> str | None:
    return iso_time(req.timestamp_end) if req.timestamp_end is not None else None
