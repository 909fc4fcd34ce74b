"""The scan pipeline: collectors -> facts -> rules -> findings, for an APK or a mini-program.

This module only orchestrates; every stage lives in its own module:
``scanner.apk`` (manifest, certificates, DEX index, call sites, reachability), ``scanner.sdk``
(SDK pack, detection, attribution, packers), ``scanner.miniprogram``, ``scanner.traffic``
(joined proxy sessions) and ``scanner.rules`` (findings). Renderers run afterwards on the
finished result (``scanner.commands.scan``).
"""

from __future__ import annotations

import gc
import shutil
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InputError
from .result import Limitation, add_limitation, add_pack, finish_result, new_result

WXAPKG_MAGIC = b"\xbe"
WXAPKG_ENCRYPTED_MAGIC = b"V1MMWX"
MINIPROGRAM_MARKERS = ("app.json", "app-config.json", "game.json", "project.config.json", "app-service.js")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ScanOptions:
    """Everything ``piscan scan`` was asked to do."""

    input: Path
    out_dir: Path
    command: Sequence[str]
    category: str | None = None
    case_id: str | None = None
    examiner: str | None = None
    reproducible: bool = False
    deep: bool = False
    session: Path | None = None
    session_verification: Any = None  #: the session's verify outcome, when the caller already has it
    rules_dirs: Sequence[Path] = ()
    disabled: Sequence[str] = ()
    wxid: str | None = None
    subpackages: Sequence[Path] = ()
    reach_seconds: float = 30.0
    progress: Progress = field(default=lambda _msg: None)


def input_kind(path: Path) -> str:
    """Classify the input as ``apk``, ``wxapkg`` or ``miniprogram-dir``; ``InputError`` otherwise."""
    if not path.exists():
        raise InputError("no such file or directory", path)
    if path.is_dir():
        if any((path / marker).is_file() for marker in MINIPROGRAM_MARKERS) or (path / "miniprogram").is_dir():
            return "miniprogram-dir"
        raise InputError(
            "is a directory; expected an APK, a .wxapkg file or a mini-program source folder (with app.json)",
            path,
        )
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path) from None
    if head.startswith(WXAPKG_ENCRYPTED_MAGIC) or path.suffix.lower() == ".wxapkg":
        return "wxapkg"
    if head[:1] == WXAPKG_MAGIC and not zipfile.is_zipfile(path):
        return "wxapkg"
    return "apk"


def run_scan(options: ScanOptions) -> dict[str, Any]:
    """Scan the input named in ``options`` and return the finished result (not yet written)."""
    kind = input_kind(options.input)
    category = _resolve_category(options.category)
    with gc_paused():
        if kind == "apk":
            result = _scan_android(options, category)
        else:
            result = _scan_miniprogram(options, category)
        if options.session is not None:
            _join_session(result, options.session, options.progress, options.session_verification)
        _evaluate_rules(result, options)
    return finish_result(result, reproducible=options.reproducible)


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


