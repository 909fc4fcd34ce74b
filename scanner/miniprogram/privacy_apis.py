"""The WeChat privacy-interface table (``rules/wechat-privacy-apis.yaml``) as typed data.

Maps ``wx.*`` interfaces, ``wx.authorize`` scopes and WXML components to PI types from the one
vocabulary (``rules/pi-types.yaml``), and names the base-library files and bundled SDKs whose
code is not the app's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from ..errors import UsageError
from ..hashing import sha256_bytes
from ..pi import vocabulary
from ..resources import rules_dir

PACK_ID = "wechat-privacy-apis"
PACK_FILE = "wechat-privacy-apis.yaml"


@dataclass(frozen=True)
class PrivacyApi:
    """One ``wx.<name>`` interface that processes PI."""

    name: str
    pi_types: tuple[str, ...]
    guide: str | None
    required_private_info: bool
    scope: str | None
    recalled: bool


@dataclass(frozen=True)
class ComponentRule:
    """A WXML element, ``<button open-type>`` or ``<input type>`` value that collects PI."""

    kind: str  # open_type | input_type | element
    value: str
    pi_types: tuple[str, ...]
    guide: str | None


@dataclass(frozen=True)
class MiniSdk:
    """A third-party mini-program SDK recognised by file path and host."""

    id: str
    name: dict[str, str]
    vendor: dict[str, str] | None
    category: str
    privacy_policy_url: str | None
    paths: tuple[re.Pattern[str], ...]
    hosts: tuple[str, ...]
    pi_types: tuple[str, ...]

    def matches_path(self, path: str) -> bool:
        """True when a package-relative path is one of this SDK's files."""
        return any(p.search(path) for p in self.paths)

    def matches_host(self, host: str) -> bool:
        """True when ``host`` is one of the SDK's hosts or a subdomain of one."""
        return any(host == h or host.endswith("." + h) for h in self.hosts)


@dataclass(frozen=True)
class PrivacyTable:
    """The whole table, plus the pack's version and sha256 for provenance."""

    version: str
    sha256: str
    apis: dict[str, PrivacyApi]
    methods: dict[str, PrivacyApi]
    scopes: dict[str, tuple[str, ...]]
    components: dict[tuple[str, str], ComponentRule]
    handling_apis: frozenset[str]
    handling_open_types: frozenset[str]
    base_library_files: frozenset[str]
    sdks: tuple[MiniSdk, ...]

    def sdk_for_path(self, path: str) -> MiniSdk | None:
        """The SDK whose file this path is, or ``None``."""
        for sdk in self.sdks:
            if sdk.matches_path(path):
                return sdk
        return None

    def is_base_library(self, path: str) -> bool:
        """True for the WeChat base library's own files (matched by file name)."""
        return path.rsplit("/", 1)[-1] in self.base_library_files


def _pi_list(values: Any, where: str) -> tuple[str, ...]:
    vocab = vocabulary()
    out = tuple(values or ())
    for pi in out:
        if pi not in vocab:
            raise UsageError(f"{where}: unknown PI type {pi!r} (not in rules/pi-types.yaml)", PACK_FILE)
    return out


def _api(row: dict[str, Any], section: str) -> PrivacyApi:
    return PrivacyApi(
        name=row["name"],
        pi_types=_pi_list(row["pi_types"], f"{section}.{row['name']}"),
        guide=row.get("guide"),
        required_private_info=bool(row["required_private_info"]),
        scope=row.get("scope"),
        recalled=bool(row.get("recalled", False)),
    )


def parse_privacy_table(text: str) -> PrivacyTable:
    """Build the table from the YAML text; ``UsageError`` naming the entry on bad data."""
    try:
        # The C-accelerated SafeLoader when libyaml is present: same safe subset, faster.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - SafeLoader
        apis = {row["name"]: _api(row, "apis") for row in data["apis"]}
        methods = {row["method"]: _api(row, "methods") for row in data.get("methods") or ()}
        scopes = {row["scope"]: _pi_list(row["pi_types"], f"scopes.{row['scope']}") for row in data["scopes"]}
        components = {
            (row["kind"], row["value"]): ComponentRule(
                kind=row["kind"],
                value=row["value"],
                pi_types=_pi_list(row["pi_types"], f"components.{row['value']}"),
                guide=row.get("guide"),
            )
            for row in data["components"]
        }
        sdks = tuple(
            MiniSdk(
                id=row["id"],
                name=dict(row["name"]),
                vendor=dict(row["vendor"]) if row.get("vendor") else None,
                category=row["category"],
                privacy_policy_url=row.get("privacy_policy_url"),
                paths=tuple(re.compile(p) for p in row["paths"]),
                hosts=tuple(row.get("hosts") or ()),
                pi_types=_pi_list(row.get("pi_types"), f"sdks.{row['id']}"),
            )
            for row in data["sdks"]
        )
        return PrivacyTable(
            version=str(data["version"]),
            sha256=sha256_bytes(text.encode("utf-8")),
            apis=apis,
            methods=methods,
            scopes=scopes,
            components=components,
            handling_apis=frozenset(data["privacy_handling"]["apis"]),
            handling_open_types=frozenset(data["privacy_handling"]["open_types"]),
            base_library_files=frozenset(data["base_library"]["files"]),
            sdks=sdks,
        )
    except (yaml.YAMLError, KeyError, TypeError, re.error) as exc:
        raise UsageError(f"malformed privacy-API table: {type(exc).__name__}: {exc}", PACK_FILE) from None


@cache
def privacy_table() -> PrivacyTable:
    """Load (once) the shipped table."""
    return parse_privacy_table((rules_dir() / PACK_FILE).read_text(encoding="utf-8"))
