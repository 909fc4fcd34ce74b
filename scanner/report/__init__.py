"""Renderers: turn a result (facts + findings) into HTML, JSON, SARIF or PDF.

Public API: :func:`render` and :data:`FORMATS` (see :mod:`scanner.report.interface`).
"""

from .interface import FORMATS, render

__all__ = ["FORMATS", "render"]
