"""``piscan report RESULT.json -f FORMAT -o FILE``: render a saved result again (HTML, JSON, SARIF, PDF)."""

from __future__ import annotations

from pathlib import Path

import click

from ..report.i18n import DEFAULT_LANG, LANGS
from ..report.interface import FORMATS, render
from ..result import load_result


@click.command("report")
@click.argument("result_path", metavar="RESULT.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True, help="Output format.")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write (atomically).")
@click.option("--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, show_default=True, help="Report language (html, pdf, sarif).")
@click.option("--unmask", is_flag=True, help="Show raw PI values where the result stores them (masked by default).")
def report(result_path: Path, fmt: str, out: Path, lang: str, unmask: bool) -> int:
    """Render RESULT.json (written by `piscan scan`) as HTML, JSON, SARIF or PDF.

    PDF output prints the HTML report with headless Chromium (Debian package `chromium`).
    """
    result = load_result(result_path)
    render(result, fmt, out, lang=lang, unmask=unmask)
    click.echo(f"piscan: wrote {fmt} report to {out}", err=True)
    return 0
