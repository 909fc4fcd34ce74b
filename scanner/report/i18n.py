"""Report labels in zh-CN and en (``reports/labels.yaml``) and picking one language of a text.

Rule texts travel inside the result as ``{"zh-CN": …, "en": …}`` (findings) or ``{"zh": …,
"en": …}`` (SDK names, categories); :func:`pick` reads either shape. Labels are data, loaded with
``yaml.safe_load`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from ..errors import UsageError
from ..resources import templates_dir
from ..safeyaml import safe_load

LANGS: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported report language, else raise ``UsageError``."""
    if lang not in LANGS:
        raise UsageError(f"unknown report language {lang!r}; valid: {', '.join(LANGS)}")
    return lang


@dataclass(frozen=True)
class Labels:
    """The label table: key -> {lang: text}."""

    version: str
    table: dict[str, dict[str, str]]

    def get(self, key: str, lang: str) -> str:
        """The label ``key`` in ``lang``; ``KeyError`` naming the key when it is missing."""
        try:
            return self.table[key][lang]
        except KeyError:
            raise KeyError(f"report label {key!r} missing for language {lang!r}") from None

    def has(self, key: str) -> bool:
        """Whether ``key`` is a known label."""
        return key in self.table


def parse_labels(text: str, source: str = "labels.yaml") -> Labels:
    """Parse a labels file; ``UsageError`` naming the file and the bad key when malformed."""
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"not valid YAML: {exc}", source) from None
    if not isinstance(data, dict) or not isinstance(data.get("labels"), dict):
        raise UsageError("expected a mapping with a 'labels' mapping", source)
    table: dict[str, dict[str, str]] = {}
    for key, texts in data["labels"].items():
        if not isinstance(texts, dict) or any(not isinstance(texts.get(lang), str) or not texts[lang] for lang in LANGS):
            raise UsageError(f"label {key!r} needs non-empty text for each of {', '.join(LANGS)}", source)
        table[str(key)] = {lang: texts[lang] for lang in LANGS}
    return Labels(version=str(data.get("version", "")), table=table)


@cache
def labels() -> Labels:
    """The shipped label table (loaded once)."""
    path = templates_dir() / "labels.yaml"
    return parse_labels(path.read_text(encoding="utf-8"), str(path))


def pick(text: Any, lang: str) -> str:
    """One language of a bilingual text (``zh-CN``/``zh``/``en`` keys); plain strings pass through.

    Falls back to the other language, then to ``""``, so a result missing one translation still
    renders the text it has.
    """
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if isinstance(text, dict):
        order = ("zh-CN", "zh", "en") if lang == "zh-CN" else ("en", "zh-CN", "zh")
        for key in order:
            value = text.get(key)
            if isinstance(value, str) and value:
                return value
        return ""
    return str(text)
