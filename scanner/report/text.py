"""Plain-text helpers of the report views: labels in one language, sort keys, safe CSS strings.

Everything here returns text for Jinja's autoescape (or, for :func:`css_string`, text made safe
for a ``<style>`` element); nothing produces markup.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..model.terms import terms
from ..pi import vocabulary
from .i18n import Labels, labels, pick


class Translator:
    """Label lookup bound to one language."""

    def __init__(self, table: Labels, lang: str) -> None:
        self.table = table
        self.lang = lang

    def __call__(self, key: str) -> str:
        return self.table.get(key, self.lang)

    def opt(self, key: str, fallback: str) -> str:
        """The label if it exists, else ``fallback`` (for open value sets such as limitation kinds)."""
        return self.table.get(key, self.lang) if self.table.has(key) else fallback


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders ``3.2`` before ``3.10`` and ``9`` before ``13``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def doc_rank(doc: str) -> tuple[int, str]:
    """Sort key of a legal-document id: the order of rules/model.yaml first, others alphabetically."""
    return terms().doc_rank(doc)


def css_string(text: str) -> str:
    """A CSS string literal whose content is ``text``, safe inside a ``<style>`` element.

    Every character other than ASCII letters, digits and space becomes a 6-digit CSS escape, so
    no quote, backslash, ``<`` or newline can end the string or the style element.
    """
    out = [ch if (ch.isascii() and (ch.isalnum() or ch == " ")) else f"\\{ord(ch):06x}" for ch in text]
    return '"' + "".join(out) + '"'


def pi_label(pi_id: str, lang: str) -> str:
    """Name of a PI type in ``lang`` (the id itself when the vocabulary does not know it)."""
    vocab = vocabulary()
    if pi_id in vocab:
        pi = vocab.get(pi_id)
        return pi.zh if lang == "zh-CN" else pi.en
    return pi_id


def method_signature(caller: dict[str, Any]) -> str:
    """``com.x.App.onCreate()V`` from an ``api_calls[].caller`` object."""
    return f"{caller.get('class', '')}.{caller.get('method', '')}{caller.get('descriptor') or ''}"


class Words:
    """The words a report uses for values in one language: yes/no, PI types, parties, phases, documents."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.t = Translator(labels(), lang)
        self.sep = "、" if lang == "zh-CN" else ", "

    def yes_no(self, value: Any) -> str:
        """是/否 (yes/no), or "unknown" for ``None``."""
        if value is None:
            return self.t("text.unknown")
        return self.t("text.yes") if value else self.t("text.no")

    def pis(self, ids: list[str] | None) -> list[str]:
        """PI-type names in this language."""
        return [pi_label(str(i), self.lang) for i in ids or []]

    def party_text(self, owner: dict[str, Any] | None) -> str:
        """Who a party is: its kind, and the SDK and vendor when known."""
        owner = owner or {}
        kind = str(owner.get("kind") or "unknown")
        label = self.t.opt(f"party.{kind}", kind)
        name = pick(owner.get("sdk_name"), self.lang) or owner.get("sdk_id") or ""
        vendor = pick(owner.get("vendor"), self.lang)
        if name and vendor:
            return f"{label}: {name} ({vendor})" if self.lang == "en" else f"{label}：{name}（{vendor}）"
        if name:
            return f"{label}: {name}" if self.lang == "en" else f"{label}：{name}"
        return label

    def phase_text(self, phase: str | None) -> str:
        """A consent phase's label ("not applicable" for static evidence)."""
        return self.t("phase.none") if phase is None else self.t.opt(f"phase.{phase}", phase)

    def doc_label(self, doc: str) -> str:
        """A legal document's full name (its id when unknown)."""
        return self.t.opt(f"doc.{doc}", doc)


def is_scalar(value: Any) -> bool:
    """Whether a fact field is shown as one table cell."""
    return value is None or isinstance(value, (str, int, float, bool))


def scalar_text(value: Any) -> str:
    """A scalar as text (``None`` as an empty string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def url_segments(url: str, masked_query: dict[str, str]) -> list[dict[str, Any]]:
    """Split a URL into text segments; query parameters that carry PI are highlighted.

    The value of a highlighted parameter is replaced by ``masked_query[name]`` (the masked or, with
    --unmask, raw value), so a raw identifier in a query string never reaches the report masked-off.
    """
    if not masked_query:
        return [{"text": url, "pi": False}]
    parts = urlsplit(url)
    head = url.split("?", 1)[0]
    segments: list[dict[str, Any]] = [{"text": head + "?", "pi": False}]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for i, (name, value) in enumerate(pairs):
        sep = "&" if i else ""
        if name in masked_query:
            segments.append({"text": f"{sep}{name}=", "pi": False})
            segments.append({"text": masked_query[name], "pi": True})
        else:
            segments.append({"text": f"{sep}{name}={value}", "pi": False})
    if parts.fragment:
        segments.append({"text": "#" + parts.fragment, "pi": False})
    return segments
