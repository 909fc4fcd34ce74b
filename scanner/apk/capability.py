"""What a call site can actually do on this app: ``api_calls[].capability``.

A sensitive call in the code is a capability, and only under conditions: the permission the
call needs must be declared (and, for a dangerous permission at targetSdk 23+, granted by the
user at run time), and some reads return nothing to an ordinary app on newer Android versions.
Some calls are not reads of PI at all. Each call site gets one status:

- ``counted``: the call can return the PI under the conditions listed; rules use it;
- ``self_check``: the method looks the app itself up (its own package, its own process), which
  reads nothing about other apps or the user;
- ``library``: the code belongs to a library (AndroidX, Glide, OkHttp, LeakCanary, ...), a
  building block compiled in by the app maker, not a party that collects;
- ``unavailable``: the permission the call needs is not declared, or every Android version the
  app runs on withholds the value from ordinary apps.

Only ``counted`` call sites become findings; the others stay in the result with their reason,
so nothing found is hidden and an examiner can overrule the classification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .catalogue import ApiCatalogue

STATUSES = ("counted", "self_check", "library", "unavailable")

#: permissions that grant the same read (either one declared is enough)
_EQUIVALENT = {
    "android.permission.ACCESS_FINE_LOCATION": ("android.permission.ACCESS_COARSE_LOCATION",),
    "android.permission.ACCESS_COARSE_LOCATION": ("android.permission.ACCESS_FINE_LOCATION",),
    "android.permission.READ_PHONE_STATE": ("android.permission.READ_PRIVILEGED_PHONE_STATE",
                                            "android.permission.READ_PHONE_NUMBERS"),
}
_RUNTIME_FROM_TARGET = 23  #: dangerous permissions are granted at run time from targetSdk 23


def classify_calls(rows: list[dict[str, Any]], catalogue: ApiCatalogue, permissions: Iterable[Mapping[str, Any]],
                   min_sdk: int | None, target_sdk: int | None) -> None:
    """Set ``capability`` on every ``api_calls`` row in place (see the module docstring)."""
    entries = {e.id: e for e in catalogue.entries}
    declared = {str(p.get("name")): p for p in permissions if p.get("applies", True)}
    for row in rows:
        entry = entries.get(str(row.get("api_id")))
        conditions: list[dict[str, Any]] = []
        status, reason = "counted", None
        permission = row.get("permission")
        if permission:
            names = (permission, *_EQUIVALENT.get(permission, ()))
            found = next((declared[n] for n in names if n in declared), None)
            runtime = bool(found and "dangerous" in str(found.get("protection_level") or "").split("|")
                           and (target_sdk or 0) >= _RUNTIME_FROM_TARGET)
            conditions.append({"kind": "permission", "permission": permission, "declared": found is not None,
                               "runtime_grant": runtime})
            if found is None:
                status, reason = "unavailable", "permission_not_declared"
        restricted = entry.restricted_from_api if entry is not None else None
        if restricted is not None:
            conditions.append({"kind": "android_version", "max_api": restricted - 1})
            if status == "counted" and (min_sdk or 1) >= restricted:
                status, reason = "unavailable", "restricted_on_every_supported_version"
        withheld: list[str] = []
        if "location_precise" in (row.get("pi_types") or []) and "android.permission.ACCESS_FINE_LOCATION" not in declared \
                and "android.permission.ACCESS_COARSE_LOCATION" in declared:
            # coarse permission only: the platform returns an approximate location, never a precise one
            withheld.append("location_precise")
            row["pi_types"] = [p for p in row["pi_types"] if p != "location_precise"]
        if withheld:
            conditions.append({"kind": "withheld_pi", "pi_types": withheld})
        if row.get("self_check"):
            status, reason = "self_check", "own_package_lookup" if row["self_check"] == "package_name" else "own_process_check"
        elif (row.get("owner") or {}).get("kind") == "library":
            status, reason = "library", "library_code"
        row["capability"] = {"status": status, "reason": reason, "conditions": conditions}
