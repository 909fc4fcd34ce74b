"""Report labels in zh-CN and en (``reports/labels.yaml``) and picking one language of a text.

Rule texts travel inside the result as ``{"zh-CN": …, "en": …}`` (findings) or ``{"zh": …,
"en": …}`` (SDK names, categories); :func:`pick` reads either shape. Labels are data, loaded with
``yaml.safe_load`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..datapack import DataError, DataFile, DataKind, load
from ..errors import UsageError
from ..resources import templates_dir

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


def build_labels(source: DataFile) -> Labels:
    """The label table of a checked labels file plus the vocabularies' labels (rules/model.yaml)."""
    from ..model.terms import terms

    table = {str(key): {lang: texts[lang] for lang in LANGS} for key, texts in source.data["labels"].items()}
    for key, texts in terms().label_rows().items():
        if key in table:
            raise DataError(["labels", key], "defined in rules/model.yaml; remove it here")
        table[key] = texts
    return Labels(version=source.version, table=table)


LABELS_KIND: DataKind[Labels] = DataKind(
    name="labels", title="report label table", schema="labels.schema.json", build=build_labels, keys=frozenset({"labels"}),
)


@cache
def labels() -> Labels:
    """The shipped label table (loaded once)."""
    return load(LABELS_KIND, templates_dir() / "labels.yaml")


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
