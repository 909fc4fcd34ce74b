"""Document structure: headings inferred where the format has none, sections, paragraph numbers,
sentences, and the location (§ heading, paragraph N, offset) every extracted item cites.

The document text is the blocks' texts joined by newlines; a location's ``offset`` is the
character offset of its sentence in that text, so ``piscan policy show --json`` together with
the source file lets anyone find the quoted words again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import Block

_CHAPTER = [
    (re.compile(r"^第[一二三四五六七八九十百\d]{1,4}[章节部分篇]"), 2),
    (re.compile(r"^[一二三四五六七八九十]{1,3}\s*[、.．]"), 2),
    (re.compile(r"^[（(][一二三四五六七八九十]{1,3}[)）]"), 3),
    (re.compile(r"^\d{1,2}(\.\d{1,2}){1,4}\.?\s*[^\d.]"), 0),  # level from the number of dots
    (re.compile(r"^\d{1,2}\s*[、.．]\s*\S"), 3),
]
_SENTENCE_END = re.compile(r"[。；;！？!?：:，,、]$")
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？；;!?])|(?<=\.)\s+(?=[A-Z])")


def heading_level(block: Block) -> int | None:
    """The inferred heading level of a paragraph that looks like a heading, else ``None``.

    A heading here is short (at most 40 characters), does not end like a sentence, and is either
    wholly bold/underlined or opens with a chapter number (``第三章``, ``三、``, ``（二）``, ``3.2``).
    """
    if block.kind not in ("para", "item") or block.kind == "item" and block.level > 0:
        return None
    text = block.text
    if len(text) > 40 or _SENTENCE_END.search(text) or len(text) < 2 or re.search(r"[：:]\s*\S", text):
        return None
    whole = bool(block.marks) and sum(e - s for s, e in block.marks) >= len(text) - 2
    for pattern, level in _CHAPTER:
        m = pattern.match(text)
        if m:
            if level == 0:
                level = min(6, m.group(0).count(".") + 2)
            if block.kind == "item" and not whole:
                return None
            return level
    if whole and block.kind == "para":
        return 3
    return None


@dataclass
class Paragraph:
    """A non-heading block placed in the document: its section, number and offset."""

    block: Block
    index: int  # position in the blocks list
    section: int  # index into sections
    number: int  # 1-based within the section
    offset: int  # character offset in the document text


@dataclass
class Section:
    """A heading and the paragraphs below it (up to the next heading of any level)."""

    index: int
    heading: str | None
    level: int
    parent: int | None
    offset: int
    path: tuple[str, ...]  # headings from the top down to this one
    paragraphs: list[int] = field(default_factory=list)  # indices into Layout.paragraphs


@dataclass
class Layout:
    """Sections and paragraphs of a document, and its joined text."""

    text: str
    sections: list[Section]
    paragraphs: list[Paragraph]
    blocks: list[Block]


def layout(blocks: list[Block]) -> Layout:
    """Infer headings, then split the blocks into sections and numbered paragraphs."""
    levels = [heading_level(b) for b in blocks]
    # a run of three or more inferred headings with nothing between them is a table of contents
    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and levels[j]:
            j += 1
        if j - i >= 3:
            levels[i:j] = [None] * (j - i)
        i = j + 1
    fixed: list[Block] = []
    for b, level in zip(blocks, levels):
        fixed.append(Block("heading", b.text, level=level, marks=b.marks, links=b.links, page=b.page) if level else b)
    sections = [Section(0, None, 0, None, 0, ())]
    paragraphs: list[Paragraph] = []
    stack: list[int] = []
    pieces: list[str] = []
    offset = 0
    for i, b in enumerate(fixed):
        if b.kind == "heading":
            while stack and sections[stack[-1]].level >= b.level:
                stack.pop()
            parent = stack[-1] if stack else None
            path = (sections[parent].path if parent is not None else ()) + (b.text,)
            sections.append(Section(len(sections), b.text, b.level, parent, offset, path))
            stack.append(len(sections) - 1)
        else:
            sec = sections[-1]
            paragraphs.append(Paragraph(b, i, sec.index, len(sec.paragraphs) + 1, offset))
            sec.paragraphs.append(len(paragraphs) - 1)
        pieces.append(b.text)
        offset += len(b.text) + 1
    return Layout("\n".join(pieces), sections, paragraphs, fixed)


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a block's text (split after 。！？；!?; and before a capital after '.')."""
    out: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_SPLIT.finditer(text):
        end = m.start()
        if end > start and text[start:end].strip():
            out.append((start, end))
        start = m.end()
    if start < len(text) and text[start:].strip():
        out.append((start, len(text)))
    return out or [(0, len(text))]


def sentence_at(text: str, pos: int) -> tuple[int, int]:
    """The sentence of ``text`` that holds position ``pos``."""
    for start, end in sentences(text):
        if start <= pos < end:
            return start, end
    return 0, len(text)
