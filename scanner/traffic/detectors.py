"""Validated pattern detectors that need no device profile.

IMEI (15 digits, Luhn), 18-digit resident ID (ISO 7064 MOD 11-2 check digit), mainland mobile
numbers (1[3-9] + 9 digits, only with a phone-ish context), MAC addresses (not the
02:00:00:00:00:00 placeholder; a BSSID or Bluetooth key names what kind), latitude/longitude
pairs (either order) and lists of installed package names.

A pattern hit says "a valid identifier of this kind"; whether it is this phone's is the profile's
business (:class:`~scanner.traffic.analyze.Analyzer` sets the evidence level). A list's joined
items are read only by the package-list detector, so an IMEI inside a list is claimed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import repeat

from .decoders import Field, JoinedFields
from .matcher import LAT_LON_RE, encoding_label
from .observation import Match, mask_value

_IMEI_RE = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])", re.ASCII)
_ID_RE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])", re.ASCII)
_DIGIT_RUN = re.compile(r"\d{11,}", re.ASCII)
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z+])(\+?86[- ]?)?(1[3-9]\d{9})(?![0-9A-Za-z])", re.ASCII)
_MAC_RE = re.compile(r"(?<![0-9A-Fa-f:-])[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:-])")
_PHONE_CONTEXT = re.compile(r"phone|mobile|tel|msisdn|mdn|line1|cellnum|手机|电话|号码", re.IGNORECASE)
_BT_CONTEXT = re.compile(r"bluetooth|bt_?mac|btaddr|blue|ble", re.IGNORECASE)
_WIFI_CONTEXT = re.compile(r"bssid|ap_?mac|router|wifi_?list|wifis|scan_?result|hotspot|gateway", re.IGNORECASE)
# Prefilters: one C-speed bytes.translate and a few substring tests decide which regex scans a
# request needs at all (each scan costs ~1-2 ms per 64 KiB; most bodies need none of them).
_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E if b == 0x2E else 0x20 for b in range(256))  # digit->0, '.' kept
_RUN_SHAPE = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # digit->0, the rest a space
_RUN86_SHAPE = bytes(b if b in (0x36, 0x38) else 0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # and 8, 6 kept
_ELEVEN = b" " + b"0" * 11 + b" "  #: a run of exactly 11 digits in a padded run shape
_THIRTEEN = b" " + b"0" * 13 + b" "  #: and of exactly 13
_HEX_SHAPE = bytes(0x68 if chr(b) in "0123456789abcdefABCDEF" else b if b in (0x3A, 0x2D) else 0x20  # hex->h
                   for b in range(256))
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


def _mobile_runs(text: str, raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of every run of exactly 11 ASCII digits, and of exactly 13 starting with
    ``86``, in text order: where a mobile number can end a run. On an ASCII text (``raw`` as long
    as ``text``) the runs are found with ``bytes.find`` over shapes of the text (digits as ``0``,
    and in the second also ``8`` and ``6`` as themselves), so that the many 13-digit millisecond
    timestamps of an analytics batch cost nothing; otherwise with a regex."""
    if len(raw) != len(text):
        return [run.span() for run in _DIGIT_RUN.finditer(text)
                if run.end() - run.start() == 11 or (run.end() - run.start() == 13 and text.startswith("86", run.start()))]
    runs: list[tuple[int, int]] = []
    padded = b" " + raw.translate(_RUN_SHAPE) + b" "  # padded[i + 1] is text[i]
    pos = 0
    while (found := padded.find(_ELEVEN, pos)) >= 0:
        runs.append((found, found + 11))
        pos = found + 12  # the space after this run may open the next
    if b"86" in raw:
        padded86, pos, thirteen = b" " + raw.translate(_RUN86_SHAPE) + b" ", 0, []
        while (found := padded86.find(b" 86", pos)) >= 0:
            if padded.startswith(_THIRTEEN, found):
                thirteen.append((found, found + 13))
            pos = found + 1
        runs = sorted(runs + thirteen)
    return runs


