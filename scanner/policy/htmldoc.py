"""Saved web pages (HTML) into blocks, with lxml.

Headings come from ``h1``-``h6``; paragraphs from ``p``/``div`` and other block elements; list
items from ``li``; table rows from ``tr``. Bold and underline come from ``b``/``strong``/``u``/
``ins`` and from inline ``font-weight``/``text-decoration`` styles, so a page exported from Word
(headings as bold paragraphs, styles inline) keeps its marks. Scripts, styles, comments and
forms are dropped. The tree is walked to a bounded depth; deeper content is read as plain text.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from .blocks import Block, BlockSink, ParsedDoc, Span, split_lines

#: deepest element nesting walked structurally; below it, text is taken as it comes
MAX_DEPTH = 120

_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "blockquote", "pre",
    "address", "li", "dt", "dd", "ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
    "h1", "h2", "h3", "h4", "h5", "h6", "body", "html", "form", "fieldset", "figure", "figcaption", "center",
    "hr", "caption",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "title", "meta", "link", "iframe", "object",
              "svg", "button", "select", "option", "textarea", "input"}
_BOLD_STYLE = re.compile(r"(?<![\w-])font-weight\s*:\s*(bold|bolder|[6-9]00)", re.I)
_NOT_BOLD_STYLE = re.compile(r"(?<![\w-])font-weight\s*:\s*(normal|[1-4]00)", re.I)
_UNDER_STYLE = re.compile(r"(?<![\w-])text-decoration(-line)?\s*:[^;]*underline", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}charset\s*=\s*["']?\s*([A-Za-z0-9_\-]{2,30})""", re.I)


def _tag(el: Any) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    # Word's namespaced tags (o:p, v:shape) are inline markers, never blocks: keep the prefix
    return tag.rsplit("}", 1)[-1].lower()


def _marked(el: Any, inherited: bool) -> bool:
    tag = _tag(el)
    style = el.get("style") or ""
    if tag in ("b", "strong", "u", "ins"):
        return not (tag in ("b", "strong") and _NOT_BOLD_STYLE.search(style) and not _UNDER_STYLE.search(style))
    if _BOLD_STYLE.search(style) or _UNDER_STYLE.search(style):
        return True
    if inherited and _NOT_BOLD_STYLE.search(style) and not _UNDER_STYLE.search(style):
        return False
    return inherited


