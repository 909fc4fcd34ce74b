"""Prefix and host-suffix matching on name boundaries (scanner/sdk/prefixes.py)."""

from __future__ import annotations

import pytest

from scanner.sdk.prefixes import HostMatcher, PrefixMatcher, dotted_ancestors, host_ancestors, normalise_host, under_any


def test_prefix_matches_on_package_boundary_only() -> None:
    m = PrefixMatcher([("com.dv", "dv"), ("com.dvtech.sdk", "dvtech")])
    assert m.longest("com.dv.Foo") == ("com.dv", ("dv",))
    assert m.longest("com.dv") == ("com.dv", ("dv",))
    assert m.longest("com.dvtech.Foo") is None
    assert m.longest("com.dvtech.sdk.a.B") == ("com.dvtech.sdk", ("dvtech",))
    assert m.longest("com.d") is None


def test_longest_prefix_wins_and_all_matches_lists_every_level() -> None:
    m = PrefixMatcher([("com.google.android.gms", "gms"), ("com.google.android.gms.ads", "admob"), ("com.google.android.gms.ads.", "admob")])
    assert len(m) == 2  # a trailing dot is the same prefix
    assert m.longest("com.google.android.gms.ads.AdView") == ("com.google.android.gms.ads", ("admob",))
    assert m.longest("com.google.android.gms.common.Api") == ("com.google.android.gms", ("gms",))
    assert [p for p, _ in m.all_matches("com.google.android.gms.ads.AdView")] == ["com.google.android.gms.ads", "com.google.android.gms"]


def test_prefix_with_several_owners_keeps_them_in_insertion_order() -> None:
    m = PrefixMatcher([("cn.jiguang", "jiguang_core"), ("cn.jiguang", "jpush"), ("cn.jiguang", "jiguang_core")])
    assert m.longest("cn.jiguang.a.b") == ("cn.jiguang", ("jiguang_core", "jpush"))


def test_full_class_name_can_be_a_pattern() -> None:
    m = PrefixMatcher([("com.vivo.VivoPushMessageReceiver", "vivo")])
    assert m.longest("com.vivo.VivoPushMessageReceiver") == ("com.vivo.VivoPushMessageReceiver", ("vivo",))
    assert m.longest("com.vivo.VivoPushMessageReceiverX") is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("umeng.com", "umeng.com"),
        ("ulogs.umeng.com", "umeng.com"),
        ("ULOGS.Umeng.COM.", "umeng.com"),
        ("ulogs.umeng.com:443", "umeng.com"),
        ("notumeng.com", None),
        ("umeng.com.evil.net", None),
        ("android.bugly.qq.com", "bugly.qq.com"),
        ("qq.com", None),
    ],
)
def test_host_suffix_matches_whole_labels(host: str, expected: str | None) -> None:
    m = HostMatcher([("umeng.com", "umeng"), ("bugly.qq.com", "bugly"), (".flurry.com", "flurry")])
    hit = m.longest(host)
    assert (hit[0] if hit else None) == expected


def test_leading_dot_in_a_host_pattern_is_ignored() -> None:
    m = HostMatcher([(".flurry.com", "flurry")])
    assert m.longest("data.flurry.com") == ("flurry.com", ("flurry",))


def test_ancestors_and_helpers() -> None:
    assert dotted_ancestors("a.b.C") == ["a.b.C", "a.b", "a"]
    assert host_ancestors("x.y.com") == ["x.y.com", "y.com", "com"]
    assert normalise_host("[::1]") == "::1"
    assert under_any("com.hjq.demo.ui.Main", ["com.hjq.demo"])
    assert not under_any("com.hjq.demoX.Main", ["com.hjq.demo"])
