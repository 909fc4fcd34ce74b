#!/usr/bin/env python3
"""Generate rules/android-permissions.yaml from androguard's AOSP permission data plus a PI mapping.

Run from the repository root with a Python that has androguard installed (androguard 4.1.4 ships
AOSP data for API 4-36; 4.1.3 only up to 34)::

    python rules/build_permission_catalogue.py            # rewrites rules/android-permissions.yaml
    python rules/build_permission_catalogue.py --check    # exit 1 if the YAML is out of date

For every permission in any ``permissions_<API>.json`` it records the protection level of the
newest API that defines it, the permission group of the newest API that still names one (from
API 29 AOSP marks every group UNDEFINED), the first API at which it is ``dangerous`` and the
first API that defines it. The hand-written ``PI_MAPPING`` below (from
domain/regulations.md §7.1-7.2) adds the PI types, the verification mark and the source.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

VERSION = "2026.11.28"
NEWEST_API = 36  # the AOSP level the shipped YAML was generated from
OUT = Path(__file__).resolve().parent / "android-permissions.yaml"
A = "android.permission."

# name -> (pi_types, verification mark of the mapping, source, note, group override)
# Groups after API 28 come from regulations.md §7.1 (AOSP data says UNDEFINED): mark U.
_R71 = "regulations.md §7.1"
_R72 = "regulations.md §7.2"
PI_MAPPING: dict[str, tuple[list[str], str, str, str | None, str | None]] = {
    A + "READ_CALENDAR": (["calendar"], "V", _R71, None, None),
    A + "WRITE_CALENDAR": (["calendar"], "V", _R71, None, None),
    A + "READ_CALL_LOG": (["call_log"], "V", _R71, "call records count toward the CRIM 500-item class", None),
    A + "WRITE_CALL_LOG": (["call_log"], "V", _R71, None, None),
    A + "PROCESS_OUTGOING_CALLS": (["call_log"], "V", _R71, None, None),
    A + "CAMERA": (["camera"], "V", _R71, None, None),
    A + "READ_CONTACTS": (["contacts"], "V", _R71, None, None),
    A + "WRITE_CONTACTS": (["contacts"], "V", _R71, None, None),
    A + "GET_ACCOUNTS": (["accounts_on_device"], "V", _R71, None, None),
    A + "ACCESS_FINE_LOCATION": (["location_precise"], "V", _R71, "necessary only for NPI types 1, 2, 22", None),
    A + "ACCESS_COARSE_LOCATION": (["location_coarse"], "V", _R71, "necessary only for NPI types 1, 2, 22", None),
    A + "ACCESS_BACKGROUND_LOCATION": (["location_background"], "U", _R71, "CAC 2026 draft: do not request unless required", "LOCATION"),
    A + "ACCESS_MEDIA_LOCATION": (["location_precise", "photos_media"], "U", _R71, "location stored in photo EXIF", None),
    A + "RECORD_AUDIO": (["microphone"], "V", _R71, None, None),
    A + "READ_PHONE_STATE": (["imei", "imsi", "iccid", "serial_number", "device_info"], "V", _R71, "the classic 读取设备信息 permission in MIIT reports", None),
    A + "READ_PHONE_NUMBERS": (["phone_number"], "V", _R71, None, None),
    A + "ANSWER_PHONE_CALLS": (["phone_calls"], "V", _R71, None, None),
    A + "CALL_PHONE": (["phone_calls"], "V", _R71, None, None),
    A + "USE_SIP": (["phone_calls"], "V", _R71, None, None),
    A + "ACCEPT_HANDOVER": (["phone_calls"], "V", _R71, None, None),
    "com.android.voicemail.permission.ADD_VOICEMAIL": (["phone_calls"], "V", _R71, None, None),
    A + "BODY_SENSORS": (["health"], "V", _R71, None, None),
    A + "BODY_SENSORS_BACKGROUND": (["health"], "U", _R71, None, "SENSORS"),
    A + "SEND_SMS": (["sms"], "V", _R71, None, None),
    A + "RECEIVE_SMS": (["sms", "communication_content"], "V", _R71, "SMS content is communication content (CRIM 50-item class)", None),
    A + "READ_SMS": (["sms", "communication_content"], "V", _R71, "SMS content is communication content (CRIM 50-item class)", None),
    A + "RECEIVE_WAP_PUSH": (["sms"], "V", _R71, None, None),
    A + "RECEIVE_MMS": (["sms", "communication_content"], "V", _R71, None, None),
    A + "READ_CELL_BROADCASTS": (["sms"], "V", _R71, None, None),
    A + "READ_EXTERNAL_STORAGE": (["files", "photos_media"], "V", _R71, "CAC 2026 draft: use the picker instead", None),
    A + "WRITE_EXTERNAL_STORAGE": (["files", "photos_media"], "V", _R71, "CAC 2026 draft: use the picker instead", None),
    A + "READ_MEDIA_IMAGES": (["photos_media"], "U", _R71, None, "READ_MEDIA_VISUAL"),
    A + "READ_MEDIA_VIDEO": (["photos_media"], "U", _R71, None, "READ_MEDIA_VISUAL"),
    A + "READ_MEDIA_VISUAL_USER_SELECTED": (["photos_media"], "U", _R71, None, "READ_MEDIA_VISUAL"),
    A + "READ_MEDIA_AUDIO": (["photos_media"], "U", _R71, None, "READ_MEDIA_AURAL"),
    A + "ACTIVITY_RECOGNITION": (["physical_activity"], "U", _R71, None, "ACTIVITY_RECOGNITION"),
    A + "BLUETOOTH_SCAN": (["nearby_devices"], "U", _R71, "can infer location", "NEARBY_DEVICES"),
    A + "BLUETOOTH_CONNECT": (["nearby_devices"], "U", _R71, "can infer location", "NEARBY_DEVICES"),
    A + "BLUETOOTH_ADVERTISE": (["nearby_devices"], "U", _R71, "can infer location", "NEARBY_DEVICES"),
    A + "UWB_RANGING": (["nearby_devices"], "U", _R71, "can infer location", "NEARBY_DEVICES"),
    A + "NEARBY_WIFI_DEVICES": (["nearby_devices"], "U", _R71, "can infer location", "NEARBY_DEVICES"),
    A + "RANGING": (["nearby_devices"], "U", _R71, "can infer location", "NEARBY_DEVICES"),
    A + "POST_NOTIFICATIONS": ([], "U", _R71, "not PI; a runtime dialog (counts for pop-up frequency)", "NOTIFICATIONS"),
    A + "EYE_TRACKING_COARSE": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING"),
    A + "EYE_TRACKING_FINE": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING_SENSITIVE"),
    A + "FACE_TRACKING": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING_SENSITIVE"),
    A + "HAND_TRACKING": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING"),
    A + "HEAD_TRACKING": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING"),
    A + "SCENE_UNDERSTANDING_COARSE": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING"),
    A + "SCENE_UNDERSTANDING_FINE": (["biometrics"], "U", _R71, "biometric-like body data", "XR_TRACKING_SENSITIVE"),
    # §7.2: not runtime permissions, still relevant to PI rules
    A + "QUERY_ALL_PACKAGES": (["installed_apps"], "V", _R72, "reads the installed-app list (软件安装列表); <queries> is the narrow alternative", None),
    A + "GET_TASKS": (["running_apps"], "V", _R72, "running tasks (legacy)", None),
    A + "PACKAGE_USAGE_STATS": (["app_usage"], "V", _R72, "app-usage history via UsageStatsManager", None),
    A + "ACCESS_WIFI_STATE": (["wifi_info", "mac_address"], "V", _R72, "SSID/BSSID, scan results (location inference), MAC on old OS", None),
    A + "CHANGE_WIFI_STATE": (["wifi_info"], "V", _R72, "Wi-Fi scans (location inference)", None),
    A + "BLUETOOTH": (["bluetooth_mac", "nearby_devices"], "V", _R72, "Bluetooth MAC and device names (API <= 30)", None),
    A + "READ_BASIC_PHONE_STATE": (["device_info"], "V", _R72, "non-identifying phone state", None),
    A + "READ_PRIVILEGED_PHONE_STATE": (["imei", "imsi", "iccid", "serial_number"], "V", _R72, "a third-party app declaring it is a red flag", None),
    A + "LOCAL_MAC_ADDRESS": (["mac_address"], "V", _R72, "a third-party app declaring it is a red flag", None),
    A + "READ_CLIPBOARD_IN_BACKGROUND": (["clipboard"], "V", _R72, "third-party apps cannot read the clipboard in background on modern Android", None),
    A + "RECEIVE_BOOT_COMPLETED": ([], "V", _R72, "self-start at boot (M164-6)", None),
    A + "WAKE_LOCK": ([], "V", _R72, "keep-alive pattern supporting background collection", None),
    A + "FOREGROUND_SERVICE": ([], "V", _R72, "keep-alive pattern supporting background collection", None),
    A + "REQUEST_IGNORE_BATTERY_OPTIMIZATIONS": ([], "V", _R72, "keep-alive pattern supporting background collection", None),
    A + "SYSTEM_ALERT_WINDOW": ([], "V", _R72, "overlays and pop-ups over other apps", None),
    A + "REQUEST_INSTALL_PACKAGES": ([], "V", _R72, "installing other apps (M164-7 download/install lures)", None),
    A + "MANAGE_EXTERNAL_STORAGE": (["files", "photos_media"], "V", _R72, "all-files access", None),
    A + "BIND_ACCESSIBILITY_SERVICE": (["communication_content"], "V", _R72, "screen-content reading; very high risk", None),
    A + "BIND_NOTIFICATION_LISTENER_SERVICE": (["communication_content"], "V", _R72, "notification (SMS code) reading; very high risk", None),
    A + "READ_LOGS": ([], "V", _R72, None, None),
}

# Permissions that are not in AOSP but that §7.2 names.
NON_AOSP = {
    "com.google.android.gms.permission.AD_ID": {
        "protection_level": "normal", "group": None, "dangerous_since": None, "added_in": None,
        "pi_types": ["advertising_id"], "verification": "U", "source": f"{_R72} (Play services, not AOSP)",
        "note": "GAID access on API 33+",
    },
}


def aosp_dir() -> Path:
    """androguard's folder of ``permissions_<API>.json`` files."""
    import androguard

    return Path(androguard.__file__).resolve().parent / "core" / "api_specific_resources" / "aosp_permissions"


