"""The test phone's device profile (YAML): identifiers, location and planted canaries.

``load_profile(path)`` validates the file and returns a :class:`DeviceProfile`;
``PROFILE_TEMPLATE`` is the commented template ``piscan device init`` writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..datapack import DataError, DataFile, DataKind, load, parse
from ..errors import InputError

PROFILE_FORMAT = "piscan-device/1"

#: profile key -> (PI type id, value kind used for encodings and validation)
IDENTIFIER_KEYS: dict[str, tuple[str, str]] = {
    "imei": ("imei", "digits"),
    "imsi": ("imsi", "digits"),
    "iccid": ("iccid", "text"),
    "serial": ("serial_number", "text"),
    "android_id": ("android_id", "text"),
    "oaid": ("advertising_id", "uuid"),
    "gaid": ("advertising_id", "uuid"),
    "wifi_mac": ("mac_address", "mac"),
    "bssid": ("wifi_info", "mac"),
    "ssid": ("wifi_info", "text"),
    "bluetooth_mac": ("bluetooth_mac", "mac"),
    "phone_number": ("phone_number", "phone"),
    "device_name": ("device_info", "text"),
}
CANARY_KEYS: dict[str, tuple[str, str]] = {
    "contacts": ("contacts", "text"),
    "clipboard": ("clipboard", "text"),
    "calendar": ("calendar", "text"),
    "installed_apps": ("installed_apps", "text"),
}
_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_MIN_LEN = 4


@dataclass(frozen=True)
class ProfileValue:
    """One value to look for in traffic."""

    key: str  #: profile key, e.g. ``imei`` or ``canaries.contacts``
    pi_type: str
    kind: str  #: digits | text | uuid | mac | phone
    value: str


@dataclass(frozen=True)
class Location:
    """The phone's true position and the radius within which a reported position counts."""

    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True)
class DeviceProfile:
    """A validated device profile."""

    label: str | None
    values: tuple[ProfileValue, ...]
    location: Location | None
    sha256: str
    model: str | None = None  #: the phone's make and model, for the chain of custody
    os: str | None = None  #: its Android version and vendor build


def _strings(raw: Any, key: list[str | int]) -> list[tuple[list[str | int], str]]:
    """(data path, value) of each non-empty value under ``key`` (one value or a list)."""
    items = [(key, raw)] if not isinstance(raw, list) else [([*key, i], item) for i, item in enumerate(raw)]
    out = []
    for where, item in items:
        if item is None or item == "":
            continue
        text = str(item).strip()
        if len(text) < _MIN_LEN:
            raise DataError(where, f"value {text!r} is too short to match reliably (at least {_MIN_LEN} characters)")
        out.append((where, text))
    return out


def _check(key: str, kind: str, value: str, where: list[str | int]) -> None:
    if kind == "mac" and not _MAC_RE.match(value):
        raise DataError(where, f"{value!r} is not a MAC address like aa:bb:cc:dd:ee:ff")
    if kind == "digits" and not value.isdigit():
        raise DataError(where, f"{value!r} must contain digits only")
    if key == "imei" and not 14 <= len(value) <= 16:
        raise DataError(where, f"{value!r} must have 14 to 16 digits")
    if kind == "phone" and not re.fullmatch(r"\+?[\d\s-]{7,20}", value):
        raise DataError(where, f"{value!r} is not a phone number")


def build_profile(source: DataFile) -> DeviceProfile:
    """Build a profile from checked data: every value well-formed for its kind."""
    data = source.data or {}
    values: list[ProfileValue] = []
    for key, (pi_type, kind) in IDENTIFIER_KEYS.items():
        for where, value in _strings(data.get(key), [key]):
            _check(key, kind, value, where)
            values.append(ProfileValue(key, pi_type, kind, value))
    canaries = data.get("canaries") or {}
    for key, (pi_type, kind) in CANARY_KEYS.items():
        raw = canaries.get(key)
        if key == "contacts":
            for i, contact in enumerate(raw or []):
                for sub, sub_kind in (("name", "text"), ("phone", "phone")):
                    for where, value in _strings(contact.get(sub), ["canaries", "contacts", i, sub]):
                        _check(f"canaries.contacts.{sub}", sub_kind, value, where)
                        values.append(ProfileValue(f"canaries.contacts.{sub}", pi_type, sub_kind, value))
        else:
            for _where, value in _strings(raw, ["canaries", key]):
                values.append(ProfileValue(f"canaries.{key}", pi_type, kind, value))
    raw_location = data.get("location")
    location = None
    if raw_location is not None:
        location = Location(float(raw_location["lat"]), float(raw_location["lon"]), float(raw_location.get("radius_m", 500)))
    label = data.get("label")
    return DeviceProfile(label=str(label) if label else None, values=tuple(values), location=location, sha256=source.sha256,
                         model=str(data["model"]) if data.get("model") else None,
                         os=str(data["os"]) if data.get("os") else None)


