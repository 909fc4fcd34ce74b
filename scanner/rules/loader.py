"""Load and validate rule packs: JSON Schema first, then the match grammar, with ``file:line`` errors.

Every problem becomes a :class:`PackProblem` rendered as ``file:line: key: message``; the loader
raises :class:`scanner.errors.UsageError` (exit code 2) with the first one. Unknown keys, selectors,
fields and operators name the valid ones and suggest the closest (difflib).
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Sequence


from ..datapack import cache_dir, cache_read, cache_write
from ..errors import UsageError
from ..marks import line_of, load_marked, plain
from ..problems import YAML_ERRORS, PackProblem, problem_at, schema_problems, suggest, yaml_problem
from ..hashing import sha256_bytes
from ..pi import vocabulary
from ..resources import rules_dir, schema_path
from .model import Pack, Rule, RuleSet
from .selectors import COMBINATORS, OPERATORS, SELECTORS, SET_OPERATORS

PACKS_SUBDIR = "packs"
_PI_FIELDS = ("pi_types", "pi_type")


@cache
def pack_schema() -> dict[str, Any]:
    """The rule-pack JSON Schema shipped in ``scanner/schemas``, with the model's vocabularies filled in."""
    from ..schema import with_vocabularies

    return with_vocabularies(json.loads(schema_path("rule-pack.schema.json").read_text(encoding="utf-8")))


class _Checker:
    """Collects the problems of one pack file."""

    def __init__(self, file: str, root: Any) -> None:
        self.file = file
        self.root = root
        self.problems: list[PackProblem] = []

    def add(self, path: Sequence[Any], message: str) -> None:
        self.problems.append(problem_at(self.file, self.root, path, message))

    # --- the match grammar ---------------------------------------------------------------

    def match(self, node: Any, path: list[Any], params: dict[str, Any]) -> None:
        valid = sorted(COMBINATORS + tuple(SELECTORS))
        if not isinstance(node, dict) or len(node) != 1:
            self.add(path, f"a match node must be a mapping with exactly one of: {', '.join(valid)}")
            return
        ((key, body),) = node.items()
        here = path + [key]
        if key in ("all", "any"):
            if not isinstance(body, list) or not body:
                self.add(here, f"'{key}' takes a non-empty list of match nodes")
                return
            for i, child in enumerate(body):
                self.match(child, here + [i], params)
        elif key == "not":
            self.match(body, here, params)
        elif key in SELECTORS:
            self.selector(key, body, here, params)
        else:
            self.add(here, f"unknown selector; valid: {', '.join(valid)}{suggest(key, valid)}")

    def selector(self, name: str, body: Any, path: list[Any], params: dict[str, Any]) -> None:
        spec = SELECTORS[name]
        if body is None:
            return
        if not isinstance(body, dict):
            self.add(path, "a selector takes a mapping of field filters (or nothing)")
            return
        for fld, cond in body.items():
            here = path + [fld]
            if fld not in spec.fields:
                self.add(here, f"unknown field of selector '{name}'; valid: {', '.join(spec.fields)}{suggest(fld, spec.fields)}")
                continue
            self.condition(fld, cond, here, params)

    def condition(self, fld: str, cond: Any, path: list[Any], params: dict[str, Any]) -> None:
        if isinstance(cond, list):
            self.pi_ids(fld, cond, path)
            return
        if not isinstance(cond, dict):
            self.param(cond, path, params)
            if fld in _PI_FIELDS and isinstance(cond, str) and not cond.startswith("$"):
                self.pi_ids(fld, [cond], path)
            return
        for op, arg in cond.items():
            here = path + [op]
            if op not in OPERATORS:
                self.add(here, f"unknown operator; valid: {', '.join(OPERATORS)}{suggest(op, OPERATORS)}")
                continue
            if op == "regex":
                try:
                    re.compile(str(arg))
                except re.error as exc:
                    self.add(here, f"bad regular expression: {exc}")
            elif op in ("gt", "gte", "lt", "lte"):
                if isinstance(arg, str):
                    self.param(arg, here, params)
                elif not isinstance(arg, (int, float)) or isinstance(arg, bool):
                    self.add(here, "takes a number or a $parameter")
            elif op in SET_OPERATORS:
                if isinstance(arg, dict):
                    if set(arg) - {"fact", "strip_prefix"} or not isinstance(arg.get("fact"), str):
                        self.add(here, "a fact reference is {fact: \"section.list[].field\"}")
                elif not isinstance(arg, list):
                    self.add(here, "takes a list (or a {fact: ...} reference)")
                else:
                    self.pi_ids(fld, arg, here)
            elif op == "contains":
                self.pi_ids(fld, [arg], here)
            elif op == "outside_necessary" and isinstance(arg, dict):
                if set(arg) != {"ignore"} or not isinstance(arg["ignore"], list):
                    self.add(here, "takes true, false or {ignore: [PI types never counted]}")
                else:
                    self.pi_ids("pi_types", arg["ignore"], here + ["ignore"])
            elif op in ("empty", "exists", "outside_necessary", "sensitive", "device_id"):
                if not isinstance(arg, bool):
                    self.add(here, "takes true or false")
            elif op == "pi_group":
                groups = vocabulary().groups()
                for g in arg if isinstance(arg, list) else [arg]:
                    if g not in groups:
                        self.add(here, f"unknown PI group {g!r}; valid: {', '.join(sorted(groups))}{suggest(g, groups)}")

    def param(self, value: Any, path: list[Any], params: dict[str, Any]) -> None:
        if isinstance(value, str) and value.startswith("$") and value[1:] not in params:
            self.add(path, f"unknown parameter {value!r}; declared: {', '.join(sorted(params)) or '(none)'}")

    def pi_ids(self, fld: str, values: list[Any], path: list[Any]) -> None:
        if fld not in _PI_FIELDS:
            return
        vocab = vocabulary()
        for value in values:
            if value not in vocab:
                self.add(path, f"unknown PI type {value!r}; see rules/pi-types.yaml{suggest(value, vocab.types)}")

    # --- rules -----------------------------------------------------------------------------

    def rule(self, rule: dict[str, Any], path: list[Any], pack_params: dict[str, Any]) -> None:
        params = {**(rule.get("params") or {}), **pack_params}
        manual = rule.get("manual", False)
        if manual and "what_to_check" not in rule:
            self.add(path, "a manual rule needs 'what_to_check' {zh-CN, en}")
        if not manual:
            if "match" not in rule:
                self.add(path, "an automatic rule needs 'match' (or 'manual: true' with 'what_to_check')")
            tests = rule.get("tests") or {}
            if not tests.get("positive") or not tests.get("negative"):
                self.add(path + (["tests"] if "tests" in rule else []),
                         "an automatic rule needs at least one positive and one negative test case")
            for i, case in enumerate(tests.get("positive") or []):
                if "expect" not in case:
                    self.add(path + ["tests", "positive", i], "a positive case needs 'expect': the evidence refs it must yield")
        for kind in ("positive", "negative"):
            for i, case in enumerate((rule.get("tests") or {}).get(kind) or []):
                if isinstance(case, dict) and ("facts" in case) == ("input" in case):
                    self.add(path + ["tests", kind, i], "a case needs either 'facts' (a snippet) or 'input' (a real input to scan)")
        if "match" in rule:
            self.match(rule["match"], path + ["match"], params)


