"""Markdown policies (and the archive's Markdown conversions of web pages) into blocks.

A small line-based reader, enough for what policy texts use: ATX headings, paragraphs, nested
lists, pipe tables, HTML tables embedded in the Markdown (read with lxml), ``<br>`` line breaks,
bold/underline marks and links. A YAML front-matter block gives the title hint and is otherwise
skipped, as are mkdocs admonition blocks (``!!! info``) and fenced code, which hold the archive's
metadata rather than policy text.
"""

from __future__ import annotations

import re

from .blocks import Block, BlockSink, ParsedDoc, split_lines
from .htmldoc import table_rows_from_html
from .inline import parse_inline

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)(?:[*+\-•·]|\d{1,3}[.)、])\s+(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _row_block(raw_cells: list[str], header: tuple[str, ...], table: int) -> Block:
    texts: list[str] = []
    marks: list[tuple[int, int]] = []
    links: list[tuple[str, str]] = []
    base = 0
    for raw in raw_cells:
        text, cell_marks, cell_links = parse_inline(raw)
        parts = split_lines(text, cell_marks)
        cell = "；".join(p[0] for p in parts) if len(parts) > 1 else (parts[0][0] if parts else "")
        if len(parts) == 1:
            marks.extend((base + s, base + e) for s, e in parts[0][1])
        elif parts:
            offset = 0
            for ptext, pmarks in parts:
                marks.extend((base + offset + s, base + offset + e) for s, e in pmarks)
                offset += len(ptext) + 1
        links.extend(cell_links)
        texts.append(cell)
        base += len(cell) + 3
    return Block("row", " | ".join(texts), marks=tuple(marks), links=tuple(links), cells=tuple(texts),
                 header=header, table=table)


def parse_markdown(text: str) -> ParsedDoc:
    """Read Markdown text into a :class:`ParsedDoc` (never raises on odd input)."""
    doc = ParsedDoc(format="markdown", marks_supported=True)
    sink = BlockSink(doc)
    lines = text.split("\n")
    i = 0
    if lines and lines[0].strip() == "---":
        for j in range(1, min(len(lines), 200)):
            if lines[j].strip() == "---":
                for meta in lines[1:j]:
                    key, _, value = meta.partition(":")
                    if key.strip() == "title" and value.strip():
                        doc.title_hint = value.strip().strip("'\"")
                i = j + 1
                break
    para: list[str] = []
    table = 0

    def flush_para() -> None:
        if para:
            # soft line breaks: U+2029 keeps the offsets, then becomes a space that
            # normalisation drops between CJK characters; <br> (a newline) splits blocks
            inline, marks, links = parse_inline("\u2029".join(para))
            para.clear()
            for ptext, pmarks in split_lines(inline.replace("\u2029", " "), marks):
                # "**• 其他信息：** …": a bullet written as text is a list item too
                kind = "item" if ptext[:1] in ("•", "·", "●", "▪") else "para"
                sink.add(Block(kind, ptext, marks=pmarks, links=tuple(links)))

    n = len(lines)
    while i < n and not sink.full:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush_para()
            i += 1
            continue
        if _FENCE.match(line):
            flush_para()
            i += 1
            while i < n and not _FENCE.match(lines[i]):
                i += 1
            i += 1
            continue
        if stripped.startswith("!!!"):
            flush_para()
            i += 1
            while i < n and (not lines[i].strip() or lines[i].startswith("    ") or lines[i].startswith("\t")):
                i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush_para()
            htext, hmarks, hlinks = parse_inline(heading.group(2))
            for ptext, _ in split_lines(htext, hmarks):
                sink.add(Block("heading", ptext, level=len(heading.group(1)), links=tuple(hlinks)))
            i += 1
            continue
        if stripped.lower().startswith("<table"):
            flush_para()
            chunk = []
            while i < n:
                chunk.append(lines[i])
                if "</table>" in lines[i].lower():
                    break
                i += 1
            i += 1
            table += 1
            for block in table_rows_from_html("\n".join(chunk), table):
                sink.add(block)
            continue
        if stripped.startswith("|") and i + 1 < n and _TABLE_SEP.match(lines[i + 1]):
            flush_para()
            table += 1
            header_row = _row_block(_cells(line), (), table)
            sink.add(header_row)
            i += 2
            while i < n and lines[i].strip().startswith("|"):
                sink.add(_row_block(_cells(lines[i]), header_row.cells, table))
                i += 1
            continue
        item = _ITEM.match(line)
        if item and not _TABLE_SEP.match(line):
            flush_para()
            indent = len(item.group(1).replace("\t", "    "))
            body = [item.group(2)]
            i += 1
            # lazy continuation lines of the same item
            while i < n and lines[i].strip() and not _ITEM.match(lines[i]) and not _HEADING.match(lines[i]) \
                    and not lines[i].strip().startswith("|") and not lines[i].strip().lower().startswith("<table"):
                body.append(lines[i].strip())
                i += 1
            itext, imarks, ilinks = parse_inline(" ".join(body))
            parts = split_lines(itext, imarks)
            for k, (ptext, pmarks) in enumerate(parts):
                sink.add(Block("item" if k == 0 else "para", ptext, level=0 if indent < 2 else max(1, (indent + 2) // 4),
                               marks=pmarks, links=tuple(ilinks)))
            continue
        para.append(line)
        i += 1
    flush_para()
    return doc
