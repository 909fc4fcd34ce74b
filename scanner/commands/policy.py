"""``piscan policy``: read privacy-policy documents and compare versions.

* ``piscan policy show [ROLE=]PATH [--json]``: what one document declares (identity, PI types,
  SDKs, permissions, rights and mechanisms, references), as a table or JSON;
* ``piscan policy diff OLD NEW [--json]``: what changed between two versions (PI types, SDKs,
  permissions, rights).

Documents are saved web pages (HTML), text PDFs, Markdown or plain text; the role (privacy
policy, SDK list, PI list, permission list, children's policy, summary) is recognised from the
content unless given as ``sdk-list=PATH``. Nothing is fetched from the network.
"""

from __future__ import annotations

import json
from typing import Any

import click

from ..pi import vocabulary
from ..policy import ROLE_NAMES, load_policy, parse_policy_spec
from ..policy.diff import is_empty, policy_diff


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _load(spec: str) -> dict[str, Any]:
    role, path = parse_policy_spec(spec)
    return load_policy(path, role=role)


def _where(where: dict[str, Any] | None) -> str:
    if not where:
        return ""
    head = f"§ {where['section']}, " if where.get("section") else ""
    page = f"p.{where['page']} " if where.get("page") else ""
    return f"{page}{head}¶{where['paragraph']}"


def _mark(value: bool | None) -> str:
    return {True: "marked", False: "unmarked", None: "marks unknown"}[value]


def print_document(doc: dict[str, Any]) -> None:
    """The extraction as readable text (one section per kind of item)."""
    vocab = vocabulary()
    dates = doc["dates"]
    ctrl = doc["controller"]
    click.echo(f"{doc['title'] or '(no title)'}  [{doc['role']}, {doc['role_source']}; {doc['format']}; {doc['size']} bytes]")
    click.echo(f"  id {doc['id']}  sha256 {doc['sha256']}")
    click.echo(f"  effective {dates['effective'] or '-'}  updated {dates['updated'] or '-'}")
    click.echo(f"  controller {ctrl['name'] or '-'}  contact {', '.join(ctrl['emails'] + ctrl['phones']) or '-'}")
    click.echo(f"  {len(doc['sections'])} sections, {doc['text_chars']} characters of text")
    declared = [e for e in doc["pi_types"] if e["declared"]]
    click.echo(f"\nDeclared PI types ({len(declared)}):")
    for e in declared:
        first = next((m for m in e["mentions"] if m["declared"]), e["mentions"][0])
        sens = f" sensitive, {_mark(e['marked'])}" if e["sensitive"] else ""
        click.echo(f"  {e['pi_type']:<20} {vocab.get(e['pi_type']).zh}{sens}  [{', '.join(e['via'])}]")
        click.echo(f"      “{first['quote'][:120]}” ({_where(first['where'])})")
    denied = [e["pi_type"] for e in doc["pi_types"] if not e["declared"]]
    if denied:
        click.echo(f"  mentioned but not declared (denials, definitions, contact text): {', '.join(denied)}")
    click.echo(f"\nDeclared SDKs ({len(doc['sdks'])}):")
    for s in doc["sdks"]:
        match = f"-> {s['match']['sdk_id']} ({s['match']['by']})" if s["match"] else "-> not in the SDK pack"
        click.echo(f"  {s['name'] or '-'} | {s['operator'] or '-'} {match}")
        click.echo(f"      PI: {', '.join(s['pi_types']) or '-'}   purpose: {(s['purpose'] or '-')[:60]}   {s['policy_url'] or ''}")
    click.echo(f"\nDeclared permissions ({len(doc['permissions'])}):")
    for p in doc["permissions"]:
        click.echo(f"  {p['term']} -> {', '.join(p['permissions'])}   purpose: {(p['purpose'] or '-')[:70]}  ({_where(p['where'])})")
    click.echo("\nRights and mechanisms:")
    for r in doc["rights"]:
        days = f" ({r['response_days']} days)" if r["response_days"] else ""
        state = f"present{days}: “{(r['quote'] or '')[:90]}”" if r["present"] else "ABSENT"
        click.echo(f"  {r['kind']:<13} {state}")
    if doc["references"]:
        click.echo("\nReferences to other documents:")
        for ref in doc["references"]:
            click.echo(f"  《{ref['title']}》 [{ref['role']}] {ref['url'] or ''}")
    for lim in doc["limitations"]:
        click.echo(f"\nLIMITATION {lim['kind']}: {lim['detail']}")


def print_diff(diff: dict[str, Any]) -> None:
    """The diff as readable text."""
    click.echo(f"{diff['old']['name']} -> {diff['new']['name']}")
    for key, change in diff["identity"].items():
        click.echo(f"  {key}: {change['old']} -> {change['new']}")
    for section in ("pi_types", "permissions", "rights"):
        part = diff[section]
        for word, sign in (("added", "+"), ("removed", "-")):
            for item in part[word]:
                click.echo(f"  {sign} {section[:-1] if section != 'rights' else 'right'} {item}")
    for item in diff["permissions"]["purpose_changed"]:
        click.echo(f"  ~ permission {item}: purpose stated in one version only")
    for item in diff["rights"]["response_days_changed"]:
        click.echo(f"  ~ right {item['kind']}: response time {item['old']} -> {item['new']} days")
    for word, sign in (("added", "+"), ("removed", "-")):
        for key in diff["sdks"][word]:
            click.echo(f"  {sign} sdk {key} ({diff['sdks']['names'].get(key) or ''})")
    for ch in diff["sdks"]["changed"]:
        click.echo(f"  ~ sdk {ch['sdk']}: PI +{','.join(ch['pi_added']) or '-'} -{','.join(ch['pi_removed']) or '-'}")
    if is_empty(diff):
        click.echo("  no change in declared PI types, SDKs, permissions or rights")


@click.group("policy", epilog=(
    "\b\nExamples:\n"
    "  piscan policy show privacy.html\n"
    "  piscan policy show sdk-list=third-party.md --json\n"
    "  piscan policy diff policy-2023.md policy-2024.md\n\n"
    "Roles: " + ", ".join(sorted(ROLE_NAMES)) + "."))
def policy() -> None:
    """Read privacy policies, SDK lists, PI lists and permission lists; compare versions."""


@policy.command("show")
@click.argument("spec", metavar="[ROLE=]PATH")
@click.option("--json", "as_json", is_flag=True, help="Print the extraction as JSON (the facts.policy.documents[] entry).")
def show(spec: str, as_json: bool) -> None:
    """Print what one document declares."""
    doc = _load(spec)
    if as_json:
        _echo_json(doc)
    else:
        print_document(doc)


@policy.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(old: str, new: str, as_json: bool) -> None:
    """List what changed between two versions of a document."""
    result = policy_diff(_load(old), _load(new))
    if as_json:
        _echo_json(result)
    else:
        print_diff(result)
