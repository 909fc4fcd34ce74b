"""The API catalogue against data: which Android API levels confirm each entry (androguard's
API-permission mappings, API 16-25), recorded in rules/android-apis.yaml as ``checked_api_levels``,
and never contradicting the entry's ``api_level``. The listing is printed (``pytest -s``)."""

from __future__ import annotations

import pytest

from scanner.apk.api_levels import listing, load_mappings, mapping_dir
from scanner.apk.catalogue import default_catalogue


@pytest.fixture(scope="module")
def levels() -> dict[str, tuple[int, ...]]:
    folder = mapping_dir()
    if folder is None:
        pytest.skip("the installed androguard ships no api_permission_mappings to check the catalogue against")
    return listing(default_catalogue(), load_mappings(folder))


def test_the_catalogue_has_every_source_the_issue_names() -> None:
    catalogue = default_catalogue()
    assert len(catalogue.entries) >= 200
    methods = {(e.class_name, e.name) for e in catalogue.entries}
    for cls, name in [("Landroid/telephony/TelephonyManager;", "getImei"), ("Landroid/telephony/TelephonyManager;", "getMeid"),
                      ("Landroid/telephony/TelephonyManager;", "getAllCellInfo"), ("Landroid/location/LocationManager;", "getCurrentLocation"),
                      ("Landroid/bluetooth/BluetoothAdapter;", "getAddress"), ("Landroid/content/pm/PackageManager;", "queryIntentActivities"),
                      ("Landroid/content/ClipboardManager;", "addPrimaryClipChangedListener"), ("Landroid/net/wifi/WifiManager;", "getScanResults"),
                      ("Ljava/net/NetworkInterface;", "getNetworkInterfaces"), ("Ljava/net/NetworkInterface;", "getHardwareAddress"),
                      ("Landroid/provider/CallLog$Calls;", "CONTENT_URI"), ("Landroid/provider/Telephony$Sms;", "CONTENT_URI")]:
        assert (cls, name) in methods, (cls, name)


def test_recorded_levels_are_what_the_data_confirms(levels) -> None:
    recorded = {e.id: e.checked_api_levels for e in default_catalogue().entries}
    stale = {api_id: (recorded[api_id], found) for api_id, found in levels.items() if recorded[api_id] != found}
    assert stale == {}, "run python -m scanner.apk.api_levels --write"
    for api_id, found in sorted(levels.items()):
        print(f"{api_id:55} {','.join(map(str, found)) or 'not in the mappings (unconfirmed)'}")
    assert sum(1 for f in levels.values() if f) >= 50


def test_no_entry_claims_a_later_first_level_than_the_data_shows(levels) -> None:
    late = {e.id: (e.api_level, levels[e.id][0]) for e in default_catalogue().entries
            if e.api_level is not None and levels[e.id] and e.api_level > levels[e.id][0]}
    assert late == {}
