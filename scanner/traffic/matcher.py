"""Match a device profile's values, in every common encoding, with one compiled regex.

Every value is expanded once into its variants (case, separators, md5/sha1/sha256 hex, base64,
URL encoding); all variants go into one trie-shaped regular expression, so matching a field
costs one regex scan whatever the number of values.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote

from .decoders import Field, JoinedFields
from .observation import Match, mask_value
from .device_profile import DeviceProfile, Location, ProfileValue

_HASHES = ("md5", "sha1", "sha256")
LAT_LON_RE = re.compile(r"(?<![\d.])(-?\d{1,3}\.\d{4,})\s*[,;| ]\s*(-?\d{1,3}\.\d{4,})(?![\d.])", re.ASCII)


@dataclass(frozen=True)
class Variant:
    """One spelling of a profile value."""

    source: ProfileValue
    text: str
    encoding: str  #: plain | nosep | md5 | sha1 | sha256 | base64 | url
    case_sensitive: bool


def forms(value: ProfileValue) -> list[tuple[str, str]]:
    """Plain spellings of a value as (text, encoding): the value itself and separator-free forms."""
    raw = value.value
    out = [(raw, "plain")]
    if value.kind in ("mac", "uuid"):
        bare = re.sub(r"[:\-]", "", raw)
        if bare != raw:
            out.append((bare, "nosep"))
        if value.kind == "mac":
            pairs = [bare[i:i + 2] for i in range(0, 12, 2)]
            out.append((":".join(pairs), "plain"))
            out.append(("-".join(pairs), "plain"))
    elif value.kind == "phone":
        digits = re.sub(r"\D", "", raw)
        national = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
        for text in (national, "86" + national, "+86" + national):
            out.append((text, "nosep" if text != raw else "plain"))
        if len(national) == 11:
            out.append((f"{national[:3]} {national[3:7]} {national[7:]}", "plain"))
            out.append((f"{national[:3]}-{national[3:7]}-{national[7:]}", "plain"))
    seen: set[str] = set()
    unique = []
    for text, enc in out:
        if text not in seen:
            seen.add(text)
            unique.append((text, enc))
    return unique


def variants(value: ProfileValue) -> list[Variant]:
    """Every encoding of a value that the matcher looks for."""
    out: list[Variant] = []
    for text, enc in forms(value):
        out.append(Variant(value, text, enc, False))
        cases = {text, text.lower(), text.upper()}
        for spelled in sorted(cases):
            data = spelled.encode("utf-8")
            for algo in _HASHES:
                out.append(Variant(value, hashlib.new(algo, data).hexdigest(), algo, False))
            for b64 in (base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()):
                out.append(Variant(value, b64, "base64", True))
                out.append(Variant(value, b64.rstrip("="), "base64", True))
        quoted = quote(text, safe="")
        if quoted != text:
            out.append(Variant(value, quoted, "url", False))
    return out


def trie_regex(words: list[str]) -> str:
    """A regex source matching exactly the given words, factored as a trie (fast for many words)."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True

    def emit(node: dict) -> str:
        alts = []
        optional = "" in node
        for char in sorted(k for k in node if k):
            alts.append(re.escape(char) + emit(node[char]))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if optional else body

    return emit(trie)


def encoding_label(transforms: str, spelling: str) -> str:
    """The transforms undone and the value's own spelling: ``plain``, ``md5``, ``base64``
    (a plain value inside base64), ``base64 → gzip → md5``."""
    if not transforms:
        return spelling
    return transforms if spelling == "plain" else f"{transforms} → {spelling}"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    rlat1, rlat2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = rlat2 - rlat1, math.radians(lon2 - lon1)
    h = math.sin(dlat / 2) ** 2 + math.cos(rlat1) * math.cos(rlat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(h)))


_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")


