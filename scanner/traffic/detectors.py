"""Validated pattern detectors that need no device profile.

IMEI (15 digits, Luhn), 18-digit resident ID (ISO 7064 MOD 11-2 check digit), mainland mobile
numbers (1[3-9] + 9 digits, only with a phone-ish context), MAC addresses (not the
02:00:00:00:00:00 placeholder), latitude/longitude pairs and lists of installed package names.
"""

from __future__ import annotations

import re

from .decoders import Field
from .matcher import LAT_LON_RE
from .observation import Match, mask_value

_DIGIT_RE = re.compile(r"\d")
_IMEI_RE = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_ID_RE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z+])(\+?86[- ]?)?(1[3-9]\d{9})(?![0-9A-Za-z])")
_MAC_RE = re.compile(r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])")
_PHONE_CONTEXT = re.compile(r"phone|mobile|tel|msisdn|mdn|line1|cellnum|手机|电话|号码", re.IGNORECASE)
_BT_CONTEXT = re.compile(r"bluetooth|bt_?mac|btaddr|blue", re.IGNORECASE)
_PKG_RE = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-zA-Z0-9_]+){2,}$")
_PKG_FIRST = frozenset({"com", "cn", "org", "net", "io", "me", "tv", "android", "de", "uk", "jp", "air", "ctrip", "tencent", "ru", "top", "app"})
_PLACEHOLDER_MACS = frozenset({"020000000000", "000000000000", "ffffffffffff"})
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def luhn_ok(digits: str) -> bool:
    """Luhn check over a digit string (IMEI check digit)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if index % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def resident_id_ok(text: str) -> bool:
    """ISO 7064 MOD 11-2 check digit of an 18-character PRC resident identity number."""
    total = sum(int(c) * w for c, w in zip(text[:17], _ID_WEIGHTS))
    return "10X98765432"[total % 11] == text[17].upper()


def _imei_plausible(digits: str) -> bool:
    return len(set(digits)) > 3 and digits[:2] != "00" and luhn_ok(digits)


def looks_like_package_list(items: list[str]) -> bool:
    """At least three Android package names, and they are most of the list."""
    names = [i for i in items if _PKG_RE.match(i) and i.split(".", 1)[0] in _PKG_FIRST]
    return len(names) >= 3 and len(names) * 2 >= len(items)


def pattern_matches(fld: Field) -> list[Match]:
    """PI found in one field by the validated patterns."""
    text = fld.text
    enc = fld.via or "plain"
    loc = fld.location
    found: list[Match] = []
    has_digit = len(text) > 4096 or _DIGIT_RE.search(text) is not None
    if has_digit:
        for hit in _IMEI_RE.finditer(text):
            if _imei_plausible(hit.group(0)):
                found.append(Match("imei", loc, enc, mask_value(hit.group(0)), "pattern"))
        for hit in _ID_RE.finditer(text):
            if resident_id_ok(hit.group(0)):
                found.append(Match("identity_document", loc, enc, mask_value(hit.group(0)), "pattern"))
        for hit in _MOBILE_RE.finditer(text):
            context = text[max(0, hit.start() - 24):hit.start()]
            if hit.group(1) or _PHONE_CONTEXT.search(loc) or _PHONE_CONTEXT.search(context):
                found.append(Match("phone_number", loc, enc, mask_value(hit.group(2)), "pattern"))
        for hit in LAT_LON_RE.finditer(text):
            lat, lon = float(hit.group(1)), float(hit.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180 and (abs(lat) > 0.01 or abs(lon) > 0.01):
                found.append(Match("location_precise", loc, enc, f"{lat:.2f}***,{lon:.2f}***", "pattern"))
    if (":" in text or "-" in text) and len(text) >= 17:
        for hit in _MAC_RE.finditer(text):
            bare = re.sub(r"[:-]", "", hit.group(0)).lower()
            if bare in _PLACEHOLDER_MACS:
                continue
            pi_type = "bluetooth_mac" if _BT_CONTEXT.search(loc) else "mac_address"
            found.append(Match(pi_type, loc, enc, mask_value(hit.group(0)), "pattern"))
    if text.count(".") >= 6 and ("," in text or ";" in text or "\n" in text):
        items = [i.strip() for i in re.split(r"[,;\s]+", text) if i.strip()]
        if looks_like_package_list(items):
            found.append(Match("installed_apps", loc, enc, f"{len(items)} package names", "pattern"))
    return found
