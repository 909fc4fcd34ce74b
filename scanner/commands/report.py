"""``piscan report RESULT.json -f FORMAT -o FILE``: render a saved result again (HTML, JSON, SARIF, PDF)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError, UsageError
from ..report.i18n import DEFAULT_LANG, LANGS
from ..report.interface import FORMATS, render
from ..result import load_result
from .paths import created_only_on_success, input_file, output_file, write_error

REPORT_EPILOG = (
    "\b\nExamples:\n"
    "  piscan report case-17/result.json -o case-17/report-en.html --lang en\n"
    "  piscan report case-17/result.json -f pdf -o case-17/report.pdf\n\n"
    "Exit codes: 0 written; 2 usage error (bad option, -o cannot be written, no Chromium for pdf); "
    "3 RESULT.json missing, unreadable or not a valid PIScan result; 4 internal error (please report it)."
)


@click.command("report", epilog=REPORT_EPILOG)
@click.argument("result_path", metavar="RESULT.json", type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True, help="Output format.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), metavar="FILE",
              help="File to write (atomically; written only if rendering succeeds); - prints html, json or sarif "
                   "to standard output.")
@click.option("--lang", type=click.Choice(LANGS), default=DEFAULT_LANG, show_default=True, help="Report language (html, pdf, sarif).")
@click.option("--unmask", is_flag=True, help="Show raw PI values where the result stores them (masked by default).")
def report(result_path: Path, fmt: str, out: Path, lang: str, unmask: bool) -> int:
    """Render RESULT.json (written by `piscan scan`) as HTML, JSON, SARIF or PDF.

    RESULT.json is checked against the result schema first, so a damaged or hand-edited file is
    refused with the first problem found. PDF output prints the HTML report with headless
    Chromium (Debian package `chromium`).
    """
    from ..schema import validation_errors

    to_stdout = str(out) == "-"
    if to_stdout and fmt == "pdf":
        raise UsageError("-o -: a PDF is not printed to standard output; give a file name")
    if not to_stdout:
        output_file(out)
    result = load_result(input_file(result_path, "a PIScan result.json"))
    errors = validation_errors(result)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"not a valid PIScan result: {errors[0]}{more}", result_path)
    from ..case.review import with_review
    from ..traffic.offline import default_expected_fingerprint

    # the examiner's verdicts beside the result (review.jsonl) are shown with it, checked first
    result = with_review(result, result_path, expected_fingerprint=default_expected_fingerprint())
    if to_stdout:
        click.echo(report_text(result, fmt, lang=lang, unmask=unmask), nl=False)
        return 0
    with created_only_on_success(out.parent):
        try:
            render(result, fmt, out, lang=lang, unmask=unmask)
        except OSError as exc:
            raise write_error(out, exc) from None
    click.echo(f"piscan: wrote {fmt} report to {out}", err=True)
    return 0


def report_text(result: dict, fmt: str, *, lang: str, unmask: bool) -> str:
    """A text report (html, json or sarif) as a string, for ``-o -``."""
    from ..report.i18n import check_lang

    check_lang(lang)
    if fmt == "html":
        from ..report.html import render_html

        return render_html(result, lang=lang, unmask=unmask)
    if fmt == "json":
        from ..report.json_ import render_json

        return render_json(result)
    from ..report.sarif import render_sarif

    return render_sarif(result, lang=lang)
