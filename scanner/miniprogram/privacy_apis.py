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

from ..datapack import DataError, DataFile, DataKind, load, unique
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


def _api(row: dict[str, Any]) -> PrivacyApi:
    return PrivacyApi(
        name=row["name"],
        pi_types=tuple(row["pi_types"]),
        guide=row.get("guide"),
        required_private_info=bool(row["required_private_info"]),
        scope=row.get("scope"),
        recalled=bool(row.get("recalled", False)),
    )


def _paths(row: dict[str, Any], where: list[str | int]) -> tuple[re.Pattern[str], ...]:
    out = []
    for j, pattern in enumerate(row["paths"]):
        try:
            out.append(re.compile(pattern))
        except re.error as exc:
            raise DataError([*where, "paths", j], f"bad regular expression {pattern!r}: {exc}") from None
    return tuple(out)


def build_privacy_table(source: DataFile) -> PrivacyTable:
    """Build the table from checked ``wechat-privacy-apis.yaml`` data (PI types checked by the schema)."""
    data = source.data
    for section, key in (("apis", "name"), ("methods", "method"), ("scopes", "scope"), ("sdks", "id")):
        unique(data.get(section) or [], key, section)
    components = {
        (row["kind"], row["value"]): ComponentRule(kind=row["kind"], value=row["value"], pi_types=tuple(row["pi_types"]),
                                                   guide=row.get("guide"))
        for row in data["components"]
    }
    sdks = tuple(
        MiniSdk(
            id=row["id"], name=dict(row["name"]), vendor=dict(row["vendor"]) if row.get("vendor") else None,
            category=row["category"], privacy_policy_url=row.get("privacy_policy_url"),
            paths=_paths(row, ["sdks", i]), hosts=tuple(row.get("hosts") or ()), pi_types=tuple(row.get("pi_types") or ()),
        )
        for i, row in enumerate(data["sdks"])
    )
    return PrivacyTable(
        version=source.version,
        sha256=source.sha256,
        apis={row["name"]: _api(row) for row in data["apis"]},
        methods={row["method"]: _api(row) for row in data.get("methods") or ()},
        scopes={row["scope"]: tuple(row["pi_types"]) for row in data["scopes"]},
        components=components,
        handling_apis=frozenset(data["privacy_handling"]["apis"]),
        handling_open_types=frozenset(data["privacy_handling"]["open_types"]),
        base_library_files=frozenset(data["base_library"]["files"]),
        sdks=sdks,
    )


PRIVACY_APIS_KIND: DataKind[PrivacyTable] = DataKind(
    name="wechat-privacy-apis", title="WeChat privacy-interface table", schema="wechat-privacy-apis.schema.json",
    build=build_privacy_table, keys=frozenset({"apis", "scopes", "components"}),
)


@cache
def privacy_table() -> PrivacyTable:
    """Load (once) the shipped table."""
    return load(PRIVACY_APIS_KIND, rules_dir() / PACK_FILE)