def check_pack_text(text: str, file: str) -> tuple[list[PackProblem], Any]:
    """All problems of one pack's text, sorted by line, and the parsed (marked) data."""
    try:
        data = load_marked(text)
    except YAML_ERRORS as exc:
        return [yaml_problem(file, exc)], None
    checker = _Checker(file, data)
    if not isinstance(data, dict):
        checker.add([], "a rule pack is a mapping with 'pack' and 'rules'")
        return checker.problems, data
    checker.problems.extend(schema_problems(data, pack_schema(), file, data))
    if not checker.problems:
        pack_params = (data["pack"].get("params") or {})
        seen: dict[str, int] = {}
        for i, rule in enumerate(data["rules"]):
            if rule["id"] in seen:
                checker.add(["rules", i, "id"], f"duplicate rule id {rule['id']!r} (first at line {seen[rule['id']]})")
            else:
                seen[rule["id"]] = line_of(data, ["rules", i, "id"])
            checker.rule(rule, ["rules", i], pack_params)
    return sorted(set(checker.problems), key=lambda p: (p.line, p.key, p.message)), data


def _param_names(node: Any) -> set[str]:
    if isinstance(node, str) and node.startswith("$"):
        return {node[1:]}
    if isinstance(node, dict):
        return set().union(*(_param_names(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_param_names(v) for v in node)) if node else set()
    return set()


def _used_params(match: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a rule's match refers to (pack values override the rule's defaults)."""
    used = _param_names(match)
    return {k: v for k, v in sorted(params.items()) if k in used}


def _build_pack(data: dict[str, Any], rule_lines: list[int], path: Path, sha256: str) -> Pack:
    from ..model.terms import terms

    meta = data["pack"]
    pack_platforms = tuple(meta.get("platforms") or terms().platform_ids)
    pack_params = meta.get("params") or {}
    rules = []
    for r, line in zip(data["rules"], rule_lines):
        rules.append(Rule(
            id=r["id"], pack=meta["id"], title=r["title"], explanation=r["explanation"], severity=r["severity"],
            legal_refs=tuple(r["legal_refs"]), verification=r["verification"],
            platforms=tuple(r.get("platforms") or pack_platforms),
            params=_used_params(r.get("match"), {**(r.get("params") or {}), **pack_params}), item=r.get("item"),
            evidence_level=r.get("evidence_level"), group_by=tuple(r.get("group_by") or ("party",)),
            match=r.get("match"), manual=bool(r.get("manual", False)), what_to_check=r.get("what_to_check"),
            tests=r.get("tests") or {}, line=line,
        ))
    return Pack(
        id=meta["id"], version=str(meta["version"]), title=meta["title"], source=meta["source"], platforms=pack_platforms,
        params=pack_params, path=path, sha256=sha256, rules=tuple(rules), description=meta.get("description"),
    )


def read_pack(path: Path) -> tuple[list[PackProblem], Pack | None]:
    """Validate one pack file; return its problems and, when there are none, the loaded pack."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        return [PackProblem(str(path), 1, "(file)", f"cannot read: {exc.strerror or exc}")], None
    except UnicodeDecodeError:
        return [PackProblem(str(path), 1, "(file)", "not UTF-8 text")], None
    problems, pack = _read_pack_cached(str(path), raw, text)
    return list(problems), pack


@lru_cache(maxsize=64)
def _read_pack_cached(file: str, raw: bytes, text: str) -> tuple[list[PackProblem], Pack | None]:
    # keyed by the file's bytes too: an edited pack is validated again; a pack that validated
    # before (same bytes, same schema and grammar) is taken from the disk cache of checked data
    sha256 = sha256_bytes(raw)
    cache_file = _checked_cache_path(sha256)
    cached = cache_read(cache_file)
    if isinstance(cached, dict) and "data" in cached and "lines" in cached:
        return [], _build_pack(cached["data"], cached["lines"], Path(file), sha256)
    problems, data = check_pack_text(text, file)
    if problems:
        return problems, None
    lines = [line_of(data, ["rules", i]) for i in range(len(data["rules"]))]
    checked = plain(data)
    cache_write(cache_file, {"data": checked, "lines": lines})
    return [], _build_pack(checked, lines, Path(file), sha256)


@cache
def _grammar_digest() -> str:
    """A digest of what decides a pack's validity besides its bytes: schema, selectors, operators, PIScan."""
    from .. import __version__

    spec = {"schema": pack_schema(), "selectors": {n: list(s.fields) for n, s in SELECTORS.items()},
            "operators": list(OPERATORS), "version": __version__, "pi_types": sorted(vocabulary().types)}
    return sha256_bytes(json.dumps(spec, sort_keys=True).encode("utf-8"))


def _checked_cache_path(sha256: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"rule-pack-{sha256[:32]}-{_grammar_digest()[:16]}.json"


def load_pack(path: Path) -> Pack:
    """One pack, or :class:`UsageError` with its first problem (``file:line: key: message``)."""
    problems, pack = read_pack(path)
    if problems:
        more = f" (and {len(problems) - 1} more; run `piscan rules validate`)" if len(problems) > 1 else ""
        raise UsageError(f"{problems[0]}{more}")
    assert pack is not None
    return pack


def pack_files(directory: Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` pack files of a folder (or the file itself), sorted.

    :class:`UsageError` when the path is neither a folder nor a pack file.
    """
    if directory.is_file() and directory.suffix in (".yaml", ".yml"):
        return [directory]
    if not directory.is_dir():
        raise UsageError(f"rule folder not found: {directory}")
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def shipped_pack_dir() -> Path:
    """The folder of the shipped legal rule packs."""
    return rules_dir() / PACKS_SUBDIR


def _check_unique(packs: list[Pack]) -> None:
    pack_seen: dict[str, Pack] = {}
    rule_seen: dict[str, Pack] = {}
    for pack in packs:
        if pack.id in pack_seen:
            raise UsageError(f"{pack.path}:1: pack.id: duplicate pack id {pack.id!r} (also in {pack_seen[pack.id].path})")
        pack_seen[pack.id] = pack
        for rule in pack.rules:
            if rule.id in rule_seen:
                raise UsageError(f"{pack.path}:{rule.line}: id: duplicate rule id {rule.id!r} (also in {rule_seen[rule.id].path})")
            rule_seen[rule.id] = pack


def load_packs(extra_dirs: Sequence[Path] = (), disabled: Sequence[str] = ()) -> RuleSet:
    """The shipped packs plus the packs in ``extra_dirs``, minus ``disabled`` rule or pack ids.

    Raises :class:`UsageError` for a bad pack, a duplicate pack or rule id, or an unknown id in
    ``disabled``.
    """
    files = pack_files(shipped_pack_dir())
    for directory in extra_dirs:
        found = pack_files(Path(directory))
        if not found:
            raise UsageError(f"no rule packs (*.yaml) in {directory}")
        files.extend(found)
    packs = [load_pack(f) for f in files]
    _check_unique(packs)
    known = {p.id for p in packs} | {r.id for p in packs for r in p.rules}
    for rule_id in disabled:
        if rule_id not in known:
            raise UsageError(
                f"--disable {rule_id}: no such rule or pack{suggest(rule_id, known)} (see `piscan rules list`)"
            )
    return RuleSet(packs=tuple(packs), disabled=tuple(sorted(set(disabled))))


def load_dir(directory: Path) -> RuleSet:
    """Only the packs of one folder (``piscan rules validate|test DIR``)."""
    files = pack_files(Path(directory))
    if not files:
        raise UsageError(f"no rule packs (*.yaml) in {directory}")
    packs = [load_pack(f) for f in files]
    _check_unique(packs)
    return RuleSet(packs=tuple(packs))
