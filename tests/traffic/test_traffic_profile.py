"""Device profile loading: the shipped template and example load; bad files give one clear line."""

from __future__ import annotations

import re
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
    ("imeis: ['861234567890127']", r"p.yaml:1: imeis: unknown key; valid keys: .*; did you mean 'imei'\?"),
    ("imei: ['86123']", r"p.yaml:1: imei\[0\]: '86123' must have 14 to 16 digits"),
    ("label: x\nimei:\n  - '86123456789012a'", r"p.yaml:3: imei\[0\]: .* must contain digits only"),
    ("wifi_mac: 'ac:37:43'", "p.yaml:1: wifi_mac: .* not a MAC address"),
    ("ssid: 'ab'", "p.yaml:1: ssid: .* too short to match reliably"),
    ("location: {lat: 91, lon: 0}", r"p.yaml:1: location.lat: 91 is out of range \(maximum 90\)"),
    ("location: {lat: x, lon: 0}", "p.yaml:1: location.lat: must be of type number, got string"),
    ("canaries: {contact: []}", r"p.yaml:1: canaries.contact: unknown key; .*did you mean 'contacts'\?"),
    ("format: other/1", "p.yaml:1: format: 'other/1': expected 'piscan-device/1'"),
    ("imei: [", "p.yaml:1: .yaml.: not valid YAML"),
    ("- a\n- b", "p.yaml:1: .pack.: must be of type object or null, got array"),
])
def test_bad_profiles(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_profile(text, Path("p.yaml"))
    assert info.value.path == "p.yaml" and "\n" not in info.value.line()
    assert re.match(message, info.value.line()), info.value.line()


def test_missing_profile_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such device profile"):
        load_profile(tmp_path / "none.yaml")