def _resolve_category(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from .rules.categories import resolve_category

    return resolve_category(value)


def _scan_android(options: ScanOptions, category: dict[str, Any] | None) -> dict[str, Any]:
    from .apk.archive import open_apk
    from .apk.catalogue import load_catalogue
    from .apk.code import analyse_code, load_dex_index
    from .apk.endpoints import extract_endpoints
    from .apk.static import collect_static
    from .sdk.attribution import Attributor
    from .sdk.detect import detect_sdks, evidence_from_facts
    from .sdk.pack import load_sdk_pack
    from .sdk.packers import detect_packers, load_packers

    progress = options.progress
    progress(f"reading {options.input.name}")
    apk = open_apk(options.input)
    result = new_result(
        command=list(options.command),
        inputs=[{"role": "apk", "name": options.input.name, **apk.digests}],
        case_id=options.case_id,
        examiner=options.examiner,
        category=category,
        reproducible=options.reproducible,
    )
    static = collect_static(apk)
    result["app"] = static.app
    result["facts"].update(static.sections)
    _add_limitations(result, static.limitations)
    for row in static.packs:
        add_pack(result, **row)

    progress("indexing DEX code")
    index = load_dex_index(apk)
    _add_limitations(result, index.limitations)
    dex_endpoints = extract_endpoints(_dex_string_sources(index))
    result["facts"]["endpoints"] = merge_endpoints(result["facts"].get("endpoints", []), dex_endpoints)

    progress("detecting SDKs and packers")
    pack = load_sdk_pack()
    packer_table = load_packers()
    add_pack(result, **pack.provenance_row())
    add_pack(result, **packer_table.provenance_row())
    evidence = replace(
        evidence_from_facts(result["app"], result["facts"], index.class_names()),
        asset_names=list(apk.entries),
    )
    sdks = detect_sdks(pack, evidence)
    packers = detect_packers(packer_table, evidence)
    result["facts"]["sdks"] = sdks
    result["facts"]["packers"] = packers
    for packer in packers:
        add_limitation(
            result,
            Limitation(
                kind="packed",
                detail=f"code is protected by the packer {packer['name']}; call sites and SDK code may be hidden",
                where=packer["packer_id"],
            ),
        )

    progress("finding sensitive API call sites and pre-consent reachability")
    catalogue = load_catalogue()
    add_pack(result, **catalogue.pack_row())
    attributor = Attributor(pack, sdks, result["app"].get("first_party_prefixes", []))
    code = analyse_code(
        index,
        catalogue,
        static.entry_points,
        attributor.owner_of_class,
        deep=options.deep,
        apk_path=options.input,
        max_seconds=options.reach_seconds,
    )
    result["facts"].update(code.sections)
    _add_limitations(result, code.limitations)
    _record_vocabulary_packs(result)
    return result


def _scan_miniprogram(options: ScanOptions, category: dict[str, Any] | None) -> dict[str, Any]:
    from .miniprogram.collect import collect_miniprogram

    options.progress(f"reading mini-program {options.input.name}")
    with staged_dir(options.out_dir, "unpacked") as staging:
        facts = collect_miniprogram(
            options.input,
            wxid=options.wxid,
            subpackages=list(options.subpackages),
            unpack_dir=staging,
        )
    result = new_result(
        command=list(options.command),
        inputs=list(facts.inputs),
        case_id=options.case_id,
        examiner=options.examiner,
        category=category,
        reproducible=options.reproducible,
    )
    result["app"] = facts.app
    result["facts"].update(facts.sections)
    _add_limitations(result, facts.limitations)
    for row in facts.packs:
        add_pack(result, pack_id=row["id"], kind=row["kind"], version=row["version"], sha256=row["sha256"])
    _record_vocabulary_packs(result)
    return result


@contextmanager
def staged_dir(out_dir: Path, name: str) -> Iterator[Path]:
    """A staging folder inside ``out_dir`` that becomes ``out_dir/name`` only if the block succeeds.

    On failure the staging folder is removed, and so is ``out_dir`` when this call created it,
    so a failed scan leaves nothing behind.
    """
    created = not out_dir.exists()
    staging = out_dir / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    final = out_dir / name
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def _join_session(result: dict[str, Any], session: Path, progress: Progress, verification: Any = None) -> None:
    from .traffic.offline import session_facts

    progress(f"joining proxy session {session}")
    traffic, limitations = session_facts(session, first_party_prefixes=result["app"].get("first_party_prefixes", []),
                                         verification=verification)
    result["facts"]["traffic"] = traffic
    _add_limitations(result, limitations)
    seen = {obs["party"].get("sdk_id") for obs in traffic.get("observations", []) if obs["party"].get("sdk_id")}
    for sdk in result["facts"].get("sdks", []):
        sdk["seen_in_traffic"] = sdk["sdk_id"] in seen


def _evaluate_rules(result: dict[str, Any], options: ScanOptions) -> None:
    from .rules.engine import evaluate
    from .rules.loader import load_packs

    options.progress("evaluating rule packs")
    ruleset = load_packs(list(options.rules_dirs), disabled=list(options.disabled))
    evaluate(result, ruleset)


def _record_vocabulary_packs(result: dict[str, Any]) -> None:
    from .hashing import sha256_bytes
    from .pi import vocabulary
    from .resources import rules_dir

    data = (rules_dir() / "pi-types.yaml").read_bytes()
    add_pack(result, pack_id="pi-types", kind="vocabulary", version=vocabulary().version, sha256=sha256_bytes(data))


def _add_limitations(result: dict[str, Any], limitations: Sequence[Limitation]) -> None:
    for limitation in limitations:
        add_limitation(result, limitation)


def _dex_string_sources(index: Any) -> list[tuple[str, str, Iterator[str]]]:
    # Every URL, host name and e-mail address has a dot (the endpoint scanner skips strings
    # without one), so only those strings are decoded, lazily, one DEX at a time.
    dexes = sorted((dex for dex in index.dexes if dex.string_count), key=lambda dex: dex.name)
    return [(dex.name, "dex", dex.strings_with(b".")) for dex in dexes]


def merge_endpoints(*lists: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Union endpoint facts by id, merging their source files; sorted by kind and value."""
    merged: dict[str, dict[str, Any]] = {}
    for rows in lists:
        for row in rows:
            current = merged.get(row["id"])
            if current is None:
                merged[row["id"]] = {**row, "sources": list(row["sources"])}
                continue
            for source in row["sources"]:
                if source not in current["sources"]:
                    current["sources"].append(source)
    for row in merged.values():
        row["sources"].sort(key=lambda s: (s["kind"], s["file"]))
    return sorted(merged.values(), key=lambda r: (r["kind"], r["value"]))
