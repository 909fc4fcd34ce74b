"""The policy lexicon: loading checks and term matching."""

from __future__ import annotations

import pytest

from scanner.errors import UsageError
from scanner.policy.lexicon import default_lexicon, parse_lexicon
from scanner.resources import rules_dir

def _pi(text: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(text[m.start:m.end], m.term.targets) for m in default_lexicon().find_pi(text)]


def test_longest_term_wins_and_swallowed_terms_name_nothing() -> None:
    assert _pi("IP地址和短信验证码") == [("IP地址", ("ip_address",)), ("短信验证码", ())]


@pytest.mark.parametrize("text, terms", [
    ("SNS分享", []),
    ("设备序列号（SN）", ["设备序列号", "SN"]),
    ("MACHINE", []),
    ("用户IP经加密", ["IP"]),
])
def test_ascii_terms_stand_alone(text: str, terms: list[str]) -> None:
    assert [t for t, _ in _pi(text)] == terms


@pytest.mark.parametrize("text, expected", [
    ("设备标识符（IMEI、Android ID）", ["IMEI", "Android ID"]),
    ("设备标识OAID", ["OAID"]),
    ("如IDFA、OAID等设备标识符", ["IDFA", "OAID"]),
])
def test_a_generic_term_that_introduces_or_sums_up_specific_ones_is_dropped(text: str, expected: list[str]) -> None:
    assert [t for t, _ in _pi(text)] == expected


def test_a_generic_term_alone_stands_for_its_group() -> None:
    [(term, targets)] = _pi("唯一设备标识符")
    assert term == "唯一设备标识符" and {"imei", "android_id", "mac_address"} <= set(targets)


_GOOD = (rules_dir() / "policy-lexicon.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("replace, match", [
    (("pi: [imei]", "pi: [imie]"), r"pi_terms\[0\]\.pi\[0\]: 'imie' is not one of"),
    (("pi: [group:device_identifiers]", "pi: [group:nope]"), "unknown PI group 'nope'"),
    (("permissions: [android.permission.CAMERA]", "permissions: [android.permission.CAMERRA]"), "unknown permission"),
    (("  summary: [", "  summry: ["), "roles: expected exactly"),
    (("  retention: [", "  retain: ["), "rights: expected exactly"),
    (("response_time: '", "response_time: '(("), "response_time"),
])
def test_bad_lexicon_fails_naming_the_entry(replace: tuple[str, str], match: str) -> None:
    text = _GOOD.replace(*replace, 1)
    assert text != _GOOD
    from scanner.apk.permissions import load_catalogue

    with pytest.raises(UsageError, match=match):
        parse_lexicon(text, set(load_catalogue().permissions))


def test_shipped_lexicon_loads_with_version_and_digest() -> None:
    lex = default_lexicon()
    assert lex.version and len(lex.sha256) == 64
    assert lex.field_of("第三方名称") == "operator" and lex.field_of("收集个人信息类型") == "pi"
    assert lex.field_of("权限信息", "permission_list") == "permission"
