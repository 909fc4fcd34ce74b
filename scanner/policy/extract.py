"""Extraction: one policy document (as blocks) into its ``facts.policy.documents[]`` entry.

What is extracted (docs/result-format.md, ``facts.policy``): identity (title, dates, controller
and contact, sha256, source), structure (sections and paragraph offsets), the PI types it
declares with the sentence, purpose, scenario and sensitive marking of each mention, declared
SDKs (matched to the SDK pack), declared permissions with their purpose, rights and mechanisms
(present or absent, with the sentence that says so), references to other documents, and the
document's role. Every item has an ``id`` and a ``where`` (``§ heading, paragraph N`` and the
character offset), so a finding can quote it.

Words match evidence: a PI term counts as declared only in a sentence that speaks of collecting,
using or sharing (or in a list item or table row), never in a denial ("我们不会收集…"), a
definition ("个人敏感信息是指…") or the contact and update sections.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from typing import Any

from ..pi import vocabulary
from ..sdk.pack import SdkPack, default_pack
from .blocks import ParsedDoc
from .lexicon import ROLES, Lexicon, Match, default_lexicon
from .sdklist import SdkDraft, build_index, find_records, match_sdk, record_name
from .structure import Layout, Paragraph, layout, sentence_at

QUOTE_MAX = 280
#: mentions kept per PI type (the count says how many there were)
MENTIONS_PER_TYPE = 12

_COLLECT = re.compile(
    r"收集|获取|读取|访问|使用|提供|上传|共享|申请|调用|采集|记录|需要|填写|提交|授权|处理|保存|存储|接收|传输|识别|验证|核验|绑定|"
    r"开启|同步|分享|发送|上报|检测|包括|包含|涉及|例如|如：|如:|collect|use|share|access|process|provide|obtain|receive|store",
    re.I)
_DEFINITION = re.compile(r"(个人(敏感)?信息|敏感(个人)?信息|个人信息)\s*[：:]?\s*(是|系|指)|指的是|是指")
_EXCLUDED_SECTION = re.compile(r"联系我们|如何联系|联系方式|contact us|本(政策|指引|隐私政策)如何更新|定义|释义|名词解释|术语", re.I)
_CLAUSE_SPLIT = re.compile(r"[，,。；;！？!?：:\n]")
_DATE = r"【?(\d{4})】?\s*[年\-/.]\s*【?(\d{1,2})】?\s*[月\-/.]\s*【?(\d{1,2})】?\s*日?"
_EFFECTIVE = [re.compile(r"(生效日期|生效时间|生效)\s*[：:为是]?\s*" + _DATE), re.compile(_DATE + r"\s*(起)?(正式)?生效")]
_UPDATED = [re.compile(r"(更新日期|更新时间|最近更新|最新更新|版本更新日期|发布日期|更新于|修订日期|版本日期)\s*[：:为是]?\s*" + _DATE),
            re.compile(r"已于\s*" + _DATE + r"\s*(更新|修订)"), re.compile(_DATE + r"\s*(更新|修订)")]
_ENTITY = re.compile(r"([\u4e00-\u9fff（）()A-Za-z0-9]{2,40}?(有限责任公司|股份有限公司|有限公司|集团公司|Pte\.\s?Ltd\.|Co\.,\s?Ltd\.|Inc\.|B\.V\.))")
_CONTROLLER_CUE = re.compile(r"以下简称|以下统称|下称|运营者|运营方|运营主体|我们是|本(政策|指引|声明)|个人信息处理者|控制者|由.{0,6}(提供|运营)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,120}\.[A-Za-z]{2,12}")
_PHONE = re.compile(r"(?<!\d)(400[\-\s]?\d{3}[\-\s]?\d{4}|800[\-\s]?\d{3}[\-\s]?\d{4}|0\d{2,3}[\-\s]?\d{7,8}|95\d{3,4}|1[3-9]\d{9})(?!\d)")
_ADDRESS = re.compile(r"(?:(?:注册|办公|联系|通信|通讯|邮寄)地址\s*[：:为是]|地址\s*[：:])\s*([^。；;\n|]{4,80})")
_REFERENCE = re.compile(r"《([^《》\n]{2,50})》")
_REF_WORDS = re.compile(r"清单|目录|列表|政策|指引|规则|说明|协议|声明|摘要|SDK", re.I)
_PERMISSION_WORD = re.compile(r"权限|permission", re.I)
_ANDROID_PERMISSION = re.compile(r"\b(android\.permission\.[A-Z_]{3,60})\b")


def _trim(text: str, start: int = 0, end: int | None = None) -> str:
    end = len(text) if end is None else end
    quote = text[start:end].strip()
    return quote if len(quote) <= QUOTE_MAX else quote[: QUOTE_MAX - 1] + "…"


def _iso(m: re.Match[str]) -> str | None:
    groups = list(m.groups())
    first = next((i for i, g in enumerate(groups) if g and re.fullmatch(r"\d{4}", g)), None)
    if first is None or first + 2 >= len(groups):
        return None
    y, mo, d = int(groups[first]), int(groups[first + 1]), int(groups[first + 2])
    if not (1990 <= y <= 2100 and 1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def _entity(raw: str) -> str:
    """A legal name without the words before it in the same run ("哔哩哔哩由上海…公司" -> "上海…公司")."""
    cut = max(raw.rfind(w, 0, max(0, len(raw) - 6)) for w in ("由", "是", "为", "与", "即", "指", "：", ":"))
    return raw[cut + 1:] if cut >= 0 else raw


class Extractor:
    """Runs every extraction step over one document's layout."""

    def __init__(self, parsed: ParsedDoc, doc_id: str, lex: Lexicon, pack: SdkPack) -> None:
        self.parsed = parsed
        self.doc_id = doc_id
        self.lex = lex
        self.pack = pack
        self.lay: Layout = layout(parsed.blocks)
        # only a section's own heading decides: nested headings under a mis-levelled one stay in
        self.excluded = {s.index for s in self.lay.sections if s.heading and _EXCLUDED_SECTION.search(s.heading)}
        # one search over the whole text (terms never span a newline), then bucketed by paragraph
        self.pi_hits = self._bucket(lex.find_pi(self.lay.text))
        self.perm_hits = self._bucket(lex.find_permissions(self.lay.text))

    def _bucket(self, matches: list[Match]) -> dict[int, list[Match]]:
        starts = [p.offset for p in self.lay.paragraphs]
        out: dict[int, list[Match]] = {}
        for m in matches:
            i = bisect.bisect_right(starts, m.start) - 1
            if i < 0:
                continue
            para = self.lay.paragraphs[i]
            if m.end <= para.offset + len(para.block.text):
                out.setdefault(i, []).append(Match(m.start - para.offset, m.end - para.offset, m.term))
        return out

    # --- locations --------------------------------------------------------------------------
    def where(self, para: Paragraph, start: int = 0) -> dict[str, Any]:
        """The location of a position inside a paragraph."""
        sec = self.lay.sections[para.section]
        return {"section": sec.heading, "section_id": f"{self.doc_id}:s{sec.index}", "paragraph": para.number,
                "offset": para.offset + start, "page": para.block.page}

    def sentence(self, para: Paragraph, pos: int) -> tuple[int, int]:
        """The quoted unit around ``pos``: the whole row or short item, else the sentence."""
        b = para.block
        if b.kind == "row" or (b.kind == "item" and len(b.text) <= QUOTE_MAX):
            return 0, len(b.text)
        return sentence_at(b.text, pos)

    # --- identity ---------------------------------------------------------------------------
    def title(self) -> str | None:
        """The document's title: a policy-like early heading, the reader's hint, or the first heading."""
        heads = [b.text for b in self.lay.blocks[:8] if b.kind == "heading"]
        candidates = ([self.parsed.title_hint] if self.parsed.title_hint else []) + heads[:3]
        for cand in candidates:
            if any(p.search(cand) for pats in self.lex.roles.values() for p in pats):
                return cand
        if heads:
            return heads[0]
        if self.parsed.title_hint:
            return self.parsed.title_hint
        return self.lay.blocks[0].text[:60] if self.lay.blocks else None

    def dates(self) -> dict[str, str | None]:
        """Effective and updated dates stated in the text (first of each kind)."""
        out: dict[str, str | None] = {"effective": None, "updated": None}
        blocks = self.lay.blocks
        for block in blocks[:60] + blocks[max(60, len(blocks) - 15):]:
            text = block.text
            for key, patterns in (("effective", _EFFECTIVE), ("updated", _UPDATED)):
                if out[key]:
                    continue
                for pattern in patterns:
                    m = pattern.search(text)
                    if m:
                        out[key] = _iso(m)
                        if out[key]:
                            break
        return out

    def controller(self) -> dict[str, Any]:
        """The controller's legal name and the contact details the document gives."""
        name = None
        for para in self.lay.paragraphs[:40]:
            text = para.block.text
            if _CONTROLLER_CUE.search(text) or para.number == 1 and para.section <= 1:
                m = _ENTITY.search(text)
                if m and _CONTROLLER_CUE.search(text):
                    name = _entity(m.group(1))
                    break
        contact_paras = [p for p in self.lay.paragraphs if p.section in self.excluded or re.search(r"联系|contact", p.block.text, re.I)]
        contact_ids = {id(p) for p in contact_paras}
        if name is None:
            for para in contact_paras:
                m = _ENTITY.search(para.block.text)
                if m:
                    name = _entity(m.group(1))
                    break
        emails: list[str] = []
        phones: list[str] = []
        addresses: list[str] = []
        for para in self.lay.paragraphs:
            text = para.block.text
            emails.extend(e.rstrip(".") for e in _EMAIL.findall(text))
            if id(para) in contact_ids or re.search(r"电话|热线|客服|联系", text):
                phones.extend(p for p in _PHONE.findall(text))
            if id(para) in contact_ids:
                addresses.extend(a.strip() for a in _ADDRESS.findall(text))
        return {"name": name, "emails": sorted(set(emails))[:20], "phones": sorted(set(phones))[:20],
                "addresses": list(dict.fromkeys(addresses))[:10]}

    # --- PI types ---------------------------------------------------------------------------
    @staticmethod
    def _phrase(text: str, markers: tuple[str, ...]) -> str | None:
        """From the first marker found to the end of its clause, or ``None``."""
        for marker in markers:
            i = text.find(marker)
            if i >= 0:
                end = _CLAUSE_SPLIT.search(text, i + len(marker))
                return _trim(text, i, end.start() if end else None)
        return None

    def _purpose_scenario(self, text: str) -> tuple[str | None, str | None]:
        return self._phrase(text, self.lex.purpose_markers), self._phrase(text, self.lex.scenario_markers)

    def _pi_column_span(self, para: Paragraph) -> tuple[int, int] | None:
        """(start, end) in the row text of the cell under a PI-list "PI" header, if the table has one."""
        b = para.block
        base = 0
        for head, cell in zip(b.header, b.cells):
            if self.lex.field_of(head, "pi_list") == "pi" and self.lex.field_of(head, "permission_list") != "permission":
                return base, base + len(cell)
            base += len(cell) + 3
        return None

    def _row_field(self, para: Paragraph, table: str, want: str) -> str | None:
        b = para.block
        for head, cell in zip(b.header, b.cells):
            if self.lex.field_of(head, table) == want and cell:
                return cell
        return None

    def pi_types(self, via_of: dict[int, str]) -> list[dict[str, Any]]:
        """Declared (and denied) PI types with their mentions."""
        vocab = vocabulary()
        by_type: dict[str, dict[str, Any]] = {}
        counter = 0
        for pidx, para in enumerate(self.lay.paragraphs):
            b = para.block
            if para.section in self.excluded:
                continue
            via = via_of.get(pidx, "text")
            span = None
            if b.kind == "row":
                span = self._pi_column_span(para)
                if via == "text":
                    via = "pi_list" if span else "table"
            for m in self.pi_hits.get(pidx, ()):
                if not m.term.targets:
                    continue
                if span and not (span[0] <= m.start < span[1]):
                    continue  # a purpose or scenario cell of a PI-list row names no PI
                s, e = self.sentence(para, m.start)
                sentence = b.text[s:e]
                clause_start = max((c.end() for c in _CLAUSE_SPLIT.finditer(b.text, s, m.start)), default=s)
                before = b.text[clause_start:m.start].lower()
                negated = any(n in before for n in self.lex.negations)
                definition = bool(_DEFINITION.search(sentence)) and b.kind not in ("row",) and via == "text"
                collect = b.kind in ("item", "row") or via != "text" or bool(_COLLECT.search(sentence))
                # the name, purpose or link of an SDK record mentions words, it declares nothing
                declared = not negated and not definition and collect and not via.startswith("sdk_record:")
                if self.parsed.marks_supported is False:
                    marked: bool | None = None
                else:
                    hit = b.marked(m.start, m.end)
                    marked = True if hit else (False if self.parsed.marks_supported else None)
                if b.kind == "row" and via in ("pi_list", "table"):
                    purpose = self._row_field(para, "pi_list", "purpose")
                    scenario = self._row_field(para, "pi_list", "scenario")
                else:
                    purpose, scenario = self._purpose_scenario(sentence)
                counter += 1
                mention = {
                    "id": f"{self.doc_id}:m{counter}", "term": b.text[m.start:m.end], "quote": _trim(sentence),
                    "where": self.where(para, s), "purpose": purpose, "scenario": scenario, "marked": marked,
                    "negated": negated, "declared": declared, "via": via,
                }
                for pi in m.term.targets:
                    entry = by_type.setdefault(pi, {"mentions": [], "count": 0, "declared": False, "marked": None, "via": set()})
                    entry["count"] += 1
                    if declared:
                        entry["declared"] = True
                        entry["via"].add(via)
                        if marked is True:
                            entry["marked"] = True
                        elif marked is False and entry["marked"] is None:
                            entry["marked"] = False
                    keep = [x for x in entry["mentions"] if x["declared"] == declared]
                    if len(keep) < MENTIONS_PER_TYPE:
                        entry["mentions"].append(mention)
        out = []
        for pi in sorted(by_type):
            entry = by_type[pi]
            mentions = sorted(entry["mentions"], key=lambda x: (not x["declared"], x["where"]["offset"]))
            out.append({
                "id": f"{self.doc_id}:pi:{pi}", "pi_type": pi, "declared": entry["declared"],
                "sensitive": vocab.get(pi).sensitive, "marked": entry["marked"] if entry["declared"] else None,
                "via": sorted(entry["via"]), "mention_count": entry["count"], "mentions": mentions,
            })
        return out

    # --- SDKs --------------------------------------------------------------------------------
    def sdks(self, drafts: list[SdkDraft]) -> list[dict[str, Any]]:
        """Declared SDK records, matched to the SDK pack where possible."""
        index = build_index(self.pack)
        out = []
        for n, rec in enumerate(drafts, 1):
            name = record_name(rec)
            operator = rec.value("operator")
            purpose = rec.value("purpose")
            sdk_id, how = match_sdk(name, operator, purpose, index)
            pi_text = rec.value("pi") or ""
            pi_types: list[str] = []
            terms: list[str] = []
            for m in self.lex.find_pi(pi_text):
                if m.term.targets:
                    terms.append(pi_text[m.start:m.end])
                    pi_types.extend(m.term.targets)
            para = self.lay.paragraphs[rec.first]
            quote_parts = ([rec.title] if rec.title and not rec.value("name") else []) + [
                self.lay.paragraphs[i].block.text for i in rec.paragraphs[:12]]
            links = [u for u in dict.fromkeys(rec.links) if u.startswith("http")]
            out.append({
                "id": f"{self.doc_id}:sdk:{n}", "name": name or None, "operator": operator, "purpose": purpose,
                "method": rec.value("method"), "pi_text": _trim(pi_text) if pi_text else None,
                "pi_types": sorted(set(pi_types)), "pi_terms": list(dict.fromkeys(terms))[:40],
                "policy_url": links[0] if links else None,
                "match": {"sdk_id": sdk_id, "by": how} if sdk_id else None,
                "quote": _trim(" / ".join(quote_parts)), "where": self.where(para),
            })
        return out

    # --- permissions ---------------------------------------------------------------------------
    def permissions(self) -> list[dict[str, Any]]:
        """Declared permissions: Android names, or display names next to 权限 or in a permission table."""
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, int]] = set()
        paras = self.lay.paragraphs
        for pidx, para in enumerate(paras):
            b = para.block
            if para.section in self.excluded:
                continue
            found: list[tuple[int, int, str, tuple[str, ...]]] = []
            perm_col = None
            if b.kind == "row" and b.header:
                cols = [self.lex.field_of(h, "permission_list") for h in b.header]
                if "permission" in cols:
                    perm_col = cols.index("permission")
            for m in _ANDROID_PERMISSION.finditer(b.text):
                found.append((m.start(), m.end(), m.group(1), (m.group(1),)))
            if perm_col is not None:
                cell = b.cells[perm_col] if perm_col < len(b.cells) else ""
                base = sum(len(c) + 3 for c in b.cells[:perm_col])
                for m in self.lex.find_permissions(cell):
                    found.append((base + m.start, base + m.end, cell[m.start:m.end], m.term.targets))
            else:
                for m in self.perm_hits.get(pidx, ()):
                    tail = b.text[m.end:m.end + 8]
                    if _PERMISSION_WORD.search(tail.split("，")[0].split("。")[0]) or _PERMISSION_WORD.search(b.text[m.start:m.end]):
                        found.append((m.start, m.end, b.text[m.start:m.end], m.term.targets))
            for start, _end, term, names in found:
                key = (",".join(names), pidx)
                if key in seen:
                    continue
                seen.add(key)
                s, e = self.sentence(para, start)
                sentence = b.text[s:e]
                if perm_col is not None:
                    purpose = next((c for h, c in zip(b.header, b.cells) if self.lex.field_of(h, "permission_list") == "purpose" and c), None)
                    scenario = None
                else:
                    purpose, scenario = self._purpose_scenario(sentence)
                    if sentence.rstrip().endswith(("：", ":")):
                        # "…需要访问您的相机权限：" followed by the functions as list items
                        nxt = []
                        for j in range(pidx + 1, min(len(paras), pidx + 16)):
                            if paras[j].block.kind != "item" or _PERMISSION_WORD.search(paras[j].block.text):
                                break
                            nxt.append(paras[j].block.text)
                        if nxt:
                            purpose = _trim((purpose + "：" if purpose else "") + "、".join(nxt))
                out.append({
                    "id": f"{self.doc_id}:perm:{len(out) + 1}", "term": term, "permissions": list(names),
                    "purpose": purpose, "scenario": scenario, "quote": _trim(sentence), "where": self.where(para, s),
                })
        return out

    # --- rights and mechanisms -------------------------------------------------------------------
    def rights(self) -> list[dict[str, Any]]:
        """One entry per right/mechanism kind: present or absent, with the first sentence that says it."""
        out = []
        for kind, patterns in self.lex.rights.items():
            entry: dict[str, Any] = {"id": f"{self.doc_id}:right:{kind}", "kind": kind, "present": False,
                                     "quote": None, "where": None, "response_days": None}
            for para in self.lay.paragraphs:
                text = para.block.text
                m = next((p.search(text) for p in patterns if p.search(text)), None)
                if m is None:
                    continue
                s, e = self.sentence(para, m.start())
                if kind != "contact" and any(n in text[max(s, m.start() - 8):m.start()].lower() for n in ("不提供", "无法", "不支持")):
                    continue
                entry.update(present=True, quote=_trim(text, s, e), where=self.where(para, s))
                break
            if kind in ("complaint", "cancellation", "correction", "deletion", "access_copy") and entry["present"]:
                entry["response_days"] = self._response_days(patterns)
            out.append(entry)
        return out

    def _response_days(self, patterns: tuple[re.Pattern[str], ...]) -> int | None:
        numerals = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
        for para in self.lay.paragraphs:
            text = para.block.text
            if not any(p.search(text) for p in patterns):
                continue
            m = self.lex.response_time.search(text)
            if m:
                raw = m.group(1)
                if raw.isdigit():
                    return int(raw)
                if raw.startswith("十"):
                    return 10 + numerals.get(raw[1:], 0) if len(raw) > 1 else 10
                if len(raw) >= 2 and raw[1] == "十":
                    return numerals.get(raw[0], 0) * 10 + (numerals.get(raw[2:], 0) if len(raw) > 2 else 0)
                return numerals.get(raw)
        return None

    # --- references -------------------------------------------------------------------------------
    def references(self, own_title: str | None) -> list[dict[str, Any]]:
        """Other documents this one points to (《…清单》, 《…政策》), with the role each would play."""
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        own = (own_title or "").strip("《》 ")
        for para in self.lay.paragraphs:
            b = para.block
            for m in _REFERENCE.finditer(b.text):
                title = m.group(1).strip()
                if title in seen or title == own or not _REF_WORDS.search(title):
                    continue
                seen.add(title)
                role = detect_role_from_title(title, self.lex) or "other"
                url = next((u for t, u in b.links if title in t and u.startswith("http")), None)
                if url is None:
                    after = re.search(r"https?://[^\s)）\]】<>\"'，。；]+", b.text[m.end():m.end() + 200])
                    url = after.group(0) if after else None
                s, e = self.sentence(para, m.start())
                out.append({"id": f"{self.doc_id}:ref:{len(out) + 1}", "title": title, "role": role, "url": url,
                            "quote": _trim(b.text, s, e), "where": self.where(para, s)})
        return out