def _ascii_case_only(text: str) -> bool:
    """Whether every character of ``text`` that has case is ASCII (CJK text has no case)."""
    if text.isascii():
        return True
    rest = _ASCII_RUNS.sub("", text)
    return rest.lower() == rest and rest.upper() == rest


class _Span(NamedTuple):
    start: int
    text: str  #: as written in the request (the search may run on a lower-cased copy)


class ProfileMatcher:
    """All values of one device profile compiled into one regex; built once per session."""

    def __init__(self, profile: DeviceProfile) -> None:
        self.profile = profile
        self._by_text: dict[str, list[Variant]] = {}
        for value in profile.values:
            for variant in variants(value):
                bucket = self._by_text.setdefault(variant.text.lower(), [])
                if variant not in bucket:
                    bucket.append(variant)
        words = sorted(self._by_text, key=lambda w: (-len(w), w))
        self._regex = (
            re.compile(r"(?<![A-Za-z0-9])(?:" + trie_regex(words) + r")(?![A-Za-z0-9])", re.IGNORECASE)
            if words else None
        )
        # the same search on a lower-cased text runs about twice as fast (no case folding per
        # character). It gives the same hits only where case is ASCII case: so it is used only when
        # no spelling, and no character of the text, has case outside ASCII (Chinese has none;
        # Greek final sigma, the Kelvin sign or a dotted capital I fold differently under IGNORECASE)
        self._lower_regex = (
            re.compile(r"(?<![a-z0-9])(?:" + trie_regex(words) + r")(?![a-z0-9])")
            if words and all(_ascii_case_only(word) for word in words) else None
        )
        self.location: Location | None = profile.location
        #: PI types the profile holds a value of (a pattern hit of such a type that matches none
        #: of them is not this phone's)
        self.held_types = frozenset(v.pi_type for v in profile.values) | (
            {"location_precise"} if profile.location is not None else frozenset())

    @property
    def variant_count(self) -> int:
        """How many spellings the regex holds."""
        return sum(len(v) for v in self._by_text.values())

    def match_field(self, fld: Field) -> list[Match]:
        """Profile values found in one decoded field."""
        return self.match_fields(JoinedFields([fld]))

    def match_fields(self, joined: JoinedFields) -> list[Match]:
        """Profile values found in the fields of a request, one regex scan over their joined
        texts (aggregate fields, a list's items joined, are skipped by the value regex)."""
        found: list[Match] = []
        text = joined.text
        if self._regex is not None:
            fast = self._lower_regex is not None and _ascii_case_only(text)
            hits = self._lower_regex.finditer(text.lower()) if fast else self._regex.finditer(text)  # type: ignore[union-attr]
            for found_hit in hits:
                hit = _Span(found_hit.start(), text[found_hit.start():found_hit.end()])
                fld = joined.field_at(hit.start)
                if fld.kind:  # a list's items joined, or a coordinate pair: not one value
                    continue
                value = hit.text
                for variant in self._by_text.get(value.lower(), ()):
                    if variant.case_sensitive and value != variant.text:
                        continue
                    encoding = variant.encoding
                    if encoding == "plain" and value != variant.text:
                        encoding = "upper" if value == value.upper() else "lower" if value == value.lower() else encoding
                    found.append(Match(variant.source.pi_type, fld.location, encoding_label(fld.transforms, encoding),
                                       mask_value(variant.source.value), "profile", fld.chain, "profile"))
        if self.location is not None and "." in text:
            loc = self.location
            for pair in LAT_LON_RE.finditer(text):
                a, b = float(pair.group(1)), float(pair.group(2))
                for lat, lon in ((a, b), (b, a)):
                    if -90 <= lat <= 90 and haversine_m(lat, lon, loc.lat, loc.lon) <= loc.radius_m:
                        fld = joined.field_at(pair.start())
                        found.append(Match("location_precise", fld.location, encoding_label(fld.transforms, "plain"),
                                           f"{lat:.2f}***,{lon:.2f}***", "profile", fld.chain, "profile"))
                        break
        return found
