"""Resolve ``@7F0A0001``-style resource references of an APK (labels, strings, XML file paths).

A thin, failure-tolerant layer over androguard's ``ARSCParser``: a reference that cannot be
resolved gives ``None`` (the caller decides whether that is a limitation), never an exception.
The app label is resolved for the default configuration and for the configuration a zh-CN
device picks (``values-zh-rCN`` > ``values-b+zh+Hans`` > ``values-zh``).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from androguard.core.apk import APK

_REF = re.compile(r"^@(?:([\w.]+):)?([0-9A-Fa-f]{8})$")
_HAN = re.compile(r"[\u3400-\u9fff]")
_HANS = b"Hans"


class ResourceTable:
    """Resource lookups for one APK; parses ``resources.arsc`` lazily, at most once.

    ``apk`` may be ``None`` (no resource table): literal values pass through and every
    reference stays unresolved.
    """

    def __init__(self, apk: APK | None, usable: Callable[[str], bool] = lambda _name: True) -> None:
        self._apk = apk
        self._usable = usable  #: whether an entry may be handed to androguard (within the budgets)

    @cached_property
    def arsc(self) -> Any | None:
        """androguard's ``ARSCParser`` for the APK, or ``None`` when it has no readable table."""
        if self._apk is None or not self._usable("resources.arsc"):
            return None
        try:
            return self._apk.get_android_resources()
        except Exception:  # noqa: BLE001 - a damaged resources.arsc: references stay unresolved
            return None

    @staticmethod
    def is_reference(value: str | None) -> bool:
        """Whether an attribute value is an unresolved resource reference such as ``@7F050007``."""
        return bool(value) and _REF.match(value) is not None  # type: ignore[arg-type]

    @cached_property
    def _entries(self) -> dict[int, list[tuple[Any, Any]]] | None:
        """Resource id -> [(config, entry)], read from the chunks androguard already parsed.

        androguard's own lookup first runs ``ARSCParser._analyse``, which decodes every value
        of the table (a third of a second on a large app); this index only records where each
        entry is, with the same walk over the parsed chunks. ``None`` if the layout is not the
        expected one, in which case androguard's lookup is used.
        """
        from androguard.core.axml import RES_TABLE_TYPE_TYPE, ARSCHeader

        arsc = self.arsc
        if arsc is None:
            return None
        index: dict[int, list[tuple[Any, Any]]] = {}
        try:
            for chunks in arsc.packages.values():
                nb = 3
                while nb < len(chunks):
                    header = chunks[nb]
                    if isinstance(header, ARSCHeader) and header.type == RES_TABLE_TYPE_TYPE:
                        config = chunks[nb + 1].config
                        count = 0
                        for entry, _res_id in chunks[nb + 2]:
                            if entry != -1:
                                ate = chunks[nb + 3 + count]
                                index.setdefault(ate.mResId, []).append((config, ate))
                                count += 1
                        nb += 3 + count - 1
                    nb += 1
        except Exception:  # noqa: BLE001 - unexpected chunk layout: fall back to androguard's resolver
            return None
        return index

    def _entry_values(self, rid: int, depth: int = 0) -> list[tuple[Any, Any]]:
        from androguard.core.axml import format_value

        out: list[tuple[Any, Any]] = []
        for config, ate in (self._entries or {}).get(rid, []):
            if ate.is_complex():  # arrays, plurals, styles: never a label or a plain value
                continue
            if ate.is_compact():
                pool = ate.parent.stringpool_main
                out.append((config, format_value(ate.datatype, ate.data, pool.getString)))
            elif ate.key.is_reference():
                target = ate.key.get_data()
                if target and target != rid and depth < 8:
                    out.extend(self._entry_values(target, depth + 1))
            else:
                out.append((config, ate.key.format_value()))
        return out

    def _configs(self, value: str) -> list[tuple[Any, Any]]:
        match = _REF.match(value)
        if match is None or self.arsc is None:
            return []
        package = match.group(1)
        if package == "android":  # framework resources: framework-res.apk is not at hand
            return []
        rid = int(match.group(2), 16)
        try:
            if self._entries is not None:
                return self._entry_values(rid)
            return list(self.arsc.get_resolved_res_configs(rid, None))
        except Exception:  # noqa: BLE001 - unknown id, broken entry
            return []

    def resolve(self, value: str | None) -> str | None:
        """The default-configuration value of ``value`` if it is a reference, else ``value`` itself.

        ``None`` when the reference cannot be resolved.
        """
        if value is None or not self.is_reference(value):
            return value
        configs = [(cfg, val) for cfg, val in self._configs(value) if isinstance(val, str)]
        if not configs:
            return None
        for cfg, val in configs:
            if cfg.get_qualifier() == "":
                return val
        for cfg, val in configs:  # no default entry: the first locale-free one, else the first
            if getattr(cfg, "locale", 0) == 0:
                return val
        return configs[0][1]

    def resolve_zh_cn(self, value: str | None) -> str | None:
        """The value a zh-CN device would show, when the APK has a Chinese-specific one.

        Order: ``zh-rCN``, ``b+zh+Hans`` (any region), plain ``zh``. ``None`` when the app has
        no Chinese resource for it.
        """
        if value is None or not self.is_reference(value):
            return None
        ranked: list[tuple[int, str]] = []
        for cfg, val in self._configs(value):
            if not isinstance(val, str) or getattr(cfg, "locale", 0) == 0:
                continue
            lang_region = cfg.get_language_and_region()
            script = bytes(getattr(cfg, "localeScript", b"") or b"").rstrip(b"\x00")
            if lang_region == "zh-rCN":
                ranked.append((0, val))
            elif lang_region.startswith("zh") and script == _HANS:
                ranked.append((1, val))
            elif lang_region == "zh" and not script:
                ranked.append((2, val))
        return min(ranked)[1] if ranked else None

    def label(self, value: str | None) -> dict[str, str | None]:
        """``{"default", "zh-CN"}`` for a label attribute (literal text or a reference).

        ``zh-CN`` is the Chinese resource when there is one, else the default label when that
        is itself Chinese text (what a zh-CN device shows), else ``None``.
        """
        default = self.resolve(value)
        zh = self.resolve_zh_cn(value)
        if zh is None and default and _HAN.search(default):
            zh = default
        return {"default": default, "zh-CN": zh}

    def strings(self) -> list[str]:
        """Every string of the resource table's global string pool (all values, all configurations)."""
        if self.arsc is None:
            return []
        pool = getattr(self.arsc, "stringpool_main", None)
        if pool is None:
            return []
        out: list[str] = []
        try:
            for text in pool:
                if isinstance(text, str) and text:
                    out.append(text)
        except Exception:  # noqa: BLE001 - a damaged string pool yields what was read so far
            return out
        return out
        return out
