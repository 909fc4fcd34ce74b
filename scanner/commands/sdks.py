"""``piscan sdks``: browse the SDK knowledge pack and match it against an APK.

* ``piscan sdks list [--category C] [--json]``
* ``piscan sdks show ID [--json]``
* ``piscan sdks match APP.apk [--all] [--json]``

``match`` runs the first stage of the Android collector (manifest, resources, DEX index, SDK and
packer detection: :meth:`scanner.apk.collector.AndroidCollector.inventory`) and stops before the
code facts, so its SDK list is exactly the one ``piscan scan`` reports, in a fraction of the time.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..sdk.pack import SdkPack, SdkRecord, load_sdk_pack
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


@sdks.command("match", epilog="\b\nExample:\n  piscan sdks match app.apk --all")
@click.argument("apk", type=click.Path(path_type=Path), metavar="APP.apk")
@click.option("--all", "show_all", is_flag=True, help="Also list open-source libraries (category 'library').")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (every SDK, libraries included, and packers).")
def match_cmd(apk: Path, show_all: bool, as_json: bool) -> None:
    """Detect the SDKs and packers in APP.apk, with confidence and the signals that matched."""
    from ..apk.collector import AndroidCollector

    pack = _pack()
    inventory = AndroidCollector().inventory(input_file(apk, "an APK file", allow_empty=True))
    rows, packers = inventory.sections["sdks"], inventory.sections["packers"]
    info = {
        "file": str(apk),
        "package": inventory.app.get("package"),
        "classes": len(inventory.index.class_names()),
        "unreadable_dex": [f"{row['name']}: {row['reason']}" for row in inventory.index.files if not row["readable"]],
    }
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
