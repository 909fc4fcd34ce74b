"""Device profile loading: the shipped template and example load; bad files give one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.traffic.device_profile import PROFILE_TEMPLATE, load_profile, parse_profile

REPO = Path(__file__).resolve().parents[2]


def test_template_loads_as_an_empty_profile() -> None:
    profile = parse_profile(PROFILE_TEMPLATE, Path("device-profile.yaml"))
    assert profile.values == () and profile.location is None and profile.label is None


def test_sample_profile_values() -> None:
    profile = load_profile(REPO / "samples" / "device-profile.yaml")
    by_key = {(v.key, v.value) for v in profile.values}
    assert ("imei", "861234567890135") in by_key
    assert ("canaries.contacts.name", "金丝雀测试") in by_key
    assert ("canaries.contacts.phone", "13912345678") in by_key
    assert profile.location is not None and profile.location.radius_m == 200
    assert len(profile.sha256) == 64


@pytest.mark.parametrize("text,message", [
    ("imeis: ['861234567890127']", r"unknown key 'imeis' \(did you mean 'imei'\?\)"),
    ("imei: ['86123']", "imei: '86123' must have 14 to 16 digits"),
    ("imei: ['86123456789012a']", "must contain digits only"),
    ("wifi_mac: 'ac:37:43'", "not a MAC address"),
    ("ssid: 'ab'", "too short to match reliably"),
    ("location: {lat: 91, lon: 0}", "out of range"),
    ("location: {lat: x, lon: 0}", "lat and lon must be numbers"),
    ("canaries: {contact: []}", r"unknown key 'canaries.contact' \(did you mean 'contacts'\?\)"),
    ("format: other/1", "format: expected 'piscan-device/1'"),
    ("imei: [", "not valid YAML"),
    ("- a\n- b", "must be a mapping"),
])
def test_bad_profiles(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_profile(text, Path("p.yaml"))
    assert info.value.path == "p.yaml" and "\n" not in info.value.line()


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such device profile"):
        load_profile(tmp_path / "none.yaml")
