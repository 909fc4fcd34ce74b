"""HTML renderer: one self-contained file (inline CSS, no scripts, fonts or images) from Jinja2.

The environment has autoescape on and ``StrictUndefined``; the template receives the plain-text
view model of :mod:`scanner.report.view`. A Content-Security-Policy meta tag (``default-src
'none'; style-src 'unsafe-inline'``) keeps the page from loading or running anything even if a
value ever escaped.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .. import __version__
from ..result import write_atomic
from ..safeio import visible
from .i18n import check_lang, labels
from .text import Translator, css_string
from .view import ViewBuilder

TEMPLATE = "report.html.j2"


@cache
def environment() -> jinja2.Environment:
    """The report Jinja2 environment (autoescape on, undefined names are errors, and every
    plain string shown with its control and bidi characters made visible: app strings and
    file names are attacker-controlled, and U+202E can make a name display reversed)."""
    from ..resources import templates_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_visible,
    )


def _visible(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def _page_footer(t: Translator) -> Markup:
    # Built from css_string pieces only, so it is safe to place unescaped inside <style>.
    if t.lang == "zh-CN":
        text = f'{css_string("第 ")} counter(page) {css_string(" 页，共 ")} counter(pages) {css_string(" 页")}'
    else:
        text = f'{css_string("page ")} counter(page) {css_string(" of ")} counter(pages)'
    return Markup(text)  # noqa: S704 - every character outside [A-Za-z0-9 ] is CSS-escaped


def html_context(result: dict[str, Any], *, lang: str = "zh-CN", unmask: bool = False) -> dict[str, Any]:
    """The template context for ``result`` (exposed for tests and for a later comparison view)."""
    check_lang(lang)
    context = ViewBuilder(result, lang, unmask).build(__version__)
    t = Translator(labels(), lang)
    context["page_header"] = Markup(context["page_header"])  # noqa: S704 - produced by css_string
    context["page_footer"] = _page_footer(t)
    context["t"] = t
    context["colon"] = "：" if lang == "zh-CN" else ": "
    return context


def render_html(result: dict[str, Any], *, lang: str = "zh-CN", unmask: bool = False) -> str:
    """The HTML report for ``result`` as text."""
    return environment().get_template(TEMPLATE).render(html_context(result, lang=lang, unmask=unmask))


class HtmlRenderer:
    """Writes the self-contained HTML report."""

    name = "html"
    suffix = ".html"

    def render(self, result: dict[str, Any], out: Path, *, lang: str, unmask: bool) -> None:
        """Render ``result`` and write it atomically to ``out``."""
        write_atomic(out, render_html(result, lang=lang, unmask=unmask))
