"""Declared third-party SDKs: records found in lists and tables, and their match in the SDK pack.

Three shapes occur in real 双清单 documents, and all three give the same record:
- a heading or title line followed by ``key：value`` lines or list items (``第三方名称：…``,
  ``收集个人信息类型：`` with nested items), as in UCloud's and QQ's lists;
- a table whose header names the fields (``SDK名称 | 第三方名称 | 使用目的 | 收集个人信息``);
- ``key：value`` lines whose first key is the SDK name.

Keys are read through the lexicon (``sdk_fields``). A record is kept only when it names an
operator or an SDK name and says at least one of purpose, PI or link, so a stray "名称：" line
makes no SDK. Matching to the pack (``rules/sdks``) tries the name and its bracketed parts
against every SDK's names and aliases, then the operator's legal name against the vendors'
legal names (``_pack.yaml``), narrowed by the name or by the category the purpose implies.
Unmatched records stay as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..sdk.pack import SdkPack, SdkRecord
from .lexicon import Lexicon
from .structure import Layout

_KV = re.compile(r"^\s*(?:[•·\-*]\s*)?([^：:\n]{1,24}?)\s*[：:]\s*(.*)$")
_URL = re.compile(r"https?://[^\s)）\]】<>\"'，。；]+")
_BRACKETS = re.compile(r"[（(]([^（）()]{2,40})[)）]")
#: words of an SDK name or purpose -> the pack category they imply
_CATEGORY_HINTS = (
    ("推送", "push"), ("push", "push"), ("支付", "payment"), ("钱包", "payment"), ("pay", "payment"),
    ("分享", "login_share"), ("登录", "login_share"), ("统计", "analytics"), ("分析", "analytics"),
    ("广告", "advertising"), ("地图", "maps_location"), ("定位", "maps_location"), ("人脸", "identity_ocr_face"),
    ("活体", "identity_ocr_face"), ("一键登录", "identity_ocr_face"), ("验证码", "risk_control"), ("行为验证", "risk_control"),
    ("风控", "risk_control"), ("崩溃", "crash_reporting"), ("即时通", "social"), ("聊天", "social"),
    ("客服", "customer_service"), ("热修复", "hotfix"), ("直播", "media"), ("播放", "media"),
)
_SUFFIXES = re.compile(r"(及其关联(公司|方)|及关联(公司|方)|等关联公司|和/或其关联公司)$")


@dataclass
class SdkDraft:
    """One declared SDK while it is being read."""

    first: int  # index of its first paragraph in layout.paragraphs
    title: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)
    paragraphs: list[int] = field(default_factory=list)
    pi_paragraphs: list[int] = field(default_factory=list)

    def value(self, name: str) -> str | None:
        """The joined value of one field, or ``None``."""
        vals = [v for v in self.fields.get(name, []) if v]
        return "；".join(vals) if vals else None

    def valid(self) -> bool:
        """Names an operator or an SDK, and says what it is for, what it takes, or where its policy is."""
        named = bool(self.value("operator") or self.value("name") or self.title)
        said = bool(self.fields.get("pi") or self.value("purpose") or self.value("link") or self.links)
        return named and said and bool(self.value("operator") or self.value("name"))


def _clean_title(text: str) -> str:
    text = re.sub(r"^[#*\s]*(\d{1,3}[.、)）]\s*)?", "", text)
    return text.strip(" ：:")


def find_records(lay: Layout, lex: Lexicon) -> list[SdkDraft]:
    """Every SDK record in the document, in order."""
    records: list[SdkDraft] = []
    cur: SdkDraft | None = None
    nest_field: str | None = None
    nest_level = 0
    title: str | None = None
    title_age = 99
    paragraphs = lay.paragraphs
    # heading texts preceding each paragraph since the previous paragraph
    last_heading: dict[int, str] = {}
    seen_para = -1
    for b in lay.blocks:
        if b.kind == "heading":
            last_heading[seen_para + 1] = b.text
        else:
            seen_para += 1
    # tables first: rows under a header that names SDK fields
    table_rows: set[int] = set()
    for pi, para in enumerate(paragraphs):
        b = para.block
        if b.kind != "row" or not b.header:
            continue
        cols = [lex.field_of(h) for h in b.header]
        if not (("name" in cols or "operator" in cols) and ({"pi", "purpose", "link"} & set(cols))):
            continue
        if "permission" in cols and "name" not in cols and "operator" not in cols:
            continue
        rec = SdkDraft(first=pi, paragraphs=[pi])
        for col, cell in zip(cols, b.cells):
            if col:
                rec.fields.setdefault(col, []).append(cell)
                if col == "pi":
                    rec.pi_paragraphs.append(pi)
        rec.links.extend(url for _, url in b.links if url.startswith("http"))
        if rec.valid():
            records.append(rec)
            table_rows.add(pi)
    for pi, para in enumerate(paragraphs):
        b = para.block
        if pi in last_heading:
            title, title_age = _clean_title(last_heading[pi]), 0
        if pi in table_rows or b.kind == "row":
            cur, nest_field = None, None
            continue
        kv = _KV.match(b.text)
        fieldname = lex.field_of(kv.group(1)) if kv else None
        if kv and fieldname:
            value = kv.group(2).strip()
            starts = fieldname in ("operator", "name")
            if cur is None or (starts and (cur.fields.get(fieldname) or (fieldname == "name" and cur.fields.get("operator")))):
                if cur is not None and cur.valid():
                    records.append(cur)
                cur = SdkDraft(first=pi, title=title if title_age <= 3 else None)
                title_age = 99
            cur.fields.setdefault(fieldname, []).append(value)
            cur.paragraphs.append(pi)
            if fieldname == "pi":
                cur.pi_paragraphs.append(pi)
            cur.links.extend(url for _, url in b.links if url.startswith("http"))
            cur.links.extend(_URL.findall(value) if fieldname == "link" else [])
            nest_field, nest_level = fieldname, b.level
            continue
        if cur is not None and nest_field and b.kind == "item" and b.level > nest_level:
            cur.fields.setdefault(nest_field, []).append(b.text)
            cur.paragraphs.append(pi)
            if nest_field == "pi":
                cur.pi_paragraphs.append(pi)
            continue
        # any other text closes the record and may be the next record's title
        if cur is not None:
            if cur.valid():
                records.append(cur)
            cur, nest_field = None, None
        if len(b.text) <= 60:
            title, title_age = _clean_title(b.text), 0
        else:
            title_age += 1
    if cur is not None and cur.valid():
        records.append(cur)
    records.sort(key=lambda r: r.first)
    return records


def record_name(rec: SdkDraft) -> str:
    """The SDK's name as the document gives it (the name field, else the title line)."""
    return (rec.value("name") or rec.title or "").strip()