def load_levels(folder: Path) -> dict[int, dict]:
    """API level -> the ``permissions`` table of that level."""
    out = {}
    for path in folder.glob("permissions_*.json"):
        match = re.fullmatch(r"permissions_(\d+)\.json", path.name)
        if match:
            out[int(match.group(1))] = json.loads(path.read_text(encoding="utf-8"))["permissions"]
    if not out:
        raise SystemExit(f"no permissions_<API>.json in {folder}")
    return dict(sorted(out.items()))


def _group(name: str) -> str | None:
    if not name or name.endswith(".UNDEFINED"):
        return None
    return name.rsplit(".", 1)[-1]


def build(levels: dict[int, dict]) -> dict:
    """The catalogue document (a dict ready for YAML)."""
    names = sorted({n for table in levels.values() for n in table})
    apis = sorted(levels)
    rows = []
    for name in names:
        present = [api for api in apis if name in levels[api]]
        newest = levels[present[-1]][name]
        dangerous = [api for api in present if "dangerous" in levels[api][name]["protectionLevel"].split("|")]
        groups = [_group(levels[api][name].get("permissionGroup", "")) for api in present]
        group = next((g for g in reversed(groups) if g), None)
        pi_types, mark, source, note, group_override = PI_MAPPING.get(name, ([], "V", None, None, None))
        rows.append({
            "name": name,
            "protection_level": newest["protectionLevel"] or "normal",
            "group": group or group_override,
            "dangerous_since": dangerous[0] if dangerous and "dangerous" in newest["protectionLevel"] else None,
            "added_in": present[0],
            "pi_types": sorted(pi_types),
            "verification": mark,
            "source": "; ".join(s for s in (source, f"AOSP API {present[0]}-{present[-1]} (androguard)") if s),
            "note": note,
        })
    for name, extra in NON_AOSP.items():
        rows.append({"name": name, **extra})
    rows.sort(key=lambda r: r["name"])
    missing = sorted(set(PI_MAPPING) - {r["name"] for r in rows})
    if missing:
        raise SystemExit(f"PI_MAPPING names permissions not in the AOSP data: {', '.join(missing)}")
    return {"version": VERSION, "aosp_api_range": [apis[0], apis[-1]], "permissions": rows}


