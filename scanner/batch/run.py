"""Run a batch: expand the inputs, skip what the store already holds, scan the rest, write the overview.

Scans run locally (:class:`scanner.batch.pool.LocalPool`) or on a Dask distributed cluster
(``dask_address``), whose workers run the same isolated scan (:func:`scanner.batch.pool.run_one`)
and send the output files back; either way the outcomes go into the same store, one transaction
per scan.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .inputs import Job
from .overview import write_overview
from .pool import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, LocalPool, run_one
from .store import Store
from .work import BatchOptions, scan_key


@dataclass(frozen=True)
class BatchPlan:
    """What a batch run does."""

    jobs: list[Job]
    out_dir: Path
    options: BatchOptions
    workers: int = 2
    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT
    rescan: bool = False
    retry_failed: bool = False
    dask_address: str | None = None


@dataclass
class BatchSummary:
    """Counts of a finished (or interrupted) run."""

    total: int = 0
    skipped: int = 0
    complete: int = 0
    incomplete: int = 0
    failed: int = 0
    seconds: float = 0.0


def _clean_partials(out_dir: Path) -> None:
    """Remove the partial folders of scans a crash or Ctrl-C left in flight."""
    for leftover in out_dir.glob(".*.partial-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _write_files(out_dir: Path, outcome: dict[str, Any]) -> None:
    files = outcome.pop("files", None)
    if files is None or outcome.get("status") == "failed":
        return
    sha = outcome["job"]["sha256"]
    staging = out_dir / f".{sha}.partial-remote"
    shutil.rmtree(staging, ignore_errors=True)
    for name, data in files.items():
        target = (staging / name).resolve()
        if staging.resolve() not in target.parents:
            raise UsageError(f"a worker sent an output path outside the batch folder: {name!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    final = out_dir / sha
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def _dask_outcomes(plan: BatchPlan, pending: list[Job], on_start: Callable[[Job], None]) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UsageError("--dask needs the cluster extra: pip install 'piscan[cluster]'") from None
    try:
        client = Client(plan.dask_address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--dask {plan.dask_address}: cannot reach the scheduler: {exc}") from None
    try:
        futures = []
        for job in pending:
            futures.append(client.submit(run_one, job.to_json(), str(plan.out_dir), plan.options.to_json(),
                                         plan.time_limit, plan.memory_limit, pure=False, key=f"piscan-{job.sha256}"))
            on_start(job)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()


def run_batch(plan: BatchPlan, *, on_start: Callable[[Job], None] = lambda job: None,
              on_done: Callable[[dict[str, Any], BatchSummary], None] = lambda outcome, summary: None) -> BatchSummary:
    """Scan every job not already in the store (all with ``rescan``); write the overview at the end."""
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    _clean_partials(plan.out_dir)
    store = Store(plan.out_dir)
    summary = BatchSummary(total=len(plan.jobs))
    started = time.monotonic()
    try:
        pending = [j for j in plan.jobs
                   if plan.rescan or not store.done(j.sha256, scan_key(j, plan.options), retry_failed=plan.retry_failed)]
        summary.skipped = len(plan.jobs) - len(pending)
        if plan.dask_address:
            outcomes = _dask_outcomes(plan, pending, on_start)
        else:
            outcomes = LocalPool(str(plan.out_dir), plan.options, plan.workers, plan.time_limit,
                                 plan.memory_limit).run(pending, on_start)
        for outcome in outcomes:
            _write_files(plan.out_dir, outcome)
            store.record(outcome)
            setattr(summary, outcome["status"], getattr(summary, outcome["status"]) + 1)
            on_done(outcome, summary)
        write_overview(store, plan.out_dir)
    finally:
        summary.seconds = time.monotonic() - started
        store.close()
    return summary
