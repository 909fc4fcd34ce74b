"""Normalisation of rendered reports for golden-file comparison."""

from __future__ import annotations

import re


def normalise_html(html: str) -> str:
    """Blank out the renderer's own version (the result's tool version stays: it is evidence)."""
    html = re.sub(r'(<meta name="generator" content="PIScan )[^"]*(")', r"\1X\2", html)
    return re.sub(r'(<footer class="report-foot">.*?PIScan )\S+( ·)', r"\1X\2", html)
