"""The format-neutral shape every policy reader produces: a flat list of text blocks.

A reader (Markdown, HTML, PDF, plain text) turns a document into :class:`Block` s in reading
order: headings, paragraphs, list items and table rows. Each block carries its plain text, the
spans of it that were bold or underlined, the links it held and, for table rows, its cells and
the header of its table. Extraction (:mod:`scanner.policy.extract`) works on blocks only, so it
never sees HTML, Markdown or PDF objects.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

#: a span of a block's text: (start, end) character offsets, end exclusive
Span = tuple[int, int]

#: most blocks one document may yield (a hostile document cannot make extraction quadratic)
MAX_BLOCKS = 40_000
#: most characters of text one document may yield; the rest is dropped with a limitation
MAX_TEXT_CHARS = 3_000_000

_WS = re.compile(r"[ \t\u00a0\u3000\r\f\v]+")
_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")


@dataclass(frozen=True)
class Block:
    """One unit of text in reading order.

    ``kind`` is ``heading``, ``para``, ``item`` (list item) or ``row`` (table row). ``level`` is
    the heading level (1 = top) or the nesting depth of a list item (0 = top). For a row,
    ``cells`` are the cell texts, ``text`` is the cells joined by `` | `` and ``header`` the
    cells of its table's first row (empty for the header row itself and for tables without one).
    """

    kind: str
    text: str
    level: int = 0
    marks: tuple[Span, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    cells: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    table: int = -1
    page: int | None = None

    def marked(self, start: int, end: int) -> bool:
        """Whether the span ``start:end`` of the text overlaps a bold or underlined span."""
        return any(s < end and start < e for s, e in self.marks)


@dataclass
class ParsedDoc:
    """A document read into blocks, with what its reader could and could not see."""

    format: str
    blocks: list[Block] = field(default_factory=list)
    title_hint: str | None = None
    #: True when the format can show bold or underline (HTML, Markdown), False for plain text,
    #: None when it can but the reader cannot tell (PDF fonts without a bold face)
    marks_supported: bool | None = True
    pages: int | None = None
    pages_without_text: list[int] = field(default_factory=list)
    truncated: str | None = None


def clean_space(text: str) -> str:
    """Collapse runs of blanks to one space and strip; drop spaces between two CJK characters."""
    text = _WS.sub(" ", text).strip()
    if " " in text and _CJK.search(text):
        text = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])", "", text)
    return text


def join_lines(a: str, b: str) -> str:
    """Join two wrapped lines: no space between CJK text, one space between Latin words."""
    if not a:
        return b
    if not b:
        return a
    if _CJK.match(a[-1]) or _CJK.match(b[0]):
        return a + b
    return a + " " + b


class BlockSink:
    """Collects blocks under the document budgets; records where it had to stop."""

    def __init__(self, doc: ParsedDoc) -> None:
        self.doc = doc
        self.chars = 0
        self.stopped = False

    @property
    def full(self) -> bool:
        """True once a block or character budget is exhausted (further blocks are dropped)."""
        return self.stopped

    def add(self, block: Block) -> None:
        """Append ``block`` unless it is empty or a budget is exhausted."""
        if self.full or not block.text:
            return
        if len(self.doc.blocks) >= MAX_BLOCKS:
            self.doc.truncated = f"more than {MAX_BLOCKS} blocks; the rest was not read"
            self.stopped = True
            return
        self.chars += len(block.text)
        if self.chars > MAX_TEXT_CHARS:
            self.doc.truncated = f"more than {MAX_TEXT_CHARS} characters of text; the rest was not read"
            self.stopped = True
            return
        self.doc.blocks.append(block)


def normalise(text: str, marks: list[Span] | tuple[Span, ...] = ()) -> tuple[str, tuple[Span, ...]]:
    """:func:`clean_space` that also moves the marked spans to the cleaned text."""
    if not marks:
        return clean_space(text), ()
    keep: list[int] = []  # new index -> old index
    out: list[str] = []
    prev_space = True
    for i, ch in enumerate(text):
        if ch in " \t\u00a0\u3000\r\f\v\n":
            if not prev_space:
                out.append(" ")
                keep.append(i)
            prev_space = True
            continue
        if prev_space and out and out[-1] == " " and len(out) >= 2 and _CJK.match(out[-2]) and _CJK.match(ch):
            out.pop()
            keep.pop()
        out.append(ch)
        keep.append(i)
        prev_space = False
    while out and out[-1] == " ":
        out.pop()
        keep.pop()
    new_marks: list[Span] = []
    for s, e in marks:
        ns, ne = bisect.bisect_left(keep, s), bisect.bisect_left(keep, e)
        if ne > ns:
            new_marks.append((ns, ne))
    return "".join(out), tuple(new_marks)


def split_lines(text: str, marks: list[Span] | tuple[Span, ...] = ()) -> list[tuple[str, tuple[Span, ...]]]:
    """Split at newlines; each line normalised, with the marks that fall inside it."""
    out: list[tuple[str, tuple[Span, ...]]] = []
    base = 0
    for line in text.split("\n"):
        end = base + len(line)
        local = [(max(s, base) - base, min(e, end) - base) for s, e in marks if s < end and base < e]
        cleaned = normalise(line, local)
        if cleaned[0]:
            out.append(cleaned)
        base = end + 1
    return out
