"""Resolve a ``{{ }}``-bound WXML attribute to the string constants its key is given in JS.

``<button open-type="{{ button.openType }}">`` gets its value from the page's ``data`` or a
component's options; :class:`BindingResolver` looks for string constants assigned to the last
key of the binding (``openType: 'getUserInfo'``, or a component property's ``openType: {type:
String, value: 'getUserInfo'}``) in the WXML file's own ``.js`` first, then in the package's other
JS files, and says where it found them. Only word-like values count (open-type names are).
"""

from __future__ import annotations

import re
from functools import cache

from .jsapi import to_utf8


@cache
def _patterns(key: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    quoted = rf"(?<![\w$])['\"]?{re.escape(key)}['\"]?"
    return (re.compile(quoted + r"\s*:\s*['\"]([A-Za-z][\w|]*)['\"]"),
            re.compile(quoted + r"\s*:\s*\{[^{}]{0,200}?\bvalue\s*:\s*['\"]([A-Za-z][\w|]*)['\"]"))


class BindingResolver:
    """String constants of a key in a package's JavaScript (the files decoded once, on demand)."""

    def __init__(self, js_files: dict[str, bytes]) -> None:
        self._raw = js_files
        self._text: dict[str, str] = {}

    def _source(self, rel: str) -> str:
        if rel not in self._text:
            self._text[rel] = to_utf8(self._raw[rel])[0].decode("utf-8", "replace")
        return self._text[rel]

    def __call__(self, key: str, wxml_path: str) -> tuple[tuple[str, ...], str | None]:
        """(values, ``file:line`` of the first) for ``key``, the WXML file's own JS first."""
        own = wxml_path.rsplit(".", 1)[0] + ".js"
        order = ([own] if own in self._raw else []) + sorted(r for r in self._raw if r != own)
        for rel in order:
            text = self._source(rel)
            values: list[str] = []
            first: int | None = None
            for pattern in _patterns(key):
                for match in pattern.finditer(text):
                    for value in match.group(1).split("|"):
                        if value and value not in values:
                            values.append(value)
                    first = match.start() if first is None else min(first, match.start())
            if values and first is not None:
                return tuple(values), f"{rel}:{text.count(chr(10), 0, first) + 1}"
        return (), None
