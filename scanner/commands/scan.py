"""``piscan scan``: scan an APK, a wxapkg or a mini-program folder and write result.json + reports."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..budgets import scan_limits
from ..errors import EXIT_CODES_HELP, ExitCode, UsageError
from ..model.terms import terms
from ..report.interface import OUTPUT_FILES
from .paths import created_only_on_success, input_dir, input_file, output_dir, pack_location, write_error

if TYPE_CHECKING:
    from ..rules.model import RuleSet

FAIL_ON_CHOICES = ("never", *reversed(terms().severity_ids))


def parse_formats(value: str) -> tuple[str, ...]:
    """Parse ``--format json,html`` into a de-duplicated tuple; ``UsageError`` naming valid ones."""
    formats: list[str] = []
    for part in value.split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name not in OUTPUT_FILES:
            raise UsageError(f"--format: unknown format {name!r}; valid: {', '.join(OUTPUT_FILES)}")
        if name not in formats:
            formats.append(name)
    if not formats:
        raise UsageError(f"--format: give at least one of {', '.join(OUTPUT_FILES)}")
    return tuple(formats)


SCAN_EPILOG = (
    "\b\nExamples:\n"
    "  piscan scan app.apk -o case-17 --category 30 --case-id 2026-017\n"
    "  piscan scan app.apk -o case-17 --session piscan-session -f json,html,pdf\n"
    "  piscan scan __APP__.wxapkg --subpackage _pkgA_.wxapkg -o mp-out\n"
    "  piscan scan app.apk -o ci-out --fail-on high --reproducible\n\n"
    + EXIT_CODES_HELP
)


@click.command(epilog=SCAN_EPILOG)
@click.argument("target", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), metavar="DIRECTORY", default=Path("piscan-out"),
              show_default=True, help="Output folder, created if missing; nothing is written outside it.")
@click.option("-f", "--format", "formats", default="json,html", show_default=True, metavar="LIST",
              help="Comma-separated outputs: json, html, sarif, pdf (json is always written).")
@click.option("--category", metavar="TYPE", help="App type from the 2021 necessary-PI rules: id 1-39 or its Chinese/English name.")
@click.option("--case-id", metavar="ID", help="Case identifier printed on the report.")
@click.option("--examiner", metavar="NAME", help="Examiner's name printed on the report.")
@click.option("--source", "input_source", metavar="TEXT",
              help="Where the input came from, for the chain of custody (e.g. \"downloaded from the Huawei AppGallery "
                   "on 2026-12-01 by J. Wang\"); recorded in result.json and printed on the report.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="zh-CN", show_default=True,
              help="Report language.")
@click.option("--unmask", is_flag=True, help="Show PI values unmasked in reports.")
@click.option("--session", type=click.Path(path_type=Path), metavar="DIRECTORY",
              help="Join a proxy session directory (piscan proxy --session) with the static facts; it must pass "
                   "`piscan verify`.")
@click.option("--accept-unverified", is_flag=True,
              help="Join a --session that fails `piscan verify` anyway; the result and reports say so.")
@click.option("--session-app-unverified", "session_app_unverified", is_flag=True,
              help="Join a --session recorded for another app or for none (piscan proxy without --apk/--package); "
                   "every traffic finding then says that the session is not bound to this app.")
@click.option("--policy", "policies", multiple=True, metavar="[ROLE=]FILE",
              help="A privacy-policy document to hold against the app (repeatable): a saved web page, a text PDF, "
                   "Markdown or plain text. Its role (privacy-policy, sdk-list, pi-list, permission-list, "
                   "children-policy, summary) is recognised from the content, or set as sdk-list=FILE.")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule-pack folder or file (repeatable).")
@click.option("--disable", "disabled", multiple=True, metavar="RULE", help="Disable a rule by id (repeatable).")
@click.option("--deep", is_flag=True, help="Add smali around each call site using androguard's full analysis (slow).")
@click.option("--wxid", metavar="APPID", help="Mini-program AppID (wx…) used to decrypt a PC-WeChat (V1MMWX) package.")
@click.option("--subpackage", "subpackages", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Mini-program subpackage .wxapkg to scan with the main package (repeatable).")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="never", show_default=True,
              help="Exit 1 when a finding at or above this severity exists.")
@click.option("--strict", is_flag=True, help="Exit 3 when the result is incomplete (packed code, unreadable parts).")
@click.option("--reproducible", is_flag=True, help="Pin times and host name so the same input gives identical files.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr except errors.")
def scan(target: Path, out_dir: Path, formats: str, category: str | None, case_id: str | None,
         examiner: str | None, lang: str, unmask: bool, session: Path | None, rules_dirs: tuple[Path, ...],
         disabled: tuple[str, ...], deep: bool, policies: tuple[str, ...], wxid: str | None, subpackages: tuple[Path, ...], fail_on: str,
         strict: bool, reproducible: bool, quiet: bool, accept_unverified: bool = False,
         session_app_unverified: bool = False, input_source: str | None = None) -> int:
    """Scan TARGET (an .apk, a .wxapkg, or a mini-program source folder).

    Writes OUT/result.json (the canonical, schema-checked result) and the requested reports.
    Files are written only when the scan succeeds; a folder OUT created by a failed scan is
    removed again. Progress is shown when stderr is a terminal.
    """
    from ..rules.engine import fails
    from ..scan import CaseInfo, default_collectors, run_scan

    wanted = parse_formats(formats)
    collectors = default_collectors(deep=deep, wxid=wxid, subpackages=subpackages)
    ruleset = preflight(target, out_dir, wanted, collectors, category=category, session=session,
                        rules_dirs=rules_dirs, disabled=disabled, subpackages=subpackages,
                        session_app_unverified=session_app_unverified)
    documents = policy_documents(policies)
    verification = None
    if session is not None:
        from ..traffic.offline import session_gate

        verification = session_gate(session, accept_unverified)
    # progress is for a person watching a terminal (scanner/progress.py): stage names, and a
    # seconds counter for a stage over 2 s; redirected stderr keeps to the summary or the error
    from ..progress import TerminalProgress

    progress = TerminalProgress(enabled=not quiet and sys.stderr.isatty())

    joiners = []
    if session is not None:
        from ..traffic.joiner import SessionJoiner

        joiners.append(SessionJoiner(session, verification, allow_unverified_app=session_app_unverified))
    from ..policy.joiner import PolicyJoiner

    # after the session: the comparison sees the traffic; documents inside the APK and policy
    # pages received in the session are read even when no --policy is given
    joiners.append(PolicyJoiner(documents, apk=target if target.is_file() else None, session=session))
    try:
        with created_only_on_success(out_dir), scan_limits():
            result = run_scan(target, collectors=collectors, joiners=joiners, ruleset=ruleset, out_dir=out_dir,
                              command=invoked_command(), case=CaseInfo(case_id, examiner, category, input_source),
                              reproducible=reproducible, progress=progress)
            progress("writing the outputs")
            write_outputs(result, out_dir, wanted, lang=lang, unmask=unmask)
    finally:
        progress.close()
    _print_summary(result, out_dir, wanted, quiet)
    if strict and not result["complete"]:
        click.echo("piscan: result is incomplete (see limitations) and --strict was given", err=True)
        return int(ExitCode.INPUT)
    if fails(result, fail_on):
        return int(ExitCode.FINDINGS)
    return int(ExitCode.OK)


def preflight(target: Path, out_dir: Path, formats: tuple[str, ...], collectors: list, *, category: str | None,
              session: Path | None, rules_dirs: tuple[Path, ...], disabled: tuple[str, ...],
              subpackages: tuple[Path, ...], session_app_unverified: bool = False) -> RuleSet:
    """Reject bad inputs, options and output folders before the (possibly long) scan starts;
    return the rule set the scan will use."""
    from ..rules.loader import load_packs
    from ..scan import choose_collector

    choose_collector(target, collectors)  # one line for a missing path, a plain folder, a FIFO or device
    if not target.is_dir():
        input_file(target, "an APK or a .wxapkg file", allow_empty=True)
    for sub in subpackages:
        input_file(sub, "a subpackage .wxapkg file")
    if session is not None:
        from ..traffic.joiner import require_recorded_app

        require_recorded_app(input_dir(session, "a proxy session folder"), session_app_unverified)
    if category is not None:
        from ..rules.categories import resolve_category

        resolve_category(category)
    ruleset = load_packs([pack_location(d) for d in rules_dirs], disabled=list(disabled))
    if "pdf" in formats:
        from ..report.chromium import require_chromium

        require_chromium("--format pdf")
    output_dir(out_dir)
    for fmt in ("json", *formats):
        if (out_dir / OUTPUT_FILES[fmt]).is_dir():
            raise UsageError(f"-o {out_dir}: {OUTPUT_FILES[fmt]} in it is a folder; cannot write the {fmt} output")
    return ruleset


def policy_documents(specs: tuple[str, ...]) -> list[tuple[str | None, Path]]:
    """``--policy [ROLE=]FILE`` values as (role, path), each path checked as a readable file."""
    from ..policy import parse_policy_spec

    out: list[tuple[str | None, Path]] = []
    for spec in specs:
        role, path = parse_policy_spec(spec)
        out.append((role, input_file(Path(path), "a privacy-policy document (HTML, PDF, Markdown or text)")))
    return out


def write_outputs(result: dict, out_dir: Path, formats: tuple[str, ...], *, lang: str, unmask: bool) -> None:
    """Write result.json and the reports into ``out_dir``: all of them, or none.

    Each file is first written under a hidden partial name; only when every format rendered are
    they renamed into place, so a failing renderer leaves earlier results in ``out_dir`` untouched.
    """
    from ..report import render

    staged: list[tuple[Path, Path]] = []
    try:
        for fmt in ("json", *[f for f in formats if f != "json"]):
            final = out_dir / OUTPUT_FILES[fmt]
            partial = out_dir / f".{final.stem}.partial{final.suffix}"
            staged.append((partial, final))
            render(result, fmt, partial, lang=lang, unmask=unmask)  # json: schema-checked first
    except OSError as exc:
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise write_error(out_dir, exc) from None
    except BaseException:
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise
    for partial, final in staged:
        os.replace(partial, final)


def invoked_command() -> list[str]:
    """The command line as the user typed it (``main`` stores argv in the context object)."""
    obj = click.get_current_context().find_root().obj
    if isinstance(obj, dict) and "argv" in obj:
        return ["piscan", *obj["argv"]]
    return ["piscan", *sys.argv[1:]]


def _print_summary(result: dict, out_dir: Path, formats: tuple[str, ...], quiet: bool) -> None:
    if quiet:
        return
    counts = {sev: 0 for sev in terms().severity_ids}
    for finding in result["findings"]:
        counts[finding["severity"]] += 1
    parts = ", ".join(f"{sev} {n}" for sev, n in counts.items())
    status = "complete" if result["complete"] else f"INCOMPLETE ({len(result['limitations'])} limitations)"
    click.echo(f"piscan: {len(result['findings'])} findings ({parts}); "
               f"{len(result['manual_checks'])} manual checks; {status}", err=True)
    for fmt in ("json", *[f for f in formats if f != "json"]):
        click.echo(f"piscan: wrote {out_dir / OUTPUT_FILES[fmt]}", err=True)