def norm_name(name: str) -> str:
    """Name key for matching: lower case, without blanks, punctuation or the word 'sdk'."""
    key = name.lower()
    key = re.sub(r"[\s\-_/·.()（）【】\[\]《》“”\"'&+:：,，、]+|sdk", "", key)
    return key


def norm_vendor(name: str) -> str:
    """Legal-name key: no blanks or brackets, no "及其关联公司"-style tails."""
    name = _SUFFIXES.sub("", name.strip())
    return re.sub(r"[\s()（）]+", "", name)


@dataclass(frozen=True)
class PackIndex:
    """Name and vendor indexes over the SDK pack."""

    by_name: dict[str, tuple[str, ...]]
    names: tuple[tuple[str, str], ...]  # (normalised name or alias, sdk id), for containment tests
    by_vendor: dict[str, tuple[str, ...]]
    records: dict[str, SdkRecord]


@cache
def vendor_legal_names(pack_path: str) -> dict[str, str]:
    """Legal name (normalised) -> vendor zh name, from ``_pack.yaml``'s ``vendors`` table."""
    from ..datapack import read_checked
    from ..sdk.pack import SDK_META_KIND

    meta = read_checked(SDK_META_KIND, Path(pack_path) / "_pack.yaml").data
    out: dict[str, str] = {}
    for vendor in meta.get("vendors") or []:
        for legal in [vendor.get("zh")] + list(vendor.get("legal_names") or []):
            if legal:
                out[norm_vendor(str(legal))] = str(vendor.get("zh"))
    return out


_INDEXES: dict[tuple[str, str], PackIndex] = {}


def build_index(pack: SdkPack) -> PackIndex:
    """Index the pack by normalised names/aliases and by vendor legal names (once per pack)."""
    key = (pack.path, pack.sha256)
    if key not in _INDEXES:
        _INDEXES[key] = _build_index(pack)
    return _INDEXES[key]


def _build_index(pack: SdkPack) -> PackIndex:
    by_name: dict[str, list[str]] = {}
    names: list[tuple[str, str]] = []
    by_vendor: dict[str, list[str]] = {}
    legal = vendor_legal_names(pack.path)
    for rec in pack.sdks:
        for n in {rec.name_zh, rec.name_en, *rec.aliases}:
            key = norm_name(n)
            if len(key) >= 2:
                by_name.setdefault(key, []).append(rec.id)
                names.append((key, rec.id))
        if rec.vendor_zh:
            by_vendor.setdefault(norm_vendor(rec.vendor_zh), []).append(rec.id)
    for legal_name, zh in legal.items():
        ids = by_vendor.get(norm_vendor(zh), [])
        if legal_name not in by_vendor:
            by_vendor[legal_name] = list(ids)
    return PackIndex(
        {k: tuple(sorted(set(v))) for k, v in by_name.items()},
        tuple(sorted(set(names), key=lambda t: (-len(t[0]), t))),
        {k: tuple(sorted(set(v))) for k, v in by_vendor.items()},
        {r.id: r for r in pack.sdks},
    )


def _category_hint(*texts: str | None) -> set[str]:
    low = " ".join(t.lower() for t in texts if t)
    return {cat for word, cat in _CATEGORY_HINTS if word in low}


def match_sdk(name: str, operator: str | None, purpose: str | None, index: PackIndex) -> tuple[str | None, str | None]:
    """``(sdk_id, how)`` for a declared SDK, ``how`` in ``name``, ``name+vendor``, ``vendor+category``; else ``(None, None)``."""
    candidates = [name] + _BRACKETS.findall(name) + [_BRACKETS.sub("", name)]
    keys = [k for k in dict.fromkeys(norm_name(c) for c in candidates) if len(k) >= 2]
    vendor_ids = set(index.by_vendor.get(norm_vendor(operator), ())) if operator else set()
    for key in keys:
        ids = index.by_name.get(key, ())
        if len(ids) == 1:
            return ids[0], "name"
        if len(ids) > 1:
            narrowed = [i for i in ids if i in vendor_ids] or [i for i in ids if index.records[i].category != "library"]
            if len(narrowed) == 1:
                return narrowed[0], "name"
    if vendor_ids:
        contained = {sid for key in keys for alias, sid in index.names if sid in vendor_ids and len(alias) >= 2 and alias in key}
        if len(contained) == 1:
            return contained.pop(), "name+vendor"
        hints = _category_hint(name, purpose)
        by_cat = {sid for sid in (contained or vendor_ids) if index.records[sid].category in hints}
        if len(by_cat) == 1:
            return by_cat.pop(), "vendor+category"
    return None, None
