"""Legal citations in their legal form: 《中华人民共和国个人信息保护法》第十三条, not "PIPL 13".

How a document's items are cited comes from ``rules/model.yaml`` (``cite``: ``article`` for laws
and regulations, ``part_item`` for the 2019 Identification Method, ``item`` for MIIT notices,
``clause`` for standards). Items that are not numbers (a section title, an annex) are printed as
they are. Recommended standards and practice guides are marked as such, since they bind only
through a law or a contract; items whose text was not verified against the source are flagged
for a note, never in the finding itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..model.terms import LegalDocument, terms
from .i18n import pick

_DIGITS = "零一二三四五六七八九"
_NUMBER = re.compile(r"^[0-9]+$")
_PART_ITEM = re.compile(r"^([0-9]+)\.([0-9]+)$")
_CLAUSE = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def chinese_number(value: int) -> str:
    """1 -> 一, 10 -> 十, 13 -> 十三, 21 -> 二十一, 105 -> 一百零五 (article numbers, up to 999)."""
    if value < 0 or value > 999:
        return str(value)
    if value < 10:
        return _DIGITS[value]
    hundreds, rest = divmod(value, 100)
    tens, ones = divmod(rest, 10)
    out = f"{_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else _DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    if ones:
        out += _DIGITS[ones]
    return out


def cite_item(style: str, item: str, lang: str) -> str:
    """One item of a document in its citation form, in ``lang``."""
    item = item.strip()
    zh = lang == "zh-CN"
    if style == "article" and _NUMBER.match(item):
        return f"第{chinese_number(int(item))}条" if zh else f"Art. {item}"
    if style == "part_item" and _PART_ITEM.match(item):
        part, number = _PART_ITEM.match(item).groups()  # type: ignore[union-attr]
        return f"第{chinese_number(int(part))}部分第{number}项" if zh else f"part {part}, item {number}"
    if style == "item" and _NUMBER.match(item):
        return f"第{item}项" if zh else f"item {item}"
    if style == "clause" and _CLAUSE.match(item):
        return f"第{item}条" if zh else f"clause {item}"
    return item


@dataclass(frozen=True)
class Citation:
    """One legal reference as the report prints it."""

    doc: str
    document: str  #: the document's full name (《…》 in Chinese)
    item: str  #: the item in citation form
    quote: str  #: the item's text as the rule pack quotes it ("" when none)
    recommended: bool  #: a recommended standard or a guide: not binding by itself
    unverified: bool  #: the item or its document is not verified against the source text
    effective: str | None  #: when the document took effect, if known

    @property
    def text(self) -> str:
        """Document and item, e.g. ``《中华人民共和国个人信息保护法》第十三条``."""
        joined = self.document.endswith(("》", "）")) and not self.item[:1].isascii()
        return f"{self.document}{self.item}" if joined or not self.item else f"{self.document} {self.item}"


def citation(ref: dict[str, Any], lang: str, document_label: str, rule_verification: str | None = None) -> Citation:
    """A rule's ``legal_refs[]`` row as a :class:`Citation`; ``document_label`` is the document's
    name in ``lang`` (from the report labels)."""
    doc_id = str(ref.get("doc", ""))
    doc: LegalDocument | None = terms().document(doc_id)
    style = doc.cite if doc is not None else "as_is"
    unverified = (doc is None or doc.verification != "V") or (rule_verification not in (None, "V"))
    return Citation(
        doc=doc_id,
        document=document_label,
        item=cite_item(style, str(ref.get("item", "")), lang),
        quote=pick(ref.get("text"), lang),
        recommended=bool(doc and doc.recommended),
        unverified=unverified,
        effective=doc.effective if doc is not None else None,
    )
