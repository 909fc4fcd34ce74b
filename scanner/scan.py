"""The scan pipeline: collectors -> facts -> rules -> findings.

:func:`run_scan` picks the first collector that accepts the input (``scanner.model.collector``),
starts the result with its facts, lets every joiner add its facts (a proxy session, a privacy
policy), records the necessary-PI decisions of the case's app type, evaluates the rule packs and
finishes the result. Renderers run afterwards on the finished result (``scanner.commands.scan``).
Collectors and joiners are configured by whoever builds them (the CLI, a test, a benchmark);
this module knows none of them.
"""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, UsageError
from .model.collector import CollectContext, Collector, FactBundle, Joiner, Progress, no_progress
from .result import add_limitation, add_pack, finish_result, new_result
from .rules.model import RuleSet


@dataclass(frozen=True)
class CaseInfo:
    """The case a scan belongs to (printed on the report; the category selects the NPI scope)."""

    case_id: str | None = None
    examiner: str | None = None
    category: str | None = None  #: an NPI app type: id or Chinese/English name
    source: str | None = None  #: where the examined input came from ("downloaded from … on …")


def default_collectors(*, deep: bool = False, reach_seconds: float = 30.0, wxid: str | None = None,
                       subpackages: Sequence[Path] = ()) -> list[Collector]:
    """The shipped collectors, in the order they are asked: mini-programs, then Android."""
    from .apk.collector import AndroidCollector
    from .miniprogram.collector import MiniProgramCollector

    return [MiniProgramCollector(wxid=wxid, subpackages=tuple(subpackages)),
            AndroidCollector(deep=deep, reach_seconds=reach_seconds)]


def choose_collector(target: Path, collectors: Sequence[Collector]) -> Collector:
    """The first collector that accepts ``target``; ``InputError`` with one line otherwise."""
    if not target.exists() and not target.is_symlink():
        raise InputError("no such file or directory", target)
    for collector in collectors:
        if collector.accepts(target):
            return collector
    if target.is_dir():
        raise InputError(
            "is a directory; expected an APK, a .wxapkg file or a mini-program source folder (with app.json)",
            target,
        )
    raise InputError("not a regular file (a FIFO, device or socket); expected an APK or a .wxapkg file", target)


def run_scan(
    target: Path,
    *,
    collectors: Sequence[Collector],
    ruleset: RuleSet,
    out_dir: Path,
    command: Sequence[str],
    joiners: Sequence[Joiner] = (),
    case: CaseInfo = CaseInfo(),
    reproducible: bool = False,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Scan ``target`` and return the finished result (not yet written).

    Files a collector unpacks go to a staging folder inside ``out_dir`` that becomes
    ``out_dir/unpacked`` only when the scan succeeds.
    """
    collector = choose_collector(target, collectors)
    category = _resolve_category(case.category)
    with gc_paused():
        with staged_dir(out_dir, "unpacked") as staging:
            bundle = collector.collect(CollectContext(target=target, work_dir=staging, progress=progress))
        result = new_result(command=list(command), inputs=list(bundle.inputs), case_id=case.case_id,
                            examiner=case.examiner, category=category, source=case.source, reproducible=reproducible)
        merge_bundle(result, bundle)
        for joiner in joiners:
            merge_bundle(result, joiner.join(result, progress))
        _record_vocabulary_packs(result)
        _evaluate_rules(result, ruleset, progress)
    return finish_result(result, reproducible=reproducible)


def merge_bundle(result: dict[str, Any], bundle: FactBundle) -> None:
    """Add a collector's or joiner's facts, inputs, limitations and packs to ``result``."""
    if bundle.app is not None:
        result["app"] = bundle.app
    result["facts"].update(bundle.sections)
    for row in bundle.inputs:
        if row not in result["provenance"]["inputs"]:
            result["provenance"]["inputs"].append(row)
    for limitation in bundle.limitations:
        add_limitation(result, limitation)
    for row in bundle.packs:
        add_pack(result, pack_id=row["id"], kind=row["kind"], version=row["version"], sha256=row["sha256"])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend Python's cyclic garbage collector for the block (reference counting still frees).

    A scan builds hundreds of thousands of small long-lived tuples (DEX method tables, call
    graph edges); every full collection would walk all of them again, which cost about a quarter
    of the run time on a 30-DEX app. The collector is restored, as it was, when the block exits.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def staged_dir(out_dir: Path, name: str) -> Iterator[Path]:
    """A staging folder inside ``out_dir`` that becomes ``out_dir/name`` only if the block succeeds.

    On failure the staging folder is removed, and so is ``out_dir`` when this call created it,
    so a failed scan leaves nothing behind. An empty staging folder (the collector unpacked
    nothing) is removed instead of kept.
    """
    created = not out_dir.exists()
    staging = out_dir / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"{out_dir}: cannot write the output folder: {exc.strerror or exc}") from None
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    if not any(staging.iterdir()):
        staging.rmdir()
        return
    final = out_dir / name
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def _resolve_category(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from .rules.categories import resolve_category

    return resolve_category(value)


def _evaluate_rules(result: dict[str, Any], ruleset: RuleSet, progress: Progress) -> None:
    from .rules.categories import record_necessity
    from .rules.engine import evaluate

    progress("evaluating rule packs")
    record_necessity(result)
    evaluate(result, ruleset)


def _record_vocabulary_packs(result: dict[str, Any]) -> None:
    from .model.terms import terms
    from .pi import vocabulary

    vocab, model = vocabulary(), terms()
    add_pack(result, pack_id="pi-types", kind="vocabulary", version=vocab.version, sha256=vocab.sha256)
    add_pack(result, pack_id="model", kind="vocabulary", version=model.version, sha256=model.sha256)
