"""The device-profile matcher (every encoding, one regex) and the validated pattern detectors."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import quote

import pytest

from scanner.pi import vocabulary
from scanner.traffic.decoders import Field
from scanner.traffic.detectors import luhn_ok, pattern_matches, resident_id_ok
from scanner.traffic.matcher import ProfileMatcher, trie_regex
from scanner.traffic.device_profile import load_profile

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def matcher() -> ProfileMatcher:
    return ProfileMatcher(load_profile(REPO / "samples" / "device-profile.yaml"))


def _hits(matcher: ProfileMatcher, text: str, via: str = "") -> set[tuple[str, str]]:
    return {(m.pi_type, m.encoding) for m in matcher.match_field(Field("body:$.x", text, transforms=via))}


IMEI = "861234567890127"
MAC = "ac:37:43:12:34:56"


@pytest.mark.parametrize("text,expected", [
    (IMEI, ("imei", "plain")),
    (hashlib.md5(IMEI.encode()).hexdigest(), ("imei", "md5")),
    (hashlib.md5(IMEI.encode()).hexdigest().upper(), ("imei", "md5")),
    (hashlib.sha1(IMEI.encode()).hexdigest(), ("imei", "sha1")),
    (hashlib.sha256(IMEI.encode()).hexdigest(), ("imei", "sha256")),
    (base64.b64encode(IMEI.encode()).decode(), ("imei", "base64")),
    (MAC.upper(), ("mac_address", "upper")),
    ("ac-37-43-12-34-56", ("mac_address", "plain")),
    ("AC3743123456", ("mac_address", "nosep")),
    (hashlib.md5(b"AC:37:43:12:34:56").hexdigest(), ("mac_address", "md5")),
    (hashlib.sha1(b"ac3743123456").hexdigest(), ("mac_address", "sha1")),
    (quote(MAC, safe=""), ("mac_address", "url")),
    ("F1E2D3C4B5A649788695A4B3C2D1E0F9", ("advertising_id", "nosep")),
    ("38400000-8CF0-11BD-B23E-10B96E40000D", ("advertising_id", "upper")),
    ("+8613800138000", ("phone_number", "nosep")),
    ("138 0013 8000", ("phone_number", "plain")),
    ("金丝雀测试", ("contacts", "plain")),
    (quote("金丝雀测试"), ("contacts", "url")),
    ("org.piscan.canary.beta", ("installed_apps", "plain")),
    ("R58M12ABCDE".lower(), ("serial_number", "lower")),
    ('{"clip": "piscan-clipboard-canary-7f3a"}', ("clipboard", "plain")),
])
def test_profile_value_encodings(matcher, text, expected) -> None:
    assert expected in _hits(matcher, f"k={text}&z=1")


def test_base64_decoded_field_reports_base64(matcher) -> None:
    assert _hits(matcher, IMEI, via="base64") == {("imei", "base64")}


@pytest.mark.parametrize("text", [
    "861234567890127" + "9",  # inside a longer number
    "x861234567890127",  # glued to a letter
    hashlib.md5(b"861234567890128").hexdigest(),
    base64.b64encode(IMEI.encode()).decode().lower(),  # base64 is case-sensitive
    "ac:37:43:12:34:57",
])
def test_near_misses_do_not_match(matcher, text) -> None:
    assert _hits(matcher, text) == set()


def test_location_within_radius_only(matcher) -> None:
    assert _hits(matcher, "39.9090,116.3980") == {("location_precise", "plain")}
    assert _hits(matcher, "116.3980,39.9090") == {("location_precise", "plain")}  # lon,lat order
    assert _hits(matcher, "39.9200,116.3980") == set()  # about 1.2 km away


def test_every_profile_pi_type_is_in_the_vocabulary(matcher) -> None:
    vocab = vocabulary()
    assert all(v.pi_type in vocab for v in matcher.profile.values)


def test_trie_regex_matches_exactly_the_words() -> None:
    import re

    words = ["abc", "abd", "ab", "x.y"]
    regex = re.compile(f"^(?:{trie_regex(words)})$")
    assert [w for w in ["abc", "abd", "ab", "a", "x.y", "xzy", "abcd"] if regex.match(w)] == ["abc", "abd", "ab", "x.y"]


def _patterns(text: str, loc: str = "body:$.v") -> set[tuple[str, str]]:
    return {(m.pi_type, m.value_masked) for m in pattern_matches(Field(loc, text))}


def test_imei_needs_luhn() -> None:
    assert luhn_ok("490154203237518") and not luhn_ok("490154203237517")
    assert _patterns("imei=490154203237518") == {("imei", "4901********518")}
    assert _patterns("imei=490154203237517") == set()


def test_resident_id_needs_check_digit() -> None:
    assert resident_id_ok("11010519491231002X")
    assert _patterns("id 11010519491231002X") == {("identity_document", "1101***********02X")}
    assert _patterns("id 110105194912310021") == set()


def test_mobile_number_needs_context() -> None:
    assert _patterns("13800138000", loc="body:$.mobile") == {("phone_number", "1380****000")}
    assert _patterns("tel: 13800138000") == {("phone_number", "1380****000")}
    assert _patterns("+86 13800138000") == {("phone_number", "1380****000")}
    assert _patterns("ts=13800138000") == set()


def test_mac_excludes_the_android_placeholder() -> None:
    assert _patterns("02:00:00:00:00:00") == set()
    assert _patterns("mac=3c:5a:b4:01:02:03") == {("mac_address", "3c:5**********:03")}
    assert {m.pi_type for m in pattern_matches(Field("body:$.bt_mac", "3c:5a:b4:01:02:03"))} == {"bluetooth_mac"}


def test_lat_lon_pairs_and_package_lists() -> None:
    assert _patterns("31.2304,121.4737") == {("location_precise", "31.23***,121.47***")}
    assert _patterns("version 1.2.3, 4.5.6") == set()
    apps = "com.tencent.mm,com.eg.android.AlipayGphone,com.taobao.taobao,com.ss.android.ugc.aweme"
    assert _patterns(apps) == {("installed_apps", "4 package names")}
    assert _patterns("www.baidu.com,api.umeng.com,log.qq.com,a.b.cn") == set()


@pytest.mark.parametrize("text", [
    "imei 861234567890127 in ascii", "设备 861234567890127 中文", "Ελληνικά ΟΔΥΣΣΕΑΣΒ ΣΣ ς", "Kelvin \u212a861234567890127",
    "dotted \u0130 861234567890127", "long s \u017f861234567890127", "AC:37:43:12:34:56", "ac-37-43-12-34-56x",
])
def test_the_lower_cased_search_finds_what_the_case_folding_search_finds(matcher: ProfileMatcher, text: str) -> None:
    """The fast search runs on a lower-cased copy only where that cannot change a hit (issue 14
    review: Greek final sigma folds differently); each text is checked against the IGNORECASE regex."""
    from scanner.traffic.decoders import JoinedFields

    expected = [(hit.start(), hit.group(0)) for hit in matcher._regex.finditer(text)]
    found = [(m.location, m.pi_type) for m in matcher.match_fields(JoinedFields([Field("body", text)]))]
    assert len(found) >= len(expected)  # one spelling may stand for several values
    assert bool(found) == bool(expected)


def test_a_greek_profile_value_is_matched_as_before(tmp_path: Path) -> None:
    profile = tmp_path / "greek.yaml"
    profile.write_text('format: piscan-device/1\nlabel: greek\ndevice_name: "ΟΔΥΣΣΕΑΣ"\n', encoding="utf-8")
    greek = ProfileMatcher(load_profile(profile))
    assert greek._lower_regex is None  # a value with non-ASCII case: the case-folding search only
    assert len(greek.match_field(Field("body", "ΟΔΥΣΣΕΑΣΒ"))) == 1  # as the IGNORECASE search finds it
