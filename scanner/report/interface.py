"""One small renderer interface and the one mapping from format name to renderer.

``render(result, fmt, out, lang=..., unmask=...)`` is what the CLI and ``piscan scan --format``
call. Renderer modules are imported on first use (the PDF renderer drives Chromium, the JSON one
loads the schema), so choosing a format costs only what that format needs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError
from .i18n import check_lang


@dataclass(frozen=True)
class OutputFormat:
    """One output format: its renderer (``module:class``, imported on first use) and the file name
    ``piscan scan`` writes it to in the output folder."""

    name: str
    renderer: str
    file_name: str


#: the one output registry: ``piscan scan --format`` and ``piscan report -f`` read it
OUTPUTS: tuple[OutputFormat, ...] = (
    OutputFormat("html", "scanner.report.html:HtmlRenderer", "report.html"),
    OutputFormat("json", "scanner.report.json_:JsonRenderer", "result.json"),
    OutputFormat("sarif", "scanner.report.sarif:SarifRenderer", "result.sarif"),
    OutputFormat("pdf", "scanner.report.pdf:PdfRenderer", "report.pdf"),
)
#: format name -> "module:class" of its renderer
RENDERERS: dict[str, str] = {o.name: o.renderer for o in OUTPUTS}
#: format name -> the file ``piscan scan`` writes it to
OUTPUT_FILES: dict[str, str] = {o.name: o.file_name for o in OUTPUTS}
FORMATS: tuple[str, ...] = tuple(RENDERERS)


class Renderer(Protocol):
    """Writes one output format of a result."""

    name: str
    suffix: str

    def render(self, result: dict[str, Any], out: Path, *, lang: str, unmask: bool) -> None:
        """Render ``result`` and write it atomically to ``out``."""


def renderer_for(fmt: str) -> Renderer:
    """The renderer of ``fmt``; ``UsageError`` listing the valid formats when unknown."""
    target = RENDERERS.get(fmt)
    if target is None:
        raise UsageError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
    module_name, attr = target.split(":")
    renderer: Renderer = getattr(importlib.import_module(module_name), attr)()
    return renderer


def render(result: dict[str, Any], fmt: str, out: Path, *, lang: str = "zh-CN", unmask: bool = False) -> None:
    """Render ``result`` as ``fmt`` (one of :data:`FORMATS`) into ``out``, written atomically.

    Raises ``UsageError`` for an unknown format or language; the PDF renderer raises
    ``UsageError`` naming the Debian package ``chromium`` when no Chromium is installed.
    """
    renderer = renderer_for(fmt)
    check_lang(lang)
    renderer.render(result, Path(out), lang=lang, unmask=unmask)
