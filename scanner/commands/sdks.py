"""``piscan sdks``: browse the SDK knowledge pack and match it against an APK.

* ``piscan sdks list [--category C] [--json]``
* ``piscan sdks show ID [--json]``
* ``piscan sdks match APP.apk [--all] [--json]``

``match`` reads only what SDK and packer detection need (manifest, native libraries, DEX class
names, URL strings in the DEX), so it answers in about a second even for a 24 MB APK; ``piscan scan``
runs the same detection as part of a full scan.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..sdk.detect import SdkEvidence, detect_sdks
from ..sdk.pack import SdkPack, SdkRecord, load_sdk_pack
from ..sdk.packers import PackerEvidence, detect_packers, load_packers
from .paths import input_file


def _pack() -> SdkPack:
    return load_sdk_pack()


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group("sdks", epilog=(
    "\b\nExamples:\n"
    "  piscan sdks list --category push\n"
    "  piscan sdks show umeng_analytics\n"
    "  piscan sdks match app.apk"))
def sdks() -> None:
    """Browse the SDK knowledge pack and match it against an APK."""


@sdks.command("list")
@click.option("--category", "-c", metavar="C", help="Only SDKs of this category (e.g. push, analytics).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(category: str | None, as_json: bool) -> None:
    """List the SDKs of the pack (id, category, name, vendor)."""
    pack = _pack()
    if category is not None and category not in pack.categories():
        raise UsageError(f"unknown category {category!r}; categories: {', '.join(pack.categories())}")
    rows = [s for s in pack.sdks if category is None or s.category == category]
    if as_json:
        _echo_json([{"id": s.id, "category": s.category, "name": s.name(), "vendor": s.vendor(), "origin": s.origin} for s in rows])
        return
    for s in rows:
        vendor = s.vendor()
        click.echo(f"{s.id}\t{s.category}\t{s.name_zh} / {s.name_en}\t{vendor['zh'] if vendor else '-'}")
    click.echo(f"{len(rows)} SDKs (pack {pack.id} {pack.version})", err=True)


def _close_matches(pack: SdkPack, sdk_id: str) -> list[str]:
    ids = [s.id for s in pack.sdks]
    close = difflib.get_close_matches(sdk_id.lower(), ids, n=5, cutoff=0.6)
    if not close:
        close = [i for i in ids if sdk_id.lower() in i][:5]
    return close


def _show_text(rec: SdkRecord) -> None:
    vendor = rec.vendor()
    click.echo(f"{rec.id}: {rec.name_zh} / {rec.name_en}")
    click.echo(f"  category: {rec.category}    origin: {rec.origin}")
    click.echo(f"  vendor: {vendor['zh'] + ' / ' + vendor['en'] if vendor else 'unknown'}")
    click.echo(f"  PI types: {', '.join(rec.pi_types) or '-'}")
    click.echo(f"  privacy policy: {rec.privacy_policy_url or '-'}")
    click.echo(f"  provenance: {', '.join(rec.provenance)}")
    for kind in ("code_prefix", "class_suffix", "component", "meta_data", "action", "native_lib", "host"):
        sigs = rec.of_kind(kind)
        if sigs:
            click.echo(f"  {kind}:")
            for sig in sigs:
                mark = " (regex)" if sig.regex else ""
                click.echo(f"    {sig.value}{mark}  [{', '.join(sig.sources)}]")


@sdks.command("show")
@click.argument("sdk_id")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def show_cmd(sdk_id: str, as_json: bool) -> None:
    """Show one SDK record with its signatures and where each came from."""
    pack = _pack()
    rec = pack.get(sdk_id)
    if rec is None:
        close = _close_matches(pack, sdk_id)
        hint = f"; did you mean: {', '.join(close)}" if close else "; see 'piscan sdks list'"
        raise UsageError(f"no SDK {sdk_id!r} in the pack{hint}")
    if as_json:
        _echo_json(rec.to_json())
    else:
        _show_text(rec)


def collect_match_evidence(path: Path) -> tuple[dict[str, Any], SdkEvidence, PackerEvidence]:
    """Open an APK and gather what SDK and packer detection need (no full static scan)."""
    from ..apk.archive import open_apk
    from ..apk.code import dex_entry_names
    from ..apk.dex import DexError, DexFile, dotted
    from ..apk.endpoints import find_endpoints
    from ..apk.labels import ResourceTable
    from ..apk.manifest import parse_manifest

    apk = open_apk(path)
    manifest = parse_manifest(apk.apk.get_android_manifest_xml(), ResourceTable(apk.apk))
    classes: set[str] = set()
    string_sources = []
    unreadable = []
    for name in dex_entry_names(apk.entries):
        try:
            dex = DexFile(name, apk.read(name))
            classes.update(dotted(dex.type_name(c.type_idx)) for c in dex.class_defs())
            # every URL, host and e-mail contains a dot: decode only those strings
            string_sources.append((name, "dex", list(dex.strings_with(b"."))))
        except DexError as exc:
            unreadable.append(f"{name}: {exc.message}")
    hosts = sorted({e.host for e in find_endpoints(string_sources) if e.host})
    components = sorted({c.name for c in manifest.components})
    actions = sorted({a for c in manifest.components for f in c.intent_filters for a in f.actions})
    libs = sorted({e.rsplit("/", 1)[-1] for e in apk.entries if e.startswith("lib/") and e.endswith(".so")})
    class_names = sorted(classes)
    info = {"file": str(path), "package": manifest.package, "classes": len(class_names), "unreadable_dex": unreadable}
    evidence = SdkEvidence(
        class_names=class_names,
        components=components,
        meta_data_keys=sorted({k for k, _v in manifest.meta_data}),
        intent_actions=actions,
        native_libs=libs,
        hosts=hosts,
        package_name=manifest.package,
    )
    packer_ev = PackerEvidence(entries=apk.entries, class_names=class_names, application_class=manifest.application_class, components=components)
    return info, evidence, packer_ev


@sdks.command("match", epilog="\b\nExample:\n  piscan sdks match app.apk --all")
@click.argument("apk", type=click.Path(path_type=Path), metavar="APP.apk")
@click.option("--all", "show_all", is_flag=True, help="Also list open-source libraries (category 'library').")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every SDK, libraries included, and packers).")
def match_cmd(apk: Path, show_all: bool, as_json: bool) -> None:
    """Detect the SDKs and packers in APP.apk, with confidence and the signals that matched."""
    pack = _pack()
    info, evidence, packer_ev = collect_match_evidence(input_file(apk, "an APK file", allow_empty=True))
    rows = detect_sdks(pack, evidence)
    packers = detect_packers(load_packers(), packer_ev)
    if as_json:
        _echo_json({
            "app": info,
            "pack": {"id": pack.id, "version": pack.version, "sha256": pack.sha256},
            "sdks": rows,
            "packers": packers,
        })
        return
    click.echo(f"{info['package']}: {info['classes']} classes; pack {pack.id} {pack.version}")
    for problem in info["unreadable_dex"]:
        click.echo(f"  ! unreadable DEX {problem}")
    for p in packers:
        click.echo(f"PACKER {p['packer_id']}: {p['name']} ({', '.join(s['value'] for s in p['signals'])}); code facts are incomplete")
    shown = [r for r in rows if show_all or r["category"] != "library"]
    for r in shown:
        vendor = r["vendor"]["zh"] if r["vendor"] else "-"
        click.echo(f"{r['sdk_id']}  [{r['category']}, {r['confidence']}]  {r['name']['zh']} / {r['name']['en']}  ({vendor})")
        for s in r["signals"]:
            click.echo(f"    {s['kind']}: {s['value']}" + (f"  ({s['detail']})" if s["detail"] else ""))
    hidden = len(rows) - len(shown)
    if hidden:
        click.echo(f"({hidden} open-source libraries not listed; use --all)")