def _mobile_numbers(text: str, raw: bytes) -> Iterator[re.Match[str]]:
    """The hits of ``_MOBILE_RE``, found faster: a mobile number (with a ``86`` prefix joined to
    it or not) ends a digit run of 11 or 13 digits, so the pattern runs only around such runs.
    The window ends one character after the run, so that the pattern's look-ahead sees it."""
    for start, end in _mobile_runs(text, raw):
        hit = _MOBILE_RE.search(text, max(0, start - 4), min(len(text), end + 1))
        if hit is not None:
            yield hit


def pattern_matches(fields: Field | list[Field] | JoinedFields) -> list[Match]:
    """PI found by the validated patterns in one field or in all fields of a request (one regex
    scan per pattern over the joined texts; see :class:`~scanner.traffic.decoders.JoinedFields`)."""
    every = fields if isinstance(fields, JoinedFields) else JoinedFields([fields] if isinstance(fields, Field) else fields)
    joined = every.without_lists()  # a list's items joined are read by the package-list test below only
    text = joined.text
    found: list[Match] = []

    def add(pi_type: str, offset: int, value: str) -> None:
        fld = joined.field_at(offset)
        found.append(Match(pi_type, fld.location, encoding_label(fld.transforms, "plain"), value, "pattern", fld.chain))

    raw = text.encode("utf-8", "surrogatepass")
    shape = raw.translate(_SHAPE)
    if b"0" * 11 in shape:
        for hit in _IMEI_RE.finditer(text) if b"0" * 15 in shape else ():
            if _imei_plausible(hit.group(0)):
                add("imei", hit.start(), mask_value(hit.group(0)))
        for hit in _ID_RE.finditer(text) if b"0" * 17 in shape else ():
            if resident_id_ok(hit.group(0)):
                add("identity_document", hit.start(), mask_value(hit.group(0)))
        for hit in _mobile_numbers(text, raw):
            loc = joined.field_at(hit.start()).location
            if hit.group(1) or _PHONE_CONTEXT.search(loc) or _PHONE_CONTEXT.search(joined.before(hit.start(), 24)):
                add("phone_number", hit.start(), mask_value(hit.group(2)))
    if b".0000" in shape:
        for hit in LAT_LON_RE.finditer(text):
            lat, lon = float(hit.group(1)), float(hit.group(2))
            if abs(lat) > 90 >= abs(lon):  # "lon,lat", as Amap and Baidu write it
                lat, lon = lon, lat
            if -90 <= lat <= 90 and -180 <= lon <= 180 and (abs(lat) > 0.01 or abs(lon) > 0.01):
                add("location_precise", hit.start(), f"{lat:.2f}***,{lon:.2f}***")
    hex_shape = raw.translate(_HEX_SHAPE) if (":" in text or "-" in text) else b""
    if b"hh:hh:hh:hh:hh:hh" in hex_shape or b"hh-hh-hh-hh-hh-hh" in hex_shape:
        for hit in _MAC_RE.finditer(text):
            bare = re.sub(r"[:-]", "", hit.group(0)).lower()
            if bare in _PLACEHOLDER_MACS:
                continue
            fld = joined.field_at(hit.start())
            pi_type = ("wifi_info" if _WIFI_CONTEXT.search(fld.location) else
                       "bluetooth_mac" if _BT_CONTEXT.search(fld.location) else "mac_address")
            add(pi_type, hit.start(), mask_value(hit.group(0)))
    texts = every.texts
    if every.text.count(".") < 6:  # no part can be a list of package names
        return found
    for index in [i for i, dots in enumerate(map(str.count, texts, repeat("."))) if dots >= 6]:
        fld, ftext = every.field(index), texts[index]
        if "," in ftext or ";" in ftext or "\n" in ftext:
            items = [i.strip() for i in re.split(r"[,;\s]+", ftext) if i.strip()]
            if looks_like_package_list(items):
                found.append(Match("installed_apps", fld.location, encoding_label(fld.transforms, "plain"),
                                   f"{len(items)} package names", "pattern", fld.chain))
    return found
