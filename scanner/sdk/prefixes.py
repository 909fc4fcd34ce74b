"""Fast matchers for dotted package prefixes and host suffixes, on name boundaries.

``com.dv`` matches ``com.dv`` and ``com.dv.Foo`` but never ``com.dvtech.Foo``; ``umeng.com`` matches
``umeng.com`` and ``ulogs.umeng.com`` but never ``notumeng.com``. Both matchers are a dict from the
pattern to its owners, probed once per boundary of the name (a handful of dict look-ups), longest
first, so a lookup costs O(number of dots) whatever the size of the pattern set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


def dotted_ancestors(name: str) -> list[str]:
    """``name`` and every dotted prefix of it, longest first (``a.b.C`` -> ``a.b.C``, ``a.b``, ``a``)."""
    out = [name]
    cut = name.rfind(".")
    while cut > 0:
        name = name[:cut]
        out.append(name)
        cut = name.rfind(".")
    return out


def host_ancestors(host: str) -> list[str]:
    """``host`` and every parent domain of it, longest first (``a.b.com`` -> ``a.b.com``, ``b.com``, ``com``)."""
    out = [host]
    cut = host.find(".")
    while cut >= 0:
        host = host[cut + 1 :]
        if not host:
            break
        out.append(host)
        cut = host.find(".")
    return out


def normalise_host(host: str) -> str:
    """Lower case, no trailing dot, no port, no brackets."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host.strip("[]")
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host


class PrefixMatcher(Generic[T]):
    """Map dotted prefixes (package or class names) to owners; match on ``.`` boundaries."""

    def __init__(self, pairs: Iterable[tuple[str, T]]) -> None:
        table: dict[str, list[T]] = {}
        for prefix, owner in pairs:
            prefix = prefix.strip().rstrip(".")
            if not prefix:
                continue
            owners = table.setdefault(prefix, [])
            if owner not in owners:
                owners.append(owner)
        self._table: dict[str, tuple[T, ...]] = {k: tuple(v) for k, v in table.items()}

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, prefix: object) -> bool:
        return prefix in self._table

    def longest(self, dotted: str) -> tuple[str, tuple[T, ...]] | None:
        """The longest pattern that ``dotted`` equals or lies under, with its owners; else ``None``."""
        table = self._table
        for cand in dotted_ancestors(dotted):
            owners = table.get(cand)
            if owners is not None:
                return cand, owners
        return None

    def all_matches(self, dotted: str) -> list[tuple[str, tuple[T, ...]]]:
        """Every pattern ``dotted`` equals or lies under, longest first."""
        table = self._table
        return [(cand, table[cand]) for cand in dotted_ancestors(dotted) if cand in table]


class HostMatcher(Generic[T]):
    """Map domain suffixes to owners; match whole labels (``umeng.com`` never matches ``xumeng.com``)."""

    def __init__(self, pairs: Iterable[tuple[str, T]]) -> None:
        table: dict[str, list[T]] = {}
        for suffix, owner in pairs:
            suffix = normalise_host(suffix).lstrip(".")
            if not suffix:
                continue
            owners = table.setdefault(suffix, [])
            if owner not in owners:
                owners.append(owner)
        self._table: dict[str, tuple[T, ...]] = {k: tuple(v) for k, v in table.items()}

    def __len__(self) -> int:
        return len(self._table)

    def longest(self, host: str) -> tuple[str, tuple[T, ...]] | None:
        """The most specific suffix ``host`` equals or lies under, with its owners; else ``None``."""
        table = self._table
        for cand in host_ancestors(normalise_host(host)):
            owners = table.get(cand)
            if owners is not None:
                return cand, owners
        return None


def under_any(dotted: str, prefixes: Iterable[str]) -> bool:
    """True when ``dotted`` equals or lies under one of ``prefixes`` (on a ``.`` boundary)."""
    for prefix in prefixes:
        if dotted == prefix or dotted.startswith(prefix + "."):
            return True
    return False
