"""The batch overview: ``OUTDIR/index.html`` (zh-CN, and ``index.en.html``), ``apps.csv`` and ``apps.jsonl``.

Self-contained like the reports: inline CSS and SVG charts, one inline script (sorting and
filtering) allowed by its sha256 in the Content-Security-Policy, nothing loaded from anywhere.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .. import __version__
from ..datapack import load
from ..report.html import environment
from ..report.i18n import LABELS_KIND, Labels, check_lang
from ..report.text import Translator
from ..resources import templates_dir
from ..result import write_atomic
from .store import Store

EXPORT_COLUMNS = ("sha256", "path", "status", "error", "platform", "package", "name", "version_name", "version_code",
                  "sdk_count", "findings", "high", "medium", "low", "info", "manual_checks", "limitations",
                  "pre_consent_pi", "seconds", "report")
_CHART_ROWS = 15


@cache
def batch_labels() -> Labels:
    """The overview's labels (reports/batch-labels.yaml)."""
    return load(LABELS_KIND, templates_dir() / "batch-labels.yaml")


@cache
def _script() -> str:
    return (templates_dir() / "batch-index.js").read_text(encoding="utf-8")


def script_hash(script: str) -> str:
    """The CSP source allowing exactly ``script``."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def _report_link(row: dict[str, Any]) -> str | None:
    if row.get("out_dir") and row.get("status") != "failed":
        return f"{row['out_dir']}/report.html"
    return None


def export_rows(store: Store, out_dir: Path) -> list[dict[str, Any]]:
    """One plain row per input (latest scan), in the store's stable order."""
    rows = []
    for row in store.rows():
        report = _report_link(row)
        rows.append({col: (row.get(col) if col != "report" else (report if report and (out_dir / report).is_file() else None))
                     for col in EXPORT_COLUMNS})
    return rows


def _bars(items: list[tuple[str, int]]) -> tuple[list[dict[str, Any]], int]:
    top = items[:_CHART_ROWS]
    peak = max((v for _, v in top), default=1) or 1
    bars = [{"label": label[:40], "value": value, "y": 20 * i, "width": round(360 * value / peak)}
            for i, (label, value) in enumerate(top)]
    return bars, max(20, 20 * len(bars))


def render_index(store: Store, out_dir: Path, lang: str) -> str:
    """The overview page's HTML."""
    check_lang(lang)
    translate = Translator(batch_labels(), lang)

    def t(key: str) -> str:
        return translate("batch." + key)

    rows = []
    for row in export_rows(store, out_dir):
        status = str(row["status"])
        tested = row["package"] is not None
        rows.append({
            "sha256": row["sha256"], "name": row["name"] or Path(str(row["path"])).name, "package": row["package"] or "",
            "version": row["version_name"] or "", "sdk_count": row["sdk_count"] or 0, "high": row["high"] or 0,
            "medium": row["medium"] or 0, "low": row["low"] or 0,
            "pre_consent": t("answer.yes") if row["pre_consent_pi"] else (t("answer.no") if tested else t("answer.na")),
            "status": t(f"status.{status}"), "error": row["error"] or "", "report": row["report"],
            "search": " ".join(str(x) for x in (row["name"], row["package"], row["path"]) if x).lower(),
        })
    for sha, sdks in _sdks_by_scan(store).items():
        for item in rows:
            if item["sha256"] == sha:
                item["search"] += " " + " ".join(sdks).lower()
    counts = {s: sum(1 for r in store.rows() if r["status"] == s) for s in ("complete", "incomplete", "failed")}
    sdk_bars, sdk_height = _bars([(name, n) for _, name, n in store.sdk_counts()])
    legal_bars, legal_height = _bars([(f"{doc} {item}", n) for doc, item, n in store.legal_counts()])
    script = _script()
    return environment().get_template("batch-index.html.j2").render(
        t=t, rows=rows, html_lang="zh-CN" if lang == "zh-CN" else "en", renderer_version=__version__,
        counts_line=t("counts").format(total=len(rows), **counts),
        charts=[{"id": "chart-sdks", "title": t("chart.sdks"), "bars": sdk_bars, "height": sdk_height},
                {"id": "chart-legal", "title": t("chart.legal"), "bars": legal_bars, "height": legal_height}],
        script=Markup(script), script_hash=script_hash(script))  # noqa: S704 - our own shipped file, hashed in the CSP


def _sdks_by_scan(store: Store) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    sql = ("SELECT s.sha256, k.sdk_id, k.name FROM sdks k JOIN latest_scans s ON s.id = k.scan_id ORDER BY 1, 2")
    for sha, sdk_id, name in store.db.execute(sql):
        out.setdefault(sha, []).extend([sdk_id, name or ""])
    return out


def write_overview(store: Store, out_dir: Path) -> list[Path]:
    """Write index.html (zh-CN), index.en.html, apps.csv and apps.jsonl; returns the paths."""
    written = []
    for lang, name in (("zh-CN", "index.html"), ("en", "index.en.html")):
        write_atomic(out_dir / name, render_index(store, out_dir, lang))
        written.append(out_dir / name)
    rows = export_rows(store, out_dir)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(out_dir / "apps.csv", buffer.getvalue())
    write_atomic(out_dir / "apps.jsonl", "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
    return [*written, out_dir / "apps.csv", out_dir / "apps.jsonl"]
