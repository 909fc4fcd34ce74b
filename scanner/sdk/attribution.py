"""Attribute code (a class) and traffic (a host) to the first party, an SDK and its vendor, or nobody.

:class:`Attributor` is built once per scan from the pack, the detected SDKs and the app's own
prefixes, then called per API call site (``owner_of_class``) and per traffic flow
(``party_of_host``). Both calls are dictionary walks over the name's boundaries, with a cache.

Precedence for a class: the app's own package and aliases (longest prefix wins against an SDK
prefix, so an SDK that happens to sit under the app's package is still the app's code only when no
longer SDK prefix claims it), then the SDK whose code prefix is the longest match. A class with no
match is ``unknown`` (third-party code the pack does not know). Code of a pack record in the
``library`` category (AndroidX, Glide, OkHttp, LeakCanary, ORMs, ...) is a ``library``: a building
block the app maker compiled in, not a party that collects. Hosts: first-party domains, then the
most specific SDK host suffix (a library's host is an ``sdk`` party: sending data is conduct);
anything else is ``third_party``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .detect import SdkIndex, sdk_index
from .pack import SdkPack
from .prefixes import HostMatcher, PrefixMatcher, normalise_host

_FIRST = "\0first-party"
_CACHE_LIMIT = 200_000


def _owner(kind: str, sdk_id: str | None = None, name: str | None = None, vendor: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "sdk_id": sdk_id, "sdk_name": name, "vendor": vendor}


class Attributor:
    """Answers "whose code is this class?" and "whose server is this host?" for one app."""

    def __init__(self, pack: SdkPack, detected: Sequence[dict[str, Any]], first_party_prefixes: Sequence[str]) -> None:
        """``detected`` are the app's ``facts.sdks`` rows; among SDKs claiming the same prefix or host,
        one that was detected in the app wins; ties go to the lowest sdk_id (stable output)."""
        self._pack = pack
        self._index: SdkIndex = sdk_index(pack)
        self._detected = frozenset(row["sdk_id"] for row in detected)
        own = sorted({p.strip().rstrip(".") for p in first_party_prefixes if p and p.strip()})
        self._first = PrefixMatcher((p, _FIRST) for p in own)
        self._class_cache: dict[str, dict[str, Any]] = {}
        self._host_cache: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        self._sdk_rows: dict[str, dict[str, Any]] = {}

    def _sdk_owner(self, owners: Sequence[str]) -> dict[str, Any]:
        chosen = min(owners, key=lambda sid: (sid not in self._detected, sid))
        row = self._sdk_rows.get(chosen)
        if row is None:
            rec = self._pack.get(chosen)
            assert rec is not None
            vendor = rec.vendor()
            row = _owner("sdk", rec.id, rec.name_zh, vendor["zh"] if vendor else None)
            self._sdk_rows[chosen] = row
        return row

    def _resolve(self, dotted: str) -> dict[str, Any]:
        first = self._first.longest(dotted)
        sdk = self._index.code.longest(dotted)
        if sdk is not None and (first is None or len(sdk[0]) > len(first[0])):
            owner = self._sdk_owner(sdk[1])
            rec = self._pack.get(owner["sdk_id"])
            if rec is not None and rec.category == "library":
                return {**owner, "kind": "library"}
            return owner
        if first is not None:
            return _owner("first_party")
        return _owner("unknown")

    def owner_of_class(self, dotted: str) -> dict[str, Any]:
        """``{"kind": "first_party"|"sdk"|"library"|"unknown", "sdk_id", "sdk_name", "vendor"}`` for a dotted class name."""
        # A class has its package's owner unless its own full name is a pattern, so answers are
        # cached per package: a few thousand entries even for an app of 300k classes.
        if dotted in self._index.code or dotted in self._first:
            key = dotted
        else:
            dot = dotted.rfind(".")
            key = dotted[:dot] if dot > 0 else dotted
        hit = self._class_cache.get(key)
        if hit is None:
            hit = self._resolve(key)
            if len(self._class_cache) < _CACHE_LIMIT:
                self._class_cache[key] = hit
        return dict(hit)

    def party_of_host(self, host: str, first_party_domains: Sequence[str] = ()) -> dict[str, Any]:
        """``{"kind": "first_party"|"sdk"|"third_party", "sdk_id", "sdk_name", "vendor"}`` for a host name."""
        key = (normalise_host(host), tuple(first_party_domains))
        hit = self._host_cache.get(key)
        if hit is not None:
            return dict(hit)
        result: dict[str, Any]
        if first_party_domains and HostMatcher((d, True) for d in first_party_domains).longest(key[0]):
            result = _owner("first_party")
        else:
            match = self._index.hosts.longest(key[0])
            result = self._sdk_owner(match[1]) if match else _owner("third_party")
        if len(self._host_cache) < _CACHE_LIMIT:
            self._host_cache[key] = result
        return dict(result)
