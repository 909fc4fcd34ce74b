"""Text PDFs into blocks, with PDFium (pypdfium2).

Why PDFium: measured on the corpus's Xiaomi PDFs against their Markdown versions
(docs/architecture.md), it reads the CJK text as completely as pdfminer.six and pypdf, keeps
words on one line where pypdf splits every text run, drops the duplicated glyphs that "fake
bold" headings are drawn with (pdfminer.six and pypdf print such headings twice), and is about
thirty times faster.

Lines are grouped into paragraphs by font size and by whether the previous line ended a
sentence; a line in a larger font than the page's body text is a heading (the larger, the
higher). A page with no text (a scan) is recorded, so the comparison can say that part of the
declaration could not be read. Bold is known only where the PDF uses a bold font face; CJK text
is usually made bold by drawing it twice, which leaves no trace, so marks are "unknown" unless a
bold face is seen.
"""

from __future__ import annotations

import re
from collections import Counter

from .blocks import Block, BlockSink, ParsedDoc, clean_space, join_lines

#: most pages read from one PDF
MAX_PAGES = 400
_SENTENCE_END = re.compile(r"[。！？；：.!?;:]\s*$")
_NUMBERED_HEADING = re.compile(r"^\d{1,2}(\.\d{1,2}){1,4}\s*[^\d.\s]")
_ITEM_START = re.compile(r"^\s*(?:[•·●▪◦■□\-–*]|\(?\d{1,3}[.)、）]|（\d{1,3}）"
                         r"|[一二三四五六七八九十]{1,3}、|\([一二三四五六七八九十]{1,3}\)|（[一二三四五六七八九十]{1,3}）)")


def parse_pdf(data: bytes) -> ParsedDoc:
    """Read a PDF's text into a :class:`ParsedDoc`; ``ValueError`` if PDFium cannot open it."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = ParsedDoc(format="pdf", marks_supported=None)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ValueError(f"not a readable PDF ({exc})") from None
    try:
        count = len(pdf)
        doc.pages = count
        title = (pdf.get_metadata_dict() or {}).get("Title")
        if title and title.strip():
            doc.title_hint = title.strip()
        lines: list[tuple[int, str, float, bool]] = []  # page, text, font size, bold face seen
        for index in range(min(count, MAX_PAGES)):
            page = pdf[index]
            textpage = page.get_textpage()
            try:
                page_lines = _page_lines(textpage, raw)
            finally:
                textpage.close()
                page.close()
            if not page_lines:
                doc.pages_without_text.append(index + 1)
            lines.extend((index + 1, text, size, bold) for text, size, bold in page_lines)
        if count > MAX_PAGES:
            doc.truncated = f"{count} pages; only the first {MAX_PAGES} were read"
    finally:
        pdf.close()
    _to_blocks(lines, doc)
    return doc


def _page_lines(textpage: object, raw: object) -> list[tuple[str, float, bool]]:
    """The lines of one page: text, font size and bold face of the line's first visible character.

    The page text comes in one call; font facts are asked for one character per line only (a
    call per character would cost most of the time).
    """
    text = textpage.get_text_range()  # type: ignore[attr-defined]
    out: list[tuple[str, float, bool]] = []
    base = 0
    for line in text.split("\n"):
        end = base + len(line)
        stripped = line.rstrip("\r")
        visible = next((base + k for k, ch in enumerate(stripped) if not ch.isspace()), None)
        if visible is not None:
            size = round(raw.FPDFText_GetFontSize(textpage, visible), 1)  # type: ignore[attr-defined]
            bold = raw.FPDFText_GetFontWeight(textpage, visible) >= 600  # type: ignore[attr-defined]
            cleaned = clean_space(stripped.replace("\ufffe", "-"))  # PDFium marks a line-break hyphen U+FFFE
            if cleaned:
                out.append((cleaned, size, bold))
        base = end + 1
    return out


def _to_blocks(lines: list[tuple[int, str, float, bool]], doc: ParsedDoc) -> None:
    sink = BlockSink(doc)
    if not lines:
        return
    body = Counter(round(size) for _, _, size, _ in lines).most_common(1)[0][0]
    heading_sizes = sorted({round(size) for _, _, size, _ in lines if round(size) > body}, reverse=True)
    level_of = {size: min(6, i + 1) for i, size in enumerate(heading_sizes)}
    current: list[str] = []
    state = {"kind": "para", "page": 0, "bold": False, "size": 0, "level": 0}

    def flush() -> None:
        if current:
            text = ""
            for piece in current:
                text = join_lines(text, piece)
            marks = ((0, len(text)),) if state["bold"] else ()
            sink.add(Block(str(state["kind"]), text, level=int(state["level"]), marks=marks, page=int(state["page"])))
        current.clear()

    for page, text, size, bold in lines:
        level = level_of.get(round(size))
        if level is not None:
            same_heading = state["kind"] == "heading" and page == state["page"] and round(size) == state["size"]
            if not (same_heading and current):
                flush()
                state.update(kind="heading", page=page, bold=bold, size=round(size), level=level)
            current.append(text)
            continue
        if _NUMBERED_HEADING.match(text) and len(text) <= 40 and not _SENTENCE_END.search(text):
            flush()
            state.update(kind="heading", page=page, bold=bold, size=round(size), level=min(6, text.split()[0].count(".") + 2))
            current.append(text)
            flush()
            state.update(kind="para")
            continue
        starts_item = bool(_ITEM_START.match(text))
        if state["kind"] == "heading" or starts_item or not current or _SENTENCE_END.search(current[-1]):
            flush()
            state.update(kind="item" if starts_item else "para", page=page, bold=bold, size=round(size), level=0)
        else:
            state["bold"] = bool(state["bold"]) and bold
        current.append(text)
    flush()
