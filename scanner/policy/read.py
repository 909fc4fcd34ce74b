"""Open a policy document: check its size, detect its format, decode it, and read it into blocks.

Formats: ``html`` (a saved web page), ``pdf`` (a text PDF), ``markdown`` and ``text`` (plain text
copied from an app's privacy dialog). The format comes from the content first (``%PDF-``, an
HTML tag near the start, Markdown headings or tables), then from the file name. Text is decoded
as UTF-8 (with or without BOM), UTF-16 with a BOM, or GB18030, the encodings Chinese policy
texts come in; anything else is refused with one line. Every document is hostile: its size is
capped before it is read, and the readers cap blocks, characters, pages and nesting depth.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from .blocks import Block, BlockSink, ParsedDoc, clean_space
from .htmldoc import decode_html, parse_html
from .markdown import parse_markdown
from .pdfdoc import parse_pdf

#: largest document file read (bytes); policy texts are tens of kilobytes, PDFs a few megabytes
MAX_FILE_BYTES = 32 * 1024 * 1024
FORMATS = ("html", "pdf", "markdown", "text")

_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|meta|div|p|table|h[1-6])[\s>]", re.I | re.S)
_MD_HINT = re.compile(r"^(#{1,6}\s|\|.*\|\s*$|[*+-]\s|\*\*)", re.M)


def detect_format(data: bytes, name: str = "") -> str:
    """``pdf``, ``html``, ``markdown`` or ``text`` for a document's bytes (and its file name)."""
    head = data[:2048].lstrip(b"\xef\xbb\xbf")
    if head.startswith(b"%PDF-"):
        return "pdf"
    if _HTML_START.match(head[:1024]):
        return "html"
    suffix = Path(name).suffix.lower()
    if suffix in (".htm", ".html", ".xhtml", ".mhtml"):
        return "html"
    if suffix in (".md", ".markdown", ".mdown"):
        return "markdown"
    if suffix == ".pdf":
        return "pdf"
    sample = head.decode("utf-8", errors="ignore")
    if suffix not in (".txt", ".text") and len(_MD_HINT.findall(sample)) >= 2:
        return "markdown"
    return "text"


def decode_text(data: bytes) -> str:
    """Decode a text document: UTF-8 (BOM optional), UTF-16 with BOM, else GB18030; ``ValueError`` otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("not valid UTF-16 text") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ValueError("not text in UTF-8, UTF-16 or GB18030") from None
    if "\x00" in text[:4096]:
        raise ValueError("binary data, not a text document")
    return text


def parse_text(text: str) -> ParsedDoc:
    """Plain text: one block per non-empty line (the privacy dialog's own line breaks)."""
    doc = ParsedDoc(format="text", marks_supported=False)
    sink = BlockSink(doc)
    for line in text.splitlines():
        cleaned = clean_space(line)
        if cleaned:
            sink.add(Block("para", cleaned))
        if sink.full:
            break
    return doc


def parse_document(data: bytes, fmt: str) -> ParsedDoc:
    """Read bytes of a known format into blocks; ``ValueError`` with a one-line reason when unreadable."""
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{len(data)} bytes; documents over {MAX_FILE_BYTES} bytes are not read")
    if fmt == "pdf":
        return parse_pdf(data)
    if fmt == "html":
        return parse_html(decode_html(data))
    text = decode_text(data)
    return parse_markdown(text) if fmt == "markdown" else parse_text(text)


def read_document(path: str | Path) -> tuple[bytes, str, ParsedDoc]:
    """Read a document file: its bytes, format and blocks; :class:`InputError` naming the file otherwise."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise InputError("not a regular file", p)
        if size > MAX_FILE_BYTES:
            raise InputError(f"{size} bytes; documents over {MAX_FILE_BYTES} bytes are not read", p)
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", p) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", p) from None
    if not data.strip():
        raise InputError("empty document", p)
    fmt = detect_format(data, p.name)
    try:
        parsed = parse_document(data, fmt)
    except ValueError as exc:
        raise InputError(str(exc), p) from None
    if not parsed.blocks:
        scanned = f" ({len(parsed.pages_without_text)} page(s) without a text layer: scanned images?)" if parsed.pages_without_text else ""
        raise InputError(f"no text found in this {fmt} document{scanned}", p)
    return data, fmt, parsed
