"""Turn JS and WXML scan results into ``facts.miniprogram`` rows, attributing each to its owner.

Owner of a file: ``base_library`` for the WeChat base library's files, ``sdk`` for a recognised
mini-program SDK (``sdk_id`` from rules/wechat-privacy-apis.yaml), a plugin
(``__plugin__/<appid>/`` -> ``plugin:<appid>``) or an npm package built into
``miniprogram_npm/<name>/`` (``npm:<name>``), otherwise ``first_party``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .jsapi import JsScan
from .privacy_apis import PrivacyTable
from .wxml import WxmlElement

_NPM = re.compile(r"(?:^|/)(?:miniprogram_npm|node_modules)/((?:@[^/]+/)?[^/]+)/")
_PLUGIN = re.compile(r"(?:^|/)__plugin__/([^/]+)/")


@dataclass(frozen=True)
class Owner:
    """Whose code a file is: the app, the base library or an SDK."""

    kind: str
    sdk_id: str | None

    def to_json(self) -> dict[str, str | None]:
        """Plain dict in the documented key order."""
        return {"kind": self.kind, "sdk_id": self.sdk_id}


class Attributor:
    """Decides (and caches) the owner of a reported file inside a container file."""

    def __init__(self, table: PrivacyTable) -> None:
        self.table = table
        self._cache: dict[tuple[str, str], Owner] = {}
        self.sdk_files: dict[str, set[str]] = {}

    def owner(self, file: str, container: str) -> Owner:
        """Owner of ``file`` (a module name or path) found in ``container`` (the real file)."""
        key = (file, container)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self.table.is_base_library(container) or self.table.is_base_library(file):
            result = Owner("base_library", None)
        else:
            plugin = _PLUGIN.search(file) or _PLUGIN.search(container)
            sdk = self.table.sdk_for_path(file) or self.table.sdk_for_path(container)
            npm = _NPM.search(file)
            if plugin is not None:
                result = Owner("sdk", f"plugin:{plugin.group(1)}")
            elif sdk is not None:
                result = Owner("sdk", sdk.id)
                self.sdk_files.setdefault(sdk.id, set()).add(file)
            elif npm is not None:
                result = Owner("sdk", f"npm:{npm.group(1)}")
            else:
                result = Owner("first_party", None)
        self._cache[key] = result
        return result


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["file"], row["line"] if row["line"] is not None else -1, row["id"])


class CodeFacts:
    """Accumulates api_uses, buttons, privacy_handling and request_domains over many files."""

    def __init__(self, table: PrivacyTable) -> None:
        self.table = table
        self.attributor = Attributor(table)
        self.api_names = frozenset(table.apis) | table.handling_apis
        self.methods = frozenset(table.methods)
        self._api_uses: list[dict[str, Any]] = []
        self._handling: dict[str, dict[str, Any]] = {}
        self._buttons: dict[str, dict[str, Any]] = {}
        self._domains: dict[str, dict[str, Any]] = {}
        self._host_files: dict[str, set[str]] = {}

    def add_js(self, scan: JsScan) -> None:
        """Record the interface uses and URL hosts of one scanned JS file."""
        table = self.table
        for use in scan.api_uses:
            where = use.where
            owner = self.attributor.owner(where.file, where.container).to_json()
            if use.api in table.handling_apis:
                row_id = f"mpprivacy:{where.file}:{where.line}:{where.column}:{use.api}"
                self._handling[row_id] = {
                    "id": row_id, "api": use.api, "file": where.file, "line": where.line, "owner": owner,
                }
                continue
            api_name = use.api
            if use.api == "authorize":
                pi_types = sorted(table.scopes.get(use.scope or "", ()))
            elif use.api in table.apis:
                pi_types = sorted(table.apis[use.api].pi_types)
            elif use.api in table.methods:
                api_name = table.methods[use.api].name
                pi_types = sorted(table.methods[use.api].pi_types)
            else:
                continue
            self._api_uses.append({
                "id": f"mpapi:{where.file}:{where.line}:{where.column}:{api_name}",
                "api": api_name,
                "scope": use.scope,
                "pi_types": pi_types,
                "file": where.file,
                "line": where.line,
                "function": where.function,
                "owner": owner,
                "framework": use.framework,
            })
        for url in scan.urls:
            where = url.where
            self._host_files.setdefault(url.host, set()).add(where.file)
            row_id = f"mpdomain:{url.host}:{where.file}:{where.line}"
            if row_id not in self._domains:
                self._domains[row_id] = {
                    "id": row_id, "host": url.host, "file": where.file, "line": where.line,
                    "owner": self.attributor.owner(where.file, where.container).to_json(),
                }

    def add_elements(self, elements: list[WxmlElement]) -> None:
        """Record the PI-collecting WXML elements (and agreePrivacyAuthorization buttons)."""
        for element in elements:
            if element.open_types or element.tag == "button":  # a button, or a custom component passing it on
                values = [("open_type", v) for v in element.open_types]
            elif element.tag == "input":
                values = [("input_type", element.input_type or "")]
            else:
                values = [("element", element.tag)]
            where = element.line if element.line is not None else f"@{element.container}:{element.container_line}"
            for kind, value in values:
                rule = self.table.components.get((kind, value))
                if rule is None:
                    continue
                row_id = f"mpbutton:{element.file}:{where}:{element.tag}:{value}"
                self._buttons[row_id] = {
                    "id": row_id,
                    "tag": element.tag,
                    "open_type": value if kind in {"open_type", "input_type"} else None,
                    "pi_types": sorted(rule.pi_types),
                    "file": element.file,
                    "line": element.line,
                    "bound_from": element.bound_from,
                }
                if kind == "open_type" and value in self.table.handling_open_types:
                    handling_id = f"mpprivacy:{element.file}:{where}:open-type={value}"
                    self._handling[handling_id] = {
                        "id": handling_id, "api": f"open-type={value}", "file": element.file, "line": element.line,
                        "owner": self.attributor.owner(element.file, element.container).to_json(),
                    }

    def rows(self) -> dict[str, Any]:
        """The api_uses, buttons, privacy_handling and request_domains keys, sorted."""
        return {
            "api_uses": sorted(self._api_uses, key=lambda r: (r["api"], *_sort_key(r))),
            "buttons": sorted(self._buttons.values(), key=lambda r: (r["open_type"] or r["tag"], *_sort_key(r))),
            "privacy_handling": {"apis": sorted(self._handling.values(), key=lambda r: (r["api"], *_sort_key(r)))},
            "request_domains": sorted(self._domains.values(), key=lambda r: (r["host"], *_sort_key(r))),
        }

    def sdk_rows(self) -> list[dict[str, Any]]:
        """``facts.sdks`` rows for the recognised mini-program SDKs (by file and/or host)."""
        rows = []
        for sdk in self.table.sdks:
            files = sorted(self.attributor.sdk_files.get(sdk.id, ()))
            hosts = sorted(h for h in self._host_files if sdk.matches_host(h))
            if not files and not hosts:
                continue
            signals = [{"kind": "code_prefix", "value": f, "detail": "SDK file"} for f in files]
            signals += [
                {"kind": "host", "value": h, "detail": "URL literal in " + ", ".join(sorted(self._host_files[h])[:3])}
                for h in hosts
            ]
            rows.append({
                "id": f"sdk:{sdk.id}",
                "sdk_id": sdk.id,
                "name": {"zh": sdk.name.get("zh"), "en": sdk.name.get("en")},
                "vendor": {"zh": sdk.vendor.get("zh"), "en": sdk.vendor.get("en")} if sdk.vendor else None,
                "category": sdk.category,
                "confidence": "high" if files and hosts else "medium" if files else "low",
                "signals": signals,
                "class_count": len(files),
                "pi_types": sorted(sdk.pi_types),
                "privacy_policy_url": sdk.privacy_policy_url,
                "seen_in_traffic": False,
            })
        return sorted(rows, key=lambda r: r["sdk_id"])
