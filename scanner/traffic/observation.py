"""Observation facts: what one proxied request revealed (``facts.traffic.observations``).

The addon and the offline reader both reduce a flow to a :class:`RequestData` (plain values, no
mitmproxy objects), and the analyser turns that into an :class:`Observation`. The JSON field
names and order follow docs/result-format.md exactly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any


@dataclass(frozen=True)
class RequestData:
    """The parts of one HTTP request the analyser needs, detached from mitmproxy."""

    flow_id: str
    timestamp: float  #: request start, seconds since the epoch (UTC)
    method: str
    scheme: str
    host: str
    port: int
    url: str
    path: str  #: path plus query, as sent
    http_version: str
    headers: tuple[tuple[bytes, bytes], ...]
    content: bytes  #: the raw body as sent (still content-encoded)
    timestamp_end: float | None = None  #: when the request's last byte arrived, if known
    channel: str = "http"  #: http | websocket (``content`` is then one message the client sent)

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive), decoded as latin-1, or ``None``."""
        wanted = name.lower().encode("ascii")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def raw_sha256(self) -> str:
        """sha256 of the request as sent: request line, headers, blank line, raw body.

        The request line uses the absolute URL so that the hash is the same for HTTP/1 and
        HTTP/2 flows of the same request; header lines are ``name: value`` with CRLF.
        """
        digest = hashlib.sha256()
        digest.update(f"{self.method} {self.url} {self.http_version}\r\n".encode("utf-8", "surrogateescape"))
        for key, value in self.headers:
            digest.update(key + b": " + value + b"\r\n")
        digest.update(b"\r\n")
        digest.update(self.content)
        return digest.hexdigest()


@dataclass(frozen=True)
class Party:
    """Who receives a request: the app's own back end, a known SDK, or another third party."""

    kind: str  #: first_party | sdk | third_party
    sdk_id: str | None = None
    sdk_name: str | None = None
    vendor: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the documented key order."""
        return {"kind": self.kind, "sdk_id": self.sdk_id, "sdk_name": self.sdk_name, "vendor": self.vendor}


#: evidence levels of a traffic claim, strongest first (docs/traffic.md "Evidence levels")
LEVELS = ("profile", "pattern", "shape")


@dataclass(frozen=True)
class Match:
    """One piece of PI found in a request (one occurrence, at its deepest decoded position)."""

    pi_type: str
    location: str  #: e.g. ``body:$.header.imei``, ``query:imei``, ``header:X-Umeng-Sdk``
    encoding: str  #: the transforms undone, then the value's own spelling: ``plain``, ``md5``, ``base64 → gzip``, ``base64 → md5``
    value_masked: str
    detector: str  #: profile | pattern
    chain: str = ""  #: decoding chain, e.g. ``form:ext → base64 → json:$.oaid``
    #: profile: this phone's value | pattern: a valid identifier of this kind, no profile value to
    #: compare | shape: an identifier of this shape that is not this phone's (the profile holds another)
    level: str = "pattern"

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the documented key order."""
        return {
            "pi_type": self.pi_type,
            "location": self.location,
            "encoding": self.encoding,
            "value_masked": self.value_masked,
            "detector": self.detector,
            "level": self.level,
            "chain": self.chain or self.location,
        }


@dataclass(frozen=True)
class OpaqueItem:
    """A part of a request that could not be read: where it is and why (likely encrypted...)."""

    location: str
    chain: str
    reason: str  #: ``opaque: likely encrypted or compressed (…)`` or ``opaque: binary data of unknown format (…)``
    size: int  #: bytes of the unreadable part

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the documented key order."""
        return {"location": self.location, "chain": self.chain or self.location, "reason": self.reason,
                "size": self.size}


@dataclass(frozen=True)
class Observation:
    """One proxied request and the PI it carried."""

    seq: int
    flow_id: str
    time: str
    phase: str
    method: str
    scheme: str
    host: str
    port: int
    url: str
    party: Party
    matches: tuple[Match, ...]
    cleartext: bool
    opaque: bool
    opaque_reason: str | None
    truncated: bool
    request_sha256: str
    time_end: str | None = None  #: when the request's last byte arrived (``time`` is its first byte)
    channel: str = "http"  #: http | websocket (one client message of a WebSocket connection)
    opaque_items: tuple[OpaqueItem, ...] = ()

    @property
    def id(self) -> str:
        """Fact id, derived from the sequence number."""
        return f"obs:{self.seq}"

    def to_json(self) -> dict[str, Any]:
        """Plain dict in the documented key order."""
        return {
            "id": self.id,
            "seq": self.seq,
            "flow_id": self.flow_id,
            "channel": self.channel,
            "time": self.time,
            "time_end": self.time_end,
            "phase": self.phase,
            "method": self.method,
            "scheme": self.scheme,
            "host": self.host,
            "port": self.port,
            "url": self.url,
            "party": self.party.to_json(),
            "matches": [m.to_json() for m in self.matches],
            "cleartext": self.cleartext,
            "opaque": self.opaque,
            "opaque_reason": self.opaque_reason,
            "opaque_items": [item.to_json() for item in self.opaque_items],
            "truncated": self.truncated,
            "request_sha256": self.request_sha256,
        }


def claims(obs: "Mapping[str, Any]") -> list["Mapping[str, Any]"]:
    """An observation's matches that claim PI about this phone or user (level profile or
    pattern); ``shape`` matches, identifiers of a kind that are not this phone's, claim nothing."""
    return [m for m in obs.get("matches") or [] if m.get("level", m.get("detector")) != "shape"]


def opaque_summary(items: "list[OpaqueItem] | tuple[OpaqueItem, ...]") -> str | None:
    """The first opaque item as one line, with how many more there are (``None`` for none)."""
    if not items:
        return None
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    return f"{items[0].reason} at {items[0].chain or items[0].location}{more}"


def iso_time(timestamp: float) -> str:
    """UTC ISO 8601 with milliseconds and ``Z`` for an epoch timestamp."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mask_value(value: str) -> str:
    """Mask an identifier for reports: keep the first 4 and last 3 characters of long values."""
    if len(value) >= 10:
        return value[:4] + "*" * (len(value) - 7) + value[-3:]
    if len(value) >= 4:
        return value[:1] + "*" * (len(value) - 2) + value[-1:]
    return "*" * len(value)
