"""The app block helpers of static.py: first-party prefixes and entry points."""

from __future__ import annotations

import pytest

from scanner.apk.static import EntryPoints, first_party_prefixes


@pytest.mark.parametrize(
    ("package", "app_class", "expected"),
    [
        ("com.hjq.demo", "com.hjq.demo.common.MyApplication", ["com.hjq.demo"]),
        ("com.shop.android", "com.shop.core.ShopApp", ["com.shop.android", "com.shop.core"]),
        ("com.shop.android", "android.support.multidex.MultiDexApplication", ["com.shop.android"]),
        ("com.shop.android", "androidx.multidex.MultiDexApplication", ["com.shop.android"]),
        ("com.shop.android", "com.stub.StubApp", ["com.shop.android"]),  # 360 packer shell
        ("com.shop.android", "com.tencent.tinker.loader.app.TinkerApplication", ["com.shop.android"]),
        ("com.shop.android", "io.dcloud.application.DCloudApplication", ["com.shop.android"]),
        ("com.shop.android", "App", ["com.shop.android"]),
        ("com.shop.android", None, ["com.shop.android"]),
    ],
)
def test_first_party_prefixes(package: str, app_class: str | None, expected: list[str]) -> None:
    assert first_party_prefixes(package, app_class) == expected


def test_entry_point_classes_order() -> None:
    eps = EntryPoints("a.App", ("a.P1", "b.P2"), ("a.Boot",))
    assert eps.classes() == ["a.App", "a.P1", "b.P2", "a.Boot"]
    assert EntryPoints(None, (), ("a.Boot",)).classes() == ["a.Boot"]
