"""``piscan batch INPUT... -o OUTDIR`` and ``piscan batch query OUTDIR``: sweeps over many apps."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from ..errors import ExitCode, UsageError
from .scan import parse_formats

BATCH_EPILOG = (
    "\b\nExamples:\n"
    "  piscan batch apps/ -o sweep-2026-12                   every APK/wxapkg/mini-program under apps/\n"
    "  piscan batch @list.txt --manifest apps.csv -o sweep     per-app --category/--policy from CSV\n"
    "  piscan batch apps/ -o sweep --jobs 4 --time-limit 600 --memory-limit 3072\n"
    "  piscan batch apps/ -o sweep --dask tcp://scheduler:8786\n"
    "  piscan batch query sweep --sdk umeng\n\n"
    "Resumable: an input already scanned with the same tool, packs and options is skipped (--rescan\n"
    "forces). Each scan runs in its own process with a time and a memory limit; a scan that hangs\n"
    "or exhausts memory is recorded as failed and the batch goes on.\n"
    "Exit codes: 0 every input scanned (complete or incomplete); 1 some scans failed (see the store);\n"
    "  2 usage error; 3 an input path is missing or unreadable; 130 interrupted (finished scans are kept)."
)


class _BatchGroup(click.Group):
    """``piscan batch INPUT...`` runs a batch; ``piscan batch query`` reads one."""

    default_command = "run"  #: what a first word that names no sub-command means

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group("batch", cls=_BatchGroup, epilog=BATCH_EPILOG)
def batch() -> None:
    """Scan many apps into one folder with a result store, an overview page and CSV/JSONL exports."""


def _progress(total: int) -> tuple[Any, Any]:
    tty = sys.stderr.isatty()
    began = time.monotonic()

    def on_start(job: Any) -> None:
        if not tty:
            click.echo(f"piscan: scanning {job.path}", err=True)

    def on_done(outcome: dict[str, Any], summary: Any) -> None:
        done = summary.complete + summary.incomplete + summary.failed
        todo = total - summary.skipped
        elapsed = time.monotonic() - began
        eta = elapsed / done * (todo - done) if done else 0.0
        line = (f"{done}/{todo} scanned, {summary.failed} failed, {summary.skipped} skipped; "
                f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
        if tty:
            width = 30
            filled = int(width * done / max(1, todo))
            click.echo(f"\r[{'#' * filled}{'.' * (width - filled)}] {line}", err=True, nl=done == todo)
        else:
            status = outcome["status"] + (f": {outcome['error']}" if outcome.get("error") else "")
            click.echo(f"piscan: {outcome['job']['path']}: {status} ({outcome['seconds']:.1f} s); {line}", err=True)

    return on_start, on_done


@batch.command("run", epilog=BATCH_EPILOG)
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(path_type=Path), metavar="OUTDIR",
              help="Batch folder: one sub-folder per input (by sha256), the store, index.html, apps.csv, apps.jsonl.")
@click.option("--manifest", type=click.Path(path_type=Path), metavar="CSV", help="CSV with columns path[,category,policy].")
@click.option("--category", metavar="TYPE", help="App type for every input without one in the manifest.")
@click.option("-f", "--format", "formats", default="json,html", show_default=True, metavar="LIST", help="Outputs per app.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="zh-CN", show_default=True)
@click.option("-j", "--jobs", default=2, show_default=True, type=click.IntRange(1, 256), help="Scans at once (local).")
@click.option("--time-limit", default=900.0, show_default=True, type=click.FloatRange(1), metavar="SECONDS",
              help="Per scan; a scan past it is stopped and recorded as failed.")
@click.option("--memory-limit", default=4096, show_default=True, type=click.IntRange(0), metavar="MiB",
              help="Address space per scan above the worker's own (0: no limit).")
@click.option("--rescan", is_flag=True, help="Scan every input again, even those already in the store.")
@click.option("--retry-failed", is_flag=True, help="Scan again the inputs whose last scan failed.")
@click.option("--reproducible", is_flag=True, help="Pin times and host names in the results.")
@click.option("--dask", "dask_address", metavar="ADDRESS", help="Send the scans to a Dask scheduler (tcp://host:8786).")
def run_cmd(inputs: tuple[str, ...], out_dir: Path, manifest: Path | None, category: str | None, formats: str, lang: str,
            jobs: int, time_limit: float, memory_limit: int, rescan: bool, retry_failed: bool, reproducible: bool,
            dask_address: str | None) -> int:
    """Scan every INPUT (files, folders searched recursively, @list files) into OUTDIR."""
    from ..batch.inputs import expand_inputs
    from ..batch.run import BatchPlan, run_batch
    from ..batch.work import BatchOptions
    from .paths import output_dir

    wanted = parse_formats(formats)
    if "pdf" in wanted:
        raise UsageError("--format pdf is not offered in batch mode (Chromium per app); render PDFs later with piscan report")
    if category is not None:
        from ..rules.categories import resolve_category

        resolve_category(category)
    output_dir(out_dir)
    job_list = expand_inputs(inputs, manifest=manifest, category=category)
    plan = BatchPlan(job_list, out_dir, BatchOptions(wanted, lang, reproducible), jobs, time_limit,
                     (memory_limit << 20) or None, rescan, retry_failed, dask_address)
    on_start, on_done = _progress(len(job_list))
    try:
        summary = run_batch(plan, on_start=on_start, on_done=on_done)
    except KeyboardInterrupt:
        click.echo("\npiscan: interrupted; finished scans are in the store, `piscan batch` again resumes", err=True)
        return 130
    click.echo(f"piscan: {summary.total} inputs: {summary.complete} complete, {summary.incomplete} incomplete, "
               f"{summary.failed} failed, {summary.skipped} already in the store ({summary.seconds:.1f} s); "
               f"wrote {out_dir / 'index.html'}", err=True)
    return int(ExitCode.FINDINGS) if summary.failed else int(ExitCode.OK)


@batch.command("query", epilog="\b\nExamples:\n  piscan batch query sweep --sdk umeng\n"
                                "  piscan batch query sweep --rule RD-3.1-api-before-ui --json\n"
                                "  piscan batch query sweep --legal PIPL-13")
@click.argument("out_dir", metavar="OUTDIR", type=click.Path(path_type=Path))
@click.option("--sdk", metavar="ID|NAME", help="Apps with this SDK (id or part of its name).")
@click.option("--rule", metavar="RULE_ID", help="Apps with a finding of this rule.")
@click.option("--legal", metavar="DOC-ITEM", help="Apps with a finding citing this legal item, e.g. PIPL-13 or RD.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def query_cmd(out_dir: Path, sdk: str | None, rule: str | None, legal: str | None, as_json: bool) -> int:
    """List the apps of a batch that match every given filter."""
    from ..batch.store import STORE_FILE, Store
    from ..errors import InputError

    if not (out_dir / STORE_FILE).is_file():
        raise InputError(f"no {STORE_FILE} here; run `piscan batch … -o {out_dir}` first", out_dir)
    store = Store(out_dir)
    try:
        rows = store.query(sdk=sdk, rule=rule, legal=legal)
    finally:
        store.close()
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
        else:
            click.echo(f"{row['package'] or '-'}\t{row['version_name'] or '-'}\t{row['status']}\t"
                       f"high {row['high'] or 0} medium {row['medium'] or 0} low {row['low'] or 0}\t{row['path']}")
    click.echo(f"piscan: {len(rows)} apps", err=True)
    return 0