class _Inline:
    """Accumulates inline text with marks and links."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.marks: list[Span] = []
        self.links: list[tuple[str, str]] = []

    def add(self, text: str | None, marked: bool) -> None:
        if not text:
            return
        if marked:
            self.marks.append((self.length, self.length + len(text)))
        self.parts.append(text)
        self.length += len(text)

    def walk(self, el: Any, marked: bool, depth: int) -> None:
        tag = _tag(el)
        if tag in _SKIP_TAGS or not tag:
            return
        mark = _marked(el, marked)
        if tag == "br":
            self.add("\n", False)
        elif depth > MAX_DEPTH:
            self.add(" ".join(el.itertext()), mark)
            return
        else:
            if tag in _BLOCK_TAGS and self.length:
                self.add("\n", False)
            self.add(el.text, mark)
            for child in el:
                if isinstance(child.tag, str):
                    self.walk(child, mark, depth + 1)
                self.add(child.tail, mark)
            if tag in _BLOCK_TAGS:
                self.add("\n", False)
            if tag == "a" and el.get("href"):
                self.links.append((" ".join("".join(el.itertext()).split()), el.get("href")))

    def text(self) -> str:
        return "".join(self.parts)


def _containers(root: Any) -> set[Any]:
    """Every element that has a block element below it (one pass over the tree)."""
    out: set[Any] = set()
    for el in root.iter():
        if _tag(el) in _BLOCK_TAGS:
            for anc in el.iterancestors():
                if anc in out:
                    break
                out.add(anc)
    return out


def _table_rows(table: Any, index: int) -> list[Block]:
    rows: list[Block] = []
    header: tuple[str, ...] = ()
    for tr in table.iter():
        if _tag(tr) != "tr":
            continue
        owner = next((a for a in tr.iterancestors() if _tag(a) == "table"), None)
        if owner is not table:
            continue
        cells: list[str] = []
        marks: list[Span] = []
        links: list[tuple[str, str]] = []
        base = 0
        for cell in tr:
            if _tag(cell) not in ("td", "th"):
                continue
            acc = _Inline()
            acc.walk(cell, False, 0)
            parts = split_lines(acc.text(), acc.marks)
            text = "；".join(p for p, _ in parts)
            offset = 0
            for ptext, pmarks in parts:
                marks.extend((base + offset + s, base + offset + e) for s, e in pmarks)
                offset += len(ptext) + 1
            links.extend(acc.links)
            cells.append(text)
            base += len(text) + 3
        if not any(cells):
            continue
        rows.append(Block("row", " | ".join(cells), marks=tuple(marks), links=tuple(links), cells=tuple(cells),
                          header=header, table=index))
        if not header:
            header = tuple(cells)
    return rows


def table_rows_from_html(fragment: str, index: int) -> list[Block]:
    """The rows of the first HTML ``<table>`` in ``fragment`` (used for tables inside Markdown)."""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return []
    for el in root.iter():
        if _tag(el) == "table":
            return _table_rows(el, index)
    return []


def decode_html(data: bytes) -> str:
    """Decode a saved page: BOM, then ``<meta charset>``, then UTF-8, then GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    meta = _META_CHARSET.search(data[:4096])
    if meta:
        name = meta.group(1).decode("ascii").lower()
        if name in ("gb2312", "gbk", "gb18030", "x-gbk"):
            name = "gb18030"
        try:
            return data.decode(name, errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def parse_html(text: str) -> ParsedDoc:
    """Read an HTML page into a :class:`ParsedDoc`; ``ValueError`` if it has no document at all."""
    doc = ParsedDoc(format="html", marks_supported=True)
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, huge_tree=False)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ValueError(f"not an HTML document ({exc})") from None
    title = root.find(".//title")
    if title is not None and (title.text or "").strip():
        doc.title_hint = " ".join(title.text.split())
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        doc.truncated = "HTML nested deeper than the parser's limit (256 elements); content below that depth was not read"
    sink = BlockSink(doc)
    body = root.find("body")
    top = body if body is not None else root
    _walk_blocks(top, sink, [0], 0, _containers(top))
    return doc


def _walk_blocks(el: Any, sink: BlockSink, tables: list[int], depth: int, containers: set[Any]) -> None:
    """Emit blocks for ``el``: leaf block elements become blocks, mixed content anonymous paragraphs."""
    if sink.full:
        return
    tag = _tag(el)
    if tag in _SKIP_TAGS or not tag:
        return
    if tag == "table":
        tables[0] += 1
        for row in _table_rows(el, tables[0]):
            sink.add(row)
        return
    if depth > MAX_DEPTH or el not in containers:
        acc = _Inline()
        acc.walk(el, False, 0)
        kind, level = _kind_of(el)
        for text, marks in split_lines(acc.text(), acc.marks):
            sink.add(Block(kind, text, level=level, marks=marks, links=tuple(acc.links)))
        return
    # mixed content: runs of inline children between block children form anonymous paragraphs
    acc = _Inline()
    acc.add(el.text, _marked(el, False))

    def flush() -> None:
        nonlocal acc
        kind, level = _kind_of(el)
        for text, marks in split_lines(acc.text(), acc.marks):
            sink.add(Block("para" if kind == "heading" else kind, text, level=level, marks=marks, links=tuple(acc.links)))
        acc = _Inline()

    for child in el:
        ctag = _tag(child)
        if ctag in _BLOCK_TAGS or child in containers:
            flush()
            _walk_blocks(child, sink, tables, depth + 1, containers)
        elif ctag:
            acc.walk(child, _marked(el, False), depth + 1)
        acc.add(child.tail, _marked(el, False))
    flush()


def _kind_of(el: Any) -> tuple[str, int]:
    tag = _tag(el)
    if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
        return "heading", int(tag[1])
    if tag == "li":
        depth = sum(1 for a in el.iterancestors() if _tag(a) in ("ul", "ol")) - 1
        return "item", max(0, depth)
    return "para", 0
