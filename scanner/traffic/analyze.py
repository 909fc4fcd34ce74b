"""Turn one request into an :class:`Observation`: decode, match, attribute.

The same :class:`Analyzer` serves the live addon (in its worker thread) and offline analysis,
so a capture analysed later gives the same observations as the live session.
"""

from __future__ import annotations

from dataclasses import replace

from .decoders import DEFAULT_BODY_CAP, JoinedFields, decode_request
from .detectors import pattern_matches
from .matcher import ProfileMatcher
from .observation import LEVELS, Match, Observation, OpaqueItem, RequestData, iso_time, opaque_summary
from .party import PartyResolver
from .device_profile import DeviceProfile


#: a pattern hit of these types is this phone's only if the profile's values of these types say so
#: (a package list is about the apps, not an identifier of the phone: it stays a pattern claim)
_DECIDED_BY = {
    "imei": ("imei",),
    "phone_number": ("phone_number",),
    "identity_document": ("identity_document",),
    "mac_address": ("mac_address", "bluetooth_mac"),
    "bluetooth_mac": ("mac_address", "bluetooth_mac"),
    "wifi_info": ("mac_address", "bluetooth_mac"),
    "location_precise": ("location_precise",),
}


class Analyzer:
    """Decoder, profile matcher, pattern detectors and party resolver, built once per session."""

    def __init__(self, profile: DeviceProfile | None, resolver: PartyResolver, body_cap: int = DEFAULT_BODY_CAP) -> None:
        self.matcher = ProfileMatcher(profile) if profile is not None else None
        self.resolver = resolver
        self.body_cap = body_cap

    def matches(self, req: RequestData) -> tuple[list[Match], bool, str | None, bool]:
        """(matches, opaque, opaque_reason, truncated) for one request."""
        matches, opaque_items, truncated = self.read(req)
        return matches, bool(opaque_items), opaque_summary(opaque_items), truncated

    def read(self, req: RequestData) -> tuple[list[Match], list[OpaqueItem], bool]:
        """(claims, opaque items, truncated) for one request.

        Each occurrence is claimed once: a profile match wins over a pattern hit at the same
        place, and a pattern hit whose PI type the profile holds a value of (an IMEI, a MAC, a
        location) but that matched none of them is only ``shape`` evidence (docs/traffic.md)."""
        decoded = decode_request(req, self.body_cap)
        joined = JoinedFields(decoded.parts)
        profile_hits = self.matcher.match_fields(joined) if self.matcher is not None else []
        held = self.matcher.held_types if self.matcher is not None else frozenset()
        claimed: dict[tuple[str, str], Match] = {}
        for hit in profile_hits:
            claimed.setdefault((hit.pi_type, hit.location), hit)
        profiled = {(m.pi_type, m.location) for m in profile_hits}
        for hit in pattern_matches(joined):
            if (hit.pi_type, hit.location) in claimed:
                continue
            if hit.location.endswith("[*]") and any(  # a list whose items the profile already claimed
                    t == hit.pi_type and loc.startswith(hit.location[:-3] + "[") for t, loc in profiled):
                continue
            deciders = _DECIDED_BY.get(hit.pi_type, ())
            shape = any(t in held for t in deciders)
            claimed[(hit.pi_type, hit.location)] = replace(hit, level="shape" if shape else "pattern")
        ordered = sorted(claimed.values(), key=lambda m: (m.location, m.pi_type, LEVELS.index(m.level), m.encoding,
                                                          m.value_masked))
        return ordered, decoded.opaque_items, decoded.truncated

    def observe(self, req: RequestData, seq: int, phase: str) -> Observation:
        """The observation for one request."""
        matches, items, truncated = self.read(req)
        opaque, reason = bool(items), opaque_summary(items)
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
            channel=req.channel,
            opaque_items=tuple(items),
        )

    def failed(self, req: RequestData, seq: int, phase: str, reason: str) -> Observation:
        """An observation for a request whose analysis raised: marked opaque, never clean."""
        return Observation(
            seq=seq, flow_id=req.flow_id, time=iso_time(req.timestamp), phase=phase,
            method=req.method, scheme=req.scheme, host=req.host, port=req.port, url=req.url,
            party=self.resolver.party_of(req.host), matches=(), cleartext=req.scheme != "https",
            opaque=True, opaque_reason=reason, truncated=False, request_sha256=req.raw_sha256(),
            time_end=_end_time(req), channel=req.channel,
        )


def _end_time(req: RequestData) -> str | None:
    return iso_time(req.timestamp_end) if req.timestamp_end is not None else None