PROFILE_KIND: DataKind[DeviceProfile] = DataKind(
    name="device-profile", title="device profile", schema="device-profile.schema.json", build=build_profile,
    keys=frozenset({"format"}), error=InputError,
)


def parse_profile(text: str, path: Path) -> DeviceProfile:
    """Validate profile YAML text; ``InputError`` naming the file, the line and the bad key or value."""
    return parse(PROFILE_KIND, text, path)


def load_profile(path: str | Path) -> DeviceProfile:
    """Read and validate a device profile file (``InputError`` with ``file: line: key: message``)."""
    return load(PROFILE_KIND, path)


PROFILE_TEMPLATE = """\
# PIScan device profile: the identifiers of YOUR TEST PHONE, so that `piscan proxy` and
# `piscan traffic analyze` can recognise them in traffic in any common encoding (upper/lower
# case, with/without separators, md5/sha1/sha256 hex, base64, URL encoding).
#
# Fill in what you know, leave the rest empty. Quote every value (YAML would otherwise read
# long digit strings as numbers). Find the values on the phone:
#   IMEI          dial *#06#  (dual-SIM phones have two; list both)
#   IMSI / ICCID  adb shell service call iphonesubinfo ...  or Settings > About > SIM status
#   serial        adb shell getprop ro.serialno
#   android_id    adb shell settings get secure android_id
#   oaid          Settings > Privacy > Ads (Huawei/Xiaomi/OPPO/vivo "OAID"), or an OAID test app
#   gaid          Settings > Google > Ads
#   wifi_mac      Settings > About > Wi-Fi MAC (turn off MAC randomisation for the lab network)
#   bssid / ssid  the lab access point's MAC and network name
#   location      where the phone is during the test; radius_m is how close a reported
#                 position must be to count as this phone's precise location
# Canaries are values you plant on the phone before the test so that their appearance in
# traffic proves the app read them: a contact, a clipboard text, a calendar entry, and the
# package names of a few (harmless) apps you installed.
format: piscan-device/1
label: ""                 # e.g. "lab phone 1, Xiaomi Redmi Note 12"
model: ""                 # make and model, e.g. "Xiaomi Redmi Note 12 (23021RAAEG)"
os: ""                    # Android version and build, e.g. "Android 13, MIUI 14.0.5 (TKQ1.221114.001)"
imei: []                  # e.g. ["861234567890123", "861234567890131"]
imsi: ""                  # e.g. "460001234567890"
iccid: ""                 # e.g. "89860012345678901234"
serial: ""                # e.g. "R58M12ABCDE"
android_id: ""            # 16 hex digits, e.g. "9774d56d682e549c"
oaid: ""                  # e.g. "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
gaid: ""                  # e.g. "38400000-8cf0-11bd-b23e-10b96e40000d"
wifi_mac: ""              # e.g. "ac:37:43:12:34:56"
bssid: ""                 # e.g. "f4:6d:04:aa:bb:cc"
ssid: ""                  # e.g. "PIScan-Lab"
bluetooth_mac: ""         # e.g. "ac:37:43:65:43:21"
phone_number: ""          # e.g. "+86 138 0013 8000"
device_name: ""           # e.g. "Examiner Redmi"
location:                 # e.g. {lat: 39.9087, lon: 116.3975, radius_m: 200}
canaries:
  contacts: []            # e.g. [{name: "金丝雀测试", phone: "13912345678"}]
  clipboard: ""           # e.g. "piscan-clipboard-canary-7f3a"
  calendar: ""            # e.g. "piscan calendar canary 2026"
  installed_apps: []      # e.g. ["org.piscan.canary.alpha"]
"""
