"""Inline markup of Markdown and HTML fragments: plain text, bold/underline spans and links.

Used by the Markdown reader for every line and by both readers for table cells. Bold is
``**x**``/``__x__``/``<b>``/``<strong>``; underline is ``<u>``/``<ins>``. Italic (``*x*``,
``_x_``, ``<i>``, ``<em>``) is emphasis but not the bold or underline that GB/T 35273 and
PIPL art. 17 expect for sensitive PI, so it is dropped. ``<br>`` becomes a newline.
"""

from __future__ import annotations

import html
import re

from .blocks import Span

_TOKEN = re.compile(
    r"(\*\*|__(?=\S)|(?<=\S)__|<\s*/?\s*(?:u|b|strong|ins)\s*>|<\s*br\s*/?\s*>"
    r"|!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)|\[[^\]\n]{0,2000}\]\([^)\s\n]{0,2000}(?:\s+\"[^\"\n]*\")?\)|<[^>\n]{0,2000}>)",
    re.IGNORECASE,
)
_ITALIC = re.compile(r"(?<![\w*])[*_](?=\S)([^*_\n]{1,200}?)(?<=\S)[*_](?![\w*])")
_REF_LINK = re.compile(r"\[([^\]\n]{1,200})\]\[[^\]\n]{0,50}\]")
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s\n]*)(?:\s+\"[^\"\n]*\")?\)")


def parse_inline(source: str) -> tuple[str, list[Span], list[tuple[str, str]]]:
    """Plain text of a Markdown/HTML inline fragment, its marked spans and its links.

    Returns ``(text, marks, links)``; marks are offsets into ``text``; links are
    ``(link text, url)``. Unbalanced markers simply end at the end of the fragment.
    """
    # reference-style links "[text][label]" keep their text
    source = _REF_LINK.sub(r"\1", source)
    out: list[str] = []
    pos = 0
    length = 0
    bold = False
    under = 0
    start: int | None = None
    marks: list[Span] = []
    links: list[tuple[str, str]] = []

    def emit(piece: str) -> None:
        nonlocal length
        piece = html.unescape(_ITALIC.sub(r"\1", piece))
        out.append(piece)
        length += len(piece)

    def toggle() -> None:
        nonlocal start
        on = bold or under > 0
        if on and start is None:
            start = length
        elif not on and start is not None:
            if length > start:
                marks.append((start, length))
            start = None

    for m in _TOKEN.finditer(source):
        emit(source[pos:m.start()])
        pos = m.end()
        tok = m.group(0)
        low = tok.lower().replace(" ", "")
        if tok in ("**", "__"):
            bold = not bold
            toggle()
        elif low in ("<b>", "<strong>"):
            bold = True
            toggle()
        elif low in ("</b>", "</strong>"):
            bold = False
            toggle()
        elif low in ("<u>", "<ins>"):
            under += 1
            toggle()
        elif low in ("</u>", "</ins>"):
            under = max(0, under - 1)
            toggle()
        elif low.startswith("<br"):
            emit("\n")
        elif tok.startswith("!["):
            continue
        elif tok.startswith("["):
            link = _LINK.match(tok)
            if link:
                text, url = link.group(1), link.group(2)
                inner, inner_marks, _ = parse_inline(text)
                if inner.strip():
                    base = length
                    emit(inner)
                    marks.extend((base + s, base + e) for s, e in inner_marks)
                if url:
                    links.append((inner.strip(), html.unescape(url)))
        # any other tag is dropped
    emit(source[pos:])
    if start is not None and length > start:
        marks.append((start, length))
    return "".join(out), marks, links
