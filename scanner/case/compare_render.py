"""Renderers of a re-test comparison: JSON, SARIF 2.1.0 with baseline states, and HTML (复测报告)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..datapack import load
from ..report.html import environment
from ..report.i18n import LABELS_KIND, Labels, check_lang, labels, pick
from ..report.text import Translator
from ..resources import templates_dir
from ..result import write_atomic

TEMPLATE = "compare.html.j2"
COMPARE_FORMATS = ("html", "json", "sarif")
#: SARIF baselineState per comparison state
BASELINE = {"new": "new", "still_present": "unchanged", "changed": "updated", "fixed": "absent"}


@cache
def compare_labels() -> Labels:
    """The comparison report's labels (reports/compare-labels.yaml, the label-table format)."""
    return load(LABELS_KIND, templates_dir() / "compare-labels.yaml")


def render_json(comparison: dict[str, Any]) -> str:
    """The comparison as UTF-8 JSON text."""
    return json.dumps(comparison, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def render_sarif(comparison: dict[str, Any], *, lang: str = "zh-CN") -> str:
    """SARIF 2.1.0: every finding of either side with its ``baselineState``."""
    results = []
    for row in comparison["findings"]:
        results.append({
            "ruleId": row["rule_id"],
            "level": {"high": "error", "medium": "warning"}.get(str(row["severity"]), "note"),
            "message": {"text": pick(row.get("title"), lang)},
            "baselineState": BASELINE[row["state"]],
            "partialFingerprints": {"piscanFindingId": str(row["id"])},
            "properties": {"state": row["state"], "evidence": row["evidence"],
                           **({"previousId": row["previous_id"]} if row.get("previous_id") else {})},
        })
    log = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
           "runs": [{"tool": {"driver": {"name": "PIScan", "version": __version__, "informationUri": "https://pypi.org/"}},
                     "language": lang, "results": results,
                     "properties": {"comparison": {k: comparison[k] for k in ("old", "new", "counts")}}}]}
    return json.dumps(log, ensure_ascii=False, indent=2) + "\n"


def render_html(comparison: dict[str, Any], *, lang: str = "zh-CN") -> str:
    """The self-contained 复测 HTML (autoescaped, no scripts)."""
    check_lang(lang)

    translate = Translator(compare_labels(), lang)

    def t(key: str) -> str:
        return translate("compare." + key)

    rows = [{**row, "title_text": pick(row.get("title"), lang),
             "legal_text": "; ".join(f"{r.get('doc')} {r.get('item')}" for r in row.get("legal_refs") or [])}
            for row in comparison["findings"]]
    return environment().get_template(TEMPLATE).render(
        c=comparison, rows=rows, t=t, main=Translator(labels(), lang), lang=lang, html_lang="zh-CN" if lang == "zh-CN" else "en",
        renderer_version=__version__)


def write_comparison(comparison: dict[str, Any], fmt: str, out: Path, *, lang: str = "zh-CN") -> None:
    """Render ``comparison`` as ``fmt`` and write it atomically to ``out``."""
    text = {"json": lambda: render_json(comparison), "sarif": lambda: render_sarif(comparison, lang=lang),
            "html": lambda: render_html(comparison, lang=lang)}[fmt]()
    write_atomic(out, text)