def detect_role_from_title(title: str, lex: Lexicon) -> str | None:
    """The role a title names (first matching role in lexicon order), or ``None``."""
    for role in ROLES:
        if any(p.search(title) for p in lex.roles[role]):
            return role
    return None


def detect_role(title: str | None, sdks: int, pi_rows: int, perm_rows: int, declared: int, lex: Lexicon) -> str:
    """A document's role from its title, else from what it contains."""
    if title:
        role = detect_role_from_title(title, lex)
        if role:
            return role
    if sdks >= 3 and declared <= sdks * 12:
        return "sdk_list"
    if pi_rows >= 4:
        return "pi_list"
    if perm_rows >= 3 and declared <= perm_rows * 3:
        return "permission_list"
    return "privacy_policy" if declared >= 3 else "unknown"


def document_id(sha256: str) -> str:
    """The id of a document: ``policydoc:`` and the first 12 hex digits of its sha256."""
    return f"policydoc:{sha256[:12]}"


def extract_document(
    parsed: ParsedDoc,
    data: bytes,
    *,
    name: str,
    role: str | None = None,
    source: dict[str, Any] | None = None,
    lexicon: Lexicon | None = None,
    pack: SdkPack | None = None,
) -> dict[str, Any]:
    """The ``facts.policy.documents[]`` entry for one read document.

    ``role`` (one of :data:`scanner.policy.lexicon.ROLES`) overrides the recognised role;
    ``source`` says where the document came from (default: a file given by the user).
    """
    lex = lexicon or default_lexicon()
    sha = hashlib.sha256(data).hexdigest()
    doc_id = document_id(sha)
    ex = Extractor(parsed, doc_id, lex, pack or default_pack())
    drafts = find_records(ex.lay, lex)
    via_of: dict[int, str] = {}
    sdks = ex.sdks(drafts)
    for rec, sdk in zip(drafts, sdks):
        for p in rec.pi_paragraphs:
            via_of[p] = "sdk:" + sdk["id"]
        for p in rec.paragraphs:
            via_of.setdefault(p, "sdk_record:" + sdk["id"])
    pi = ex.pi_types(via_of)
    perms = ex.permissions()
    title = ex.title()
    pi_rows = sum(1 for p in ex.lay.paragraphs if p.block.kind == "row" and ex._row_field(p, "pi_list", "pi"))
    perm_rows = sum(1 for p in ex.lay.paragraphs if p.block.kind == "row" and p.block.header
                    and "permission" in [lex.field_of(h, "permission_list") for h in p.block.header])
    perm_rows = max(perm_rows, len({x["where"]["paragraph"] for x in perms}) if not pi_rows else perm_rows)
    declared = sum(1 for x in pi if x["declared"])
    detected = detect_role(title, len(sdks), pi_rows, perm_rows, declared, lex)
    limitations = []
    if parsed.pages_without_text:
        pages = ", ".join(map(str, parsed.pages_without_text[:20]))
        limitations.append({"kind": "policy_page_no_text", "where": doc_id,
                            "detail": f"page(s) {pages} of {parsed.pages} have no text layer (scanned images?); their content was not read"})
    if parsed.truncated:
        limitations.append({"kind": "policy_truncated", "detail": parsed.truncated, "where": doc_id})
    sections = [{"id": f"{doc_id}:s{s.index}", "heading": s.heading, "level": s.level,
                 "parent": f"{doc_id}:s{s.parent}" if s.parent is not None else None, "offset": s.offset,
                 "paragraph_offsets": [ex.lay.paragraphs[i].offset for i in s.paragraphs]}
                for s in ex.lay.sections if s.heading is not None or s.paragraphs]
    src = {"kind": "file", "name": name, "url": None, "time": None, "phase": None}
    if source:
        src.update(source)
    return {
        "id": doc_id,
        "role": role or detected,
        "role_source": "user" if role else "content",
        "detected_role": detected,
        "format": parsed.format,
        "source": src,
        "sha256": sha,
        "size": len(data),
        "title": title,
        "dates": ex.dates(),
        "controller": ex.controller(),
        "language": _language(ex.lay.text),
        "marks_supported": parsed.marks_supported,
        "pages": parsed.pages,
        "text_chars": len(ex.lay.text),
        "sections": sections,
        "pi_types": pi,
        "sdks": sdks,
        "permissions": perms,
        "rights": ex.rights(),
        "references": ex.references(title),
        "limitations": limitations,
    }


def _language(text: str) -> str:
    sample = text[:20000]
    cjk = len(re.findall(r"[\u4e00-\u9fff]", sample))
    latin = len(re.findall(r"[A-Za-z]", sample))
    if cjk >= latin / 3:
        return "zh"
    return "en" if latin else "unknown"
