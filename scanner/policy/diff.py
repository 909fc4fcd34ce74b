"""What changed between two versions of a policy document (``piscan policy diff OLD NEW``).

Compares the extractions, not the words: declared PI types, declared SDKs (by their match in
the SDK pack, else by name) and the PI each declares, declared permissions and whether they
state a purpose, rights and mechanisms present, title and dates. Output is sorted, so the same
two documents always give the same diff.
"""

from __future__ import annotations

from typing import Any

from .sdklist import norm_name


def _sdk_key(row: dict[str, Any]) -> str:
    match = row.get("match")
    return match["sdk_id"] if match else "name:" + norm_name(row.get("name") or row.get("operator") or "")


def _sdks(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in doc.get("sdks") or []:
        key = _sdk_key(row)
        entry = out.setdefault(key, {"name": row.get("name"), "operator": row.get("operator"), "pi_types": set()})
        entry["pi_types"].update(row.get("pi_types") or [])
    return out


def _permissions(doc: dict[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    for entry in doc.get("permissions") or []:
        for name in entry["permissions"]:
            out[name] = out.get(name, False) or bool(entry.get("purpose"))
    return out


def _added_removed(old: set[str], new: set[str]) -> dict[str, list[str]]:
    return {"added": sorted(new - old), "removed": sorted(old - new)}


def policy_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The differences between two document extractions, as a JSON-ready dict."""
    old_pi = {e["pi_type"] for e in old.get("pi_types") or [] if e["declared"]}
    new_pi = {e["pi_type"] for e in new.get("pi_types") or [] if e["declared"]}
    old_sdks, new_sdks = _sdks(old), _sdks(new)
    changed_sdks = []
    for key in sorted(set(old_sdks) & set(new_sdks)):
        a, b = old_sdks[key]["pi_types"], new_sdks[key]["pi_types"]
        if a != b:
            changed_sdks.append({"sdk": key, "name": new_sdks[key]["name"], "pi_added": sorted(b - a), "pi_removed": sorted(a - b)})
    old_perm, new_perm = _permissions(old), _permissions(new)
    purpose_changed = sorted(p for p in set(old_perm) & set(new_perm) if old_perm[p] != new_perm[p])
    old_rights = {r["kind"] for r in old.get("rights") or [] if r["present"]}
    new_rights = {r["kind"] for r in new.get("rights") or [] if r["present"]}
    old_days = {r["kind"]: r["response_days"] for r in old.get("rights") or []}
    days_changed = [{"kind": r["kind"], "old": old_days.get(r["kind"]), "new": r["response_days"]}
                    for r in new.get("rights") or [] if r["kind"] in old_days and old_days[r["kind"]] != r["response_days"]]
    identity = {}
    for key in ("title", "role"):
        if old.get(key) != new.get(key):
            identity[key] = {"old": old.get(key), "new": new.get(key)}
    for key in ("effective", "updated"):
        a, b = (old.get("dates") or {}).get(key), (new.get("dates") or {}).get(key)
        if a != b:
            identity[key] = {"old": a, "new": b}
    return {
        "old": {"id": old["id"], "name": old["source"]["name"], "sha256": old["sha256"]},
        "new": {"id": new["id"], "name": new["source"]["name"], "sha256": new["sha256"]},
        "identity": identity,
        "pi_types": _added_removed(old_pi, new_pi),
        "sdks": {**_added_removed(set(old_sdks), set(new_sdks)), "changed": changed_sdks,
                 "names": {k: (new_sdks.get(k) or old_sdks[k])["name"] for k in sorted(set(old_sdks) ^ set(new_sdks))}},
        "permissions": {**_added_removed(set(old_perm), set(new_perm)), "purpose_changed": purpose_changed},
        "rights": {**_added_removed(old_rights, new_rights), "response_days_changed": days_changed},
    }


def is_empty(diff: dict[str, Any]) -> bool:
    """True when the two versions declare the same things (identity may still differ)."""
    return not any([
        diff["pi_types"]["added"], diff["pi_types"]["removed"], diff["sdks"]["added"], diff["sdks"]["removed"],
        diff["sdks"]["changed"], diff["permissions"]["added"], diff["permissions"]["removed"],
        diff["permissions"]["purpose_changed"], diff["rights"]["added"], diff["rights"]["removed"],
        diff["rights"]["response_days_changed"],
    ])
