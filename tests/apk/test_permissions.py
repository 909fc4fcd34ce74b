"""The permission catalogue (generated from androguard's AOSP data) and permission facts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from scanner.testing.corpus import REPO
from scanner.apk.permissions import PERMISSIONS_KIND, UsesPermission, load_catalogue, permission_facts
from scanner.datapack import parse
from scanner.errors import UsageError
from scanner.pi import vocabulary


def _builder():
    spec = importlib.util.spec_from_file_location("build_permission_catalogue", REPO / "rules" / "build_permission_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogue_entries_from_regulations() -> None:
    cat = load_catalogue()
    phone = cat.get("android.permission.READ_PHONE_STATE")
    assert phone.protection_level == "dangerous" and phone.group == "PHONE"
    assert set(phone.pi_types) == {"imei", "imsi", "iccid", "serial_number", "device_info"}
    assert phone.verification == "V" and "§7.1" in phone.source
    qap = cat.get("android.permission.QUERY_ALL_PACKAGES")
    assert (qap.protection_level, qap.pi_types, qap.added_in) == ("normal", ("installed_apps",), 30)
    bg = cat.get("android.permission.ACCESS_BACKGROUND_LOCATION")
    assert (bg.dangerous_since, bg.group, bg.verification, bg.pi_types) == (29, "LOCATION", "U", ("location_background",))
    assert cat.get("android.permission.READ_PRIVILEGED_PHONE_STATE").protection_level.startswith("signature")
    assert cat.get("com.google.android.gms.permission.AD_ID").pi_types == ("advertising_id",)
    assert cat.get("android.permission.INTERNET").pi_types == ()
    assert cat.get("com.example.NOT_A_PERMISSION") is None


def test_every_pi_type_is_in_the_vocabulary() -> None:
    vocab = vocabulary()
    for entry in load_catalogue().permissions.values():
        assert all(p in vocab for p in entry.pi_types), entry.name


def test_catalogue_covers_every_aosp_permission_of_the_installed_androguard() -> None:
    builder = _builder()
    levels = builder.load_levels(builder.aosp_dir())
    newest = max(levels)
    cat = load_catalogue()
    for name, row in levels[newest].items():
        entry = cat.get(name)
        assert entry is not None, name
        if newest == builder.NEWEST_API or "dangerous" in row["protectionLevel"]:
            assert entry.protection_level == (row["protectionLevel"] or "normal"), name


def test_generated_yaml_is_up_to_date() -> None:
    builder = _builder()
    levels = builder.load_levels(builder.aosp_dir())
    shipped = load_catalogue()
    if max(levels) != builder.NEWEST_API:
        pytest.skip(f"installed androguard has AOSP data up to API {max(levels)}; the YAML was built from API 36 "
                    "(androguard >= 4.1.4)")
    text = builder.render(builder.build(levels))
    assert text == (REPO / "rules" / "android-permissions.yaml").read_text(encoding="utf-8")
    assert len(shipped.permissions) == len(builder.build(levels)["permissions"])


def test_permission_facts_apply_max_sdk_and_mark_unknown() -> None:
    uses = [
        UsesPermission("android.permission.WRITE_EXTERNAL_STORAGE", 28, ("uses-permission",)),
        UsesPermission("android.permission.READ_EXTERNAL_STORAGE", 32, ("uses-permission",)),
        UsesPermission("android.permission.CAMERA", None, ("uses-permission", "uses-permission-sdk-23")),
        UsesPermission("com.example.app.permission.C2D_MESSAGE", None, ("uses-permission",)),
    ]
    rows = {r["name"]: r for r in permission_facts(uses, target_sdk=30)}
    assert [r["name"] for r in permission_facts(uses, target_sdk=30)] == sorted(rows)
    assert rows["android.permission.WRITE_EXTERNAL_STORAGE"]["applies"] is False  # 28 < 30
    assert rows["android.permission.READ_EXTERNAL_STORAGE"]["applies"] is True
    assert rows["android.permission.CAMERA"] == {
        "id": "perm:android.permission.CAMERA", "name": "android.permission.CAMERA",
        "protection_level": "dangerous|instant", "pi_types": ["camera"], "group": "CAMERA", "dangerous_since": 4,
        "max_sdk_version": None, "applies": True, "declared_as": ["uses-permission", "uses-permission-sdk-23"],
        "known": True,
    }
    custom = rows["com.example.app.permission.C2D_MESSAGE"]
    assert (custom["known"], custom["protection_level"], custom["pi_types"]) == (False, None, [])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("permissions: [", ":1: (yaml): not valid YAML"),
        ("version: '1'", ":1: (pack): missing required key 'permissions'"),
        ("version: '1'\npermissions:\n  - {name: a.B, protection_level: normal, pi_types: [telepathy], verification: V}",
         ":3: permissions[0].pi_types[0]: 'telepathy' is not one of"),
        ("version: '1'\npermissions:\n  - {name: a.B, protection_level: normal, pi_types: [], verification: X}",
         ":3: permissions[0].verification: 'X' is not one of: V, P, U"),
        ("version: '1'\npermissions:\n  - {name: a.B, protection_level: normal, pi_types: [], verification: V}\n"
         "  - {name: a.B, protection_level: normal, pi_types: [], verification: V}", ":4: permissions[1].name: duplicate name 'a.B'"),
        ("version: '1'\npermissions:\n  - {pi_types: [], protection_level: normal, verification: V}",
         ":3: permissions[0]: missing required key 'name'"),
    ],
)
def test_bad_catalogues_are_usage_errors(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "perms.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as info:
        load_catalogue(path)
    assert message in info.value.line() and str(path) in info.value.line()


def test_catalogue_never_executes_yaml_tags(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not valid YAML"):
        parse(PERMISSIONS_KIND, "permissions: !!python/object/apply:os.system ['echo hi']", "evil.yaml")
    assert json.dumps(load_catalogue().version) == '"2026.11.28"'