HEADER = """\
# Android permission catalogue: protection level, group and PI types of every AOSP permission.
#
# GENERATED by rules/build_permission_catalogue.py from androguard's AOSP permission data
# (androguard/core/api_specific_resources/aosp_permissions/permissions_<API>.json) and the
# hand-written PI mapping in that script (domain/regulations.md §7.1-7.2). Do not edit by hand:
# change the script and re-run it.
#
# Fields
#   name              permission name
#   protection_level  AOSP protectionLevel of the newest API level that defines it
#   group             permission group (newest API that names one; post-28 groups from §7.1)
#   dangerous_since   first API level whose data marks it dangerous (null: not dangerous now)
#   added_in          first API level whose data defines it (the data starts at API 4)
#   pi_types          ids from rules/pi-types.yaml
#   verification      V / P / U mark of the PI mapping (regulations.md §0.1)
#   source            where the mapping and the level come from
#   note              why it matters to PI rules (null when nothing to add)
"""


def render(doc: dict) -> str:
    """The YAML text, one flow-style mapping per permission for a compact, diffable file."""
    lines = [HEADER, f'version: "{doc["version"]}"', f"aosp_api_range: {doc['aosp_api_range']}", "permissions:"]
    for row in doc["permissions"]:
        text = yaml.safe_dump(row, default_flow_style=True, allow_unicode=True, sort_keys=False, width=100000).strip()
        lines.append(f"  - {text}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) rules/android-permissions.yaml."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the YAML differs from a fresh build")
    args = parser.parse_args(argv)
    levels = load_levels(aosp_dir())
    if max(levels) < NEWEST_API:
        print(f"androguard's AOSP data stops at API {max(levels)}; the catalogue is built from API "
              f"{NEWEST_API} (androguard >= 4.1.4)", file=sys.stderr)
        return 2
    text = render(build(levels))
    if args.check:
        same = OUT.exists() and OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} is out of date; re-run {Path(__file__).name}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
