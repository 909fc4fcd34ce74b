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


@rules.command("validate", short_help="Check rule packs and data packs against their schemas; print every problem.",
               epilog="\b\nExamples:\n  piscan rules validate my-packs/\n  piscan rules validate rules/      (every shipped pack)")
@click.argument("directory", type=click.Path(path_type=Path), metavar="PATH")
def validate(directory: Path) -> int:
    """Check every pack in PATH (a folder, searched recursively, or one .yaml file).

    A rule pack (``pack`` and ``rules`` at the top) is checked against the rule-pack schema and
    the match grammar. A data pack (the PI vocabulary, a catalogue, the SDK pack, packers, the
    WeChat table, the NPI table, labels, a device profile) is recognised by its top-level keys and
    checked against its own schema, and said to be one. Every problem is printed as
    file:line: key: message. Exit 0 when all files are valid, 2 otherwise.
    """
    from ..datapack import problems_of, recognise
    from ..rules.loader import load_pack, pack_files, read_pack
    from ..safeyaml import safe_load

    files = sorted(directory.rglob("*.y*ml")) if directory.is_dir() else pack_files(pack_location(directory))
    files = [f for f in files if f.suffix in (".yaml", ".yml")]
    if not files:
        raise UsageError(f"{directory}: no rule packs or data packs (*.yaml) in this folder")
    problems = []
    rule_files = data_files = 0
    for path in files:
        try:
            head = safe_load(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001 - the rule-pack reader reports the exact YAML problem below
            head = None
        kind = None if isinstance(head, dict) and {"pack", "rules"} <= set(head) else recognise(head)
        if kind is None:
            found, _ = read_pack(path)
            problems.extend(found)
            rule_files += 1
            if not found:
                pack = load_pack(path)
                click.echo(f"{path}: rule pack {pack.id} ({len(pack.rules)} rules): valid")
            continue
        data_files += 1
        found = problems_of(kind, path)
        problems.extend(found)
        if not found:
            click.echo(f"{path}: data pack ({kind.title}), not a rule pack: valid")
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"piscan: {len(problems)} problem(s) in {len(files)} file(s)", err=True)
        return int(ExitCode.USAGE)
    click.echo(f"{rule_files} rule pack(s), {data_files} data pack(s): valid")
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
