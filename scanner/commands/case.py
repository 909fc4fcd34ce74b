"""``piscan review | bundle | compare | verify``: the case workflow after a scan.

``review`` records the examiner's verdicts beside a result (never rewriting it); ``bundle`` seals a
case folder into one signed zip; ``verify`` checks a bundle (or a proxy session folder);
``compare`` reports a re-test (复测) against the original result, item by item.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import click

from ..errors import ExitCode, InputError, UsageError
from .paths import created_only_on_success, input_dir, input_file, output_file

REVIEW_EPILOG = (
    "\b\nExamples:\n"
    "  piscan review case-17/result.json                         ask for each open manual check\n"
    "  piscan review case-17/result.json --set RD-1.2=violation --note \"policy link hidden\" --attach shot.png\n"
    "  piscan review case-17/result.json --set F-67b1bfca47bc5168=disputed --note \"guarded by consent flag\"\n"
    "  piscan review case-17/result.json --show\n\n"
    "Verdicts on manual checks: violation, no_violation, not_applicable, undetermined. On automatic\n"
    "findings: confirmed, disputed (the finding stays as the tool wrote it).\n"
    "Exit codes: 0 recorded; 2 usage error (unknown id or verdict, no key); 3 unreadable result or attachment;\n"
    "  with --show, 3 when the review file does not verify."
)


@click.command("review", epilog=REVIEW_EPILOG)
@click.argument("result_path", metavar="RESULT.json", type=click.Path(path_type=Path))
@click.option("--set", "settings", multiple=True, metavar="ID=VERDICT", help="Record a verdict (repeatable).")
@click.option("--note", default="", help="The reason or observation (applies to each --set).")
@click.option("--attach", "attachments", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Screenshot or recording to attach (repeatable); copied beside the result with its sha256.")
@click.option("--examiner", default=lambda: os.environ.get("PISCAN_EXAMINER", ""), metavar="NAME",
              help="Who decides (default: $PISCAN_EXAMINER).")
@click.option("--key", "key_path", type=click.Path(path_type=Path), metavar="FILE", help="Examiner key (default: piscan key init's).")
@click.option("--show", is_flag=True, help="Print the current verdicts and check the review file.")
@click.option("--json", "as_json", is_flag=True, help="With --show: print JSON.")
def review(result_path: Path, settings: tuple[str, ...], note: str, attachments: tuple[Path, ...], examiner: str,
           key_path: Path | None, show: bool, as_json: bool) -> int:
    """Record the examiner's verdicts on manual checks and findings of RESULT.json.

    Verdicts go to review.jsonl beside the result: append-only, hash-chained and signed with the
    examiner key, so `piscan verify` notices any edit. Without --set, asks for each manual check
    that has no verdict yet.
    """
    from ..case.review import CHECK_VERDICTS, add_verdict, read_review
    from ..keys import load_key
    from ..result import load_result

    result = load_result(input_file(result_path, "a PIScan result.json"))
    if show:
        state = read_review(result_path)
        if as_json:
            click.echo(json.dumps(state.to_json(), ensure_ascii=False, indent=2))
        else:
            for verdict in sorted(state.current.values(), key=lambda v: (v.target_kind, v.target_id)):
                files = ", ".join(f"{a.name} (sha256 {a.sha256[:12]}…)" for a in verdict.attachments)
                click.echo(f"{verdict.target_id}: {verdict.verdict} by {verdict.examiner or verdict.fingerprint} "
                           f"at {verdict.time}{' — ' + verdict.note if verdict.note else ''}{' [' + files + ']' if files else ''}")
            for problem in state.problems:
                click.echo(f"PROBLEM: {problem}")
            click.echo(f"review: {state.records} records, {'verifies' if state.ok else 'DOES NOT VERIFY'}")
        return int(ExitCode.OK) if state.ok else int(ExitCode.INPUT)
    key = load_key(key_path)
    pairs: list[tuple[str, str, str]] = []
    for setting in settings:
        target, sep, verdict = setting.partition("=")
        if not sep or not target or not verdict:
            raise UsageError(f"--set {setting!r}: expected ID=VERDICT, e.g. RD-1.2=violation")
        pairs.append((target.strip(), verdict.strip(), note))
    if not pairs:
        decided = {k[1] for k in read_review(result_path).current}
        open_checks = [c for c in result.get("manual_checks") or [] if c.get("rule_id") not in decided]
        if not open_checks:
            click.echo("piscan: every manual check has a verdict", err=True)
            return 0
        for check in open_checks:
            title = (check.get("title") or {}).get("zh-CN", "")
            todo = (check.get("what_to_check") or {}).get("zh-CN", "")
            click.echo(f"\n{check['rule_id']}  {title}\n  {todo}")
            verdict = click.prompt("verdict (empty: skip)", type=click.Choice([*CHECK_VERDICTS, ""]), default="", show_default=False)
            if verdict:
                pairs.append((str(check["rule_id"]), verdict, click.prompt("note", default="", show_default=False)))
    for target, verdict, text in pairs:
        recorded = add_verdict(result_path, result, target, verdict, note=text, examiner=examiner, key=key,
                               attachments=attachments)
        click.echo(f"piscan: recorded {recorded.target_id} = {recorded.verdict} (record {recorded.seq})", err=True)
    return 0


BUNDLE_EPILOG = (
    "\b\nExamples:\n"
    "  piscan bundle case-17 -o case-17.zip\n"
    "  piscan bundle case-17 -o case-17.zip --hash-only          inputs listed by hash, not included\n"
    "  piscan bundle case-17 -o case-17.zip --input ~/apks/app.apk\n\n"
    "Exit codes: 0 written; 2 usage error (-o not writable, no key); 3 the case folder has no result, or holds\n"
    "  a link or special file, or an input changed while being read."
)


@click.command("bundle", epilog=BUNDLE_EPILOG)
@click.argument("case_dir", metavar="CASE_DIR", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), metavar="FILE.zip", help="Bundle to write.")
@click.option("--hash-only", is_flag=True, help="List the scanned inputs by hash; do not include them.")
@click.option("--input", "inputs", multiple=True, type=click.Path(path_type=Path), metavar="FILE",
              help="Where a scanned input is, when the recorded path no longer holds it (repeatable).")
@click.option("--key", "key_path", type=click.Path(path_type=Path), metavar="FILE", help="Examiner key (default: piscan key init's).")
def bundle(case_dir: Path, out: Path, hash_only: bool, inputs: tuple[Path, ...], key_path: Path | None) -> int:
    """Seal CASE_DIR (results, reports, verdicts, sessions, policies) into one signed zip.

    The zip holds the case folder, the scanned inputs (unless --hash-only), the rule packs the
    scan used, a README.txt and manifest.json: the sha256 of every file, signed with the examiner
    key. `piscan verify FILE.zip` checks it.
    """
    from ..case.bundle import build_bundle
    from ..keys import load_key

    output_file(out)
    key = load_key(key_path)
    with created_only_on_success(out.parent):
        payload = build_bundle(case_dir, out, key, hash_only=hash_only, extra_inputs=inputs)
    missing = [i for i in payload["inputs"] if not i.get("included")]
    for item in missing:
        click.echo(f"piscan: input {item['name']} not included ({item.get('reason')}); its sha256 is in the manifest", err=True)
    click.echo(f"piscan: wrote {out} ({len(payload['files'])} files, signed by {key.fingerprint})", err=True)
    return 0


VERIFY_EPILOG = (
    "\b\nExamples:\n"
    "  piscan verify case-17.zip --fingerprint ed25519:…        a case bundle\n"
    "  piscan verify case-17.zip --rescan                       and rerun the recorded scan\n"
    "  piscan verify s17                                        a proxy session folder\n\n"
    "Exit codes: 0 verifies; 2 usage error; 3 does not verify (each problem is printed with its file)."
)


@click.command("verify", epilog=VERIFY_EPILOG)
@click.argument("target", type=click.Path(), metavar="BUNDLE.zip|SESSION")
@click.option("--fingerprint", metavar="ED25519", help="Fingerprint the signatures must carry (from the case record).")
@click.option("--key", "key_path", type=click.Path(), metavar="FILE", help="Take the expected fingerprint from this key.")
@click.option("--rescan", is_flag=True, help="Bundles: rerun each recorded static scan on the bundled input and compare.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(target: str, fingerprint: str | None, key_path: str | None, rescan: bool, as_json: bool) -> int:
    """Check a case bundle (signature, every file's hash, sessions, verdicts) or a proxy session.

    A session folder is checked against its seals (see `piscan verify --help` on a folder: edits,
    removed lines, unsealed tails). A bundle is checked against its signed manifest: a file
    changed, added or removed is named, and every session and review file inside is verified too.
    """
    from .traffic import expected_fingerprint, verify_lines

    expected = expected_fingerprint(fingerprint, key_path)
    path = Path(target)
    if path.is_file() and not zipfile.is_zipfile(path):
        raise InputError("is a file; expected a proxy session folder or a case bundle (.zip)", path)
    if not path.is_file():
        from ..traffic.verify import verify_session

        report = verify_session(input_dir(path, "a proxy session folder"), expected_fingerprint=expected)
        if as_json:
            click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        else:
            for line in verify_lines(report):
                click.echo(line)
        return int(ExitCode.OK) if report.ok else int(ExitCode.INPUT)
    from ..case.bundle import verify_bundle

    checked = verify_bundle(input_file(path, "a case bundle (.zip) or a session folder"),
                            expected_fingerprint=expected, rescan=rescan)
    if as_json:
        click.echo(json.dumps(checked.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"bundle: {checked.files} files, signed by {checked.fingerprint}")
        for note in checked.notes:
            click.echo(f"note: {note}")
        for problem in checked.problems:
            click.echo(f"PROBLEM: {problem}")
        click.echo("verify: OK" if checked.ok else f"verify: {len(checked.problems)} problems")
    return int(ExitCode.OK) if checked.ok else int(ExitCode.INPUT)


COMPARE_EPILOG = (
    "\b\nExamples:\n"
    "  piscan compare v1/result.json v2/result.json -o retest.html\n"
    "  piscan compare case-17.zip case-17-retest.zip -f json -o retest.json\n"
    "  piscan compare old.json new.json -f sarif -o retest.sarif --fail-on high     CI gate\n\n"
    "Exit codes: 0 written, nothing new or still present at or above --fail-on; 1 such findings remain;\n"
    "  2 usage error; 3 an input is unreadable, not a result, or a bundle that does not verify."
)


@click.command("compare", epilog=COMPARE_EPILOG)
@click.argument("old", metavar="OLD", type=click.Path(path_type=Path))
@click.argument("new", metavar="NEW", type=click.Path(path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(("html", "json", "sarif")), default="html", show_default=True)
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path), metavar="FILE")
@click.option("--lang", type=click.Choice(("zh-CN", "en")), default="zh-CN", show_default=True)
@click.option("--fail-on", type=click.Choice(("high", "medium", "low", "info")), default=None,
              help="Exit 1 when new, still-present or changed findings at or above this severity exist.")
def compare_cmd(old: Path, new: Path, fmt: str, out: Path, lang: str, fail_on: str | None) -> int:
    """Compare a re-test (NEW) with the original test (OLD): result.json files, case folders or bundles.

    Findings are matched by their stable id: fixed, still present, changed in evidence, new; with
    SDKs and permissions added and removed, traffic PI by phase and the examiner's verdicts.
    """
    from ..case.compare import blocking, compare, load_side
    from ..case.compare_render import write_comparison

    output_file(out)
    comparison = compare(load_side(old), load_side(new))
    with created_only_on_success(out.parent):
        try:
            write_comparison(comparison, fmt, out, lang=lang)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", out) from None
    counts = comparison["counts"]
    click.echo(f"piscan: new {counts['new']}, still present {counts['still_present']}, changed {counts['changed']}, "
               f"no longer found {counts['fixed']}; wrote {out}", err=True)
    return int(ExitCode.FINDINGS) if blocking(comparison, fail_on) else int(ExitCode.OK)
