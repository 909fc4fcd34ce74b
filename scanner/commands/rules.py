"""``piscan rules``: list, show, validate and test rule packs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ExitCode, UsageError
from .paths import pack_location


@click.group(epilog=(
    "\b\nExamples:\n"
    "  piscan rules list --pack pipl --lang zh-CN\n"
    "  piscan rules show M164-1-pre-consent\n"
    "  piscan rules validate my-packs/ && piscan rules test my-packs/\n"
    "  piscan scan app.apk --rules my-packs/ -o out      (use your packs in a scan)\n\n"
    "Exit codes: 0 done; 1 a rule case failed (rules test); 2 bad option or invalid rule pack, "
    "printed as file:line: key: message; 4 internal error (please report it)."))
def rules() -> None:
    """List, show, validate and test rule packs (shipped packs plus your own)."""


@rules.command("list")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule-pack folder or file (repeatable).")
@click.option("--pack", "pack_id", help="Only the rules of this pack.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="en", show_default=True, help="Title language.")
def list_rules(rules_dirs: tuple[Path, ...], pack_id: str | None, lang: str) -> int:
    """One line per rule: id, pack, severity, kind (auto or manual) and title."""
    from ..rules.loader import load_packs

    ruleset = load_packs(extra_dirs=[pack_location(d) for d in rules_dirs])
    packs = [p for p in ruleset.packs if pack_id in (None, p.id)]
    if pack_id and not packs:
        raise UsageError(f"--pack {pack_id}: no such pack; valid: {', '.join(p.id for p in ruleset.packs)}")
    for pack in packs:
        for rule in pack.rules:
            kind = "manual" if rule.manual else "auto"
            click.echo(f"{rule.id}\t{pack.id}\t{rule.severity}\t{kind}\t{rule.title[lang]}")
    return int(ExitCode.OK)


@rules.command("show")
@click.argument("rule_id")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Extra rule-pack folder or file (repeatable).")
def show(rule_id: str, rules_dirs: tuple[Path, ...]) -> int:
    """Print one rule (metadata, legal references, match) as JSON."""
    import difflib

    from ..rules.loader import load_packs

    ruleset = load_packs(extra_dirs=[pack_location(d) for d in rules_dirs])
    try:
        rule = ruleset.rule(rule_id)
    except KeyError:
        ids = [r.id for p in ruleset.packs for r in p.rules]
        close = difflib.get_close_matches(rule_id, ids, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see `piscan rules list`)"
        raise UsageError(f"no rule {rule_id!r}{hint}") from None
    click.echo(json.dumps(rule.to_json(), ensure_ascii=False, indent=2))
    return int(ExitCode.OK)


@rules.command("validate", short_help="Check rule packs against the schema; print every problem.", epilog="\b\nExample:\n  piscan rules validate my-packs/")
@click.argument("directory", type=click.Path(path_type=Path), metavar="PATH")
def validate(directory: Path) -> int:
    """Check every pack in PATH (a folder or one .yaml file) against the schema.

    Every problem is printed as file:line: key: message. Exit 0 when all packs are valid,
    2 otherwise.
    """
    from ..rules.loader import load_dir, pack_files, read_pack

    problems = []
    files = pack_files(pack_location(directory))
    for path in files:
        found, _ = read_pack(path)
        problems.extend(found)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"piscan: {len(problems)} problem(s) in {len(files)} pack file(s)", err=True)
        return int(ExitCode.USAGE)
    ruleset = load_dir(directory)
    click.echo(f"{len(files)} pack(s), {sum(len(p.rules) for p in ruleset.packs)} rule(s): valid")
    return int(ExitCode.OK)


@rules.command("test", short_help="Run the positive and negative cases of every rule in PATH.", epilog="\b\nExample:\n  piscan rules test my-packs/ -v")
@click.argument("directory", type=click.Path(path_type=Path), metavar="PATH")
@click.option("-v", "--verbose", is_flag=True, help="Also list the cases that pass.")
def test(directory: Path, verbose: bool) -> int:
    """Run the positive and negative cases of every rule in PATH (a folder or one .yaml file).

    Exit 0 when all pass, 1 when a case fails, 2 when a pack is invalid.
    """
    from ..rules.casetest import run_ruleset_cases
    from ..rules.loader import load_dir

    outcomes = run_ruleset_cases(load_dir(pack_location(directory)))
    failed = [o for o in outcomes if not o.ok]
    for outcome in outcomes:
        if verbose or not outcome.ok:
            click.echo(outcome.line())
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return int(ExitCode.FINDINGS) if failed else int(ExitCode.OK)
