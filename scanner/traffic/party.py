"""Who receives a request: first party (the app's own domains), a known SDK, or a third party.

Attribution itself lives in ``scanner.sdk.attribution`` (host -> SDK and vendor from the SDK
pack); this module adds the app's first-party domains derived from its package name and caches
the answer per host, since a session talks to few hosts many times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .observation import Party


def package_domains(package: str | None) -> list[str]:
    """Domains an app's own back end plausibly uses, from its reverse-domain package name.

    ``com.example.shop`` -> ``["example.com"]``; deliberately simple (first two labels reversed).
    """
    if not package or "." not in package:
        return []
    labels = package.split(".")
    return [f"{labels[1]}.{labels[0]}"]


class PartyResolver:
    """Host -> :class:`Party`, using the SDK pack's attribution; one answer cached per host."""

    def __init__(self, package: str | None = None, attributor: Any | None = None,
                 first_party_prefixes: Sequence[str] = (), first_party_domains: Sequence[str] = ()) -> None:
        self.package = package
        prefixes = sorted({*first_party_prefixes, *([package] if package else [])})
        self.domains = sorted({*(d for prefix in prefixes for d in package_domains(prefix)),
                               *(d.lower() for d in first_party_domains)})
        if attributor is None:
            from ..sdk.attribution import Attributor
            from ..sdk.pack import load_sdk_pack

            attributor = Attributor(load_sdk_pack(), [], prefixes)
        self._attributor = attributor
        self._cache: dict[str, Party] = {}

    def party_of(self, host: str) -> Party:
        """The party behind a host name."""
        host = host.lower().rstrip(".")
        party = self._cache.get(host)
        if party is None:
            row = self._attributor.party_of_host(host, self.domains)
            party = Party(row["kind"], row.get("sdk_id"), row.get("sdk_name"), row.get("vendor"))
            self._cache[host] = party
        return party
