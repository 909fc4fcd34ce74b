"""Small real PDFs for tests, written with PDFium (pypdfium2): text pages and blank (scanned-like) pages."""

from __future__ import annotations

import io


def make_pdf(pages: list[str | None]) -> bytes:
    """A PDF with one page per entry: a line of text (Helvetica), or a blank page for ``None``."""
    import ctypes

    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument.new()
    for text in pages:
        page = pdf.new_page(595, 842)
        if text is not None:
            obj = raw.FPDFPageObj_NewTextObj(pdf.raw, b"Helvetica", ctypes.c_float(12))
            buf = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
            raw.FPDFText_SetText(obj, ctypes.cast(buf, ctypes.POINTER(raw.FPDF_WCHAR)))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, 700)
            raw.FPDFPage_InsertObject(page.raw, obj)
            raw.FPDFPage_GenerateContent(page.raw)
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    return out.getvalue()
