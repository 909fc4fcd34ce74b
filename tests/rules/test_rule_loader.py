"""Loading and validating rule packs: shipped packs, golden errors of broken packs, duplicates, --disable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scanner.errors import ExitCode, UsageError
from scanner.rules.loader import load_dir, load_pack, load_packs, read_pack, shipped_pack_dir
from scanner.rules.selectors import SELECTORS

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "bad-packs").glob("*.yaml"))
SHIPPED = ("cn-miit-164", "cn-npi-2021", "cn-rd-2019", "gbt-41391", "pipl", "wechat-mp")


def test_all_shipped_packs_validate() -> None:
    files = sorted(shipped_pack_dir().glob("*.yaml"))
    assert [f.stem for f in files] == list(SHIPPED)
    for path in files:
        problems, pack = read_pack(path)
        assert problems == [], [str(p) for p in problems]
        assert pack is not None and pack.id == path.stem
        assert len(pack.sha256) == 64


def test_load_packs_has_every_shipped_pack_and_unique_rule_ids() -> None:
    ruleset = load_packs()
    assert [p.id for p in ruleset.packs] == list(SHIPPED)
    ids = [r.id for r in ruleset.rules]
    assert len(ids) == len(set(ids))
    assert ruleset.rule("RD-3.1-api-before-ui").pack == "cn-rd-2019"


def _relative(problem_line: str, path: Path) -> str:
    return problem_line.replace(f"{path.parent}{os.sep}", "")


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_broken_pack_golden_errors(path: Path) -> None:
    problems, pack = read_pack(path)
    assert pack is None
    got = [_relative(str(p), path) for p in problems]
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    assert got == expected


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_broken_pack_raises_usage_error_with_first_problem(path: Path) -> None:
    first = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()[0]
    with pytest.raises(UsageError) as info:
        load_pack(path)
    assert info.value.exit_code == ExitCode.USAGE
    assert _relative(info.value.message, path).startswith(first)


def test_unknown_selector_names_every_valid_selector() -> None:
    problems, _ = read_pack(DATA / "bad-packs" / "unknown-selector.yaml")
    message = problems[0].message
    for name in [*SELECTORS, "all", "any", "not"]:
        assert name in message
    assert problems[0].line == 16 and problems[0].key == "rules[0].match.all[1].permision"
    assert message.endswith("did you mean 'permission'?")


def test_duplicate_rule_id_across_packs(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    text = (shipped_pack_dir() / "pipl.yaml").read_text(encoding="utf-8").replace("id: pipl\n", "id: pipl-copy\n", 1)
    (extra / "copy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(UsageError, match=r"copy\.yaml:\d+: id: duplicate rule id 'PIPL-13-collection-before-consent' \(also in .*pipl\.yaml\)"):
        load_packs(extra_dirs=[extra])


def test_duplicate_pack_id_across_packs(tmp_path: Path) -> None:
    shutil.copy(shipped_pack_dir() / "pipl.yaml", tmp_path / "pipl-again.yaml")
    with pytest.raises(UsageError, match=r"pipl-again\.yaml:1: pack\.id: duplicate pack id 'pipl'"):
        load_packs(extra_dirs=[tmp_path])


def test_extra_pack_is_loaded_after_shipped(tmp_path: Path) -> None:
    text = (shipped_pack_dir() / "pipl.yaml").read_text(encoding="utf-8")
    text = text.replace("id: pipl\n", "id: my-pipl\n", 1).replace("id: PIPL-", "id: MY-PIPL-")
    (tmp_path / "mine.yaml").write_text(text, encoding="utf-8")
    ruleset = load_packs(extra_dirs=[tmp_path])
    assert ruleset.packs[-1].id == "my-pipl"
    assert ruleset.rule("MY-PIPL-51-cleartext-pi").pack == "my-pipl"


def test_disable_rule_and_pack() -> None:
    ruleset = load_packs(disabled=["RD-3.1-api-before-ui", "wechat-mp"])
    ids = {r.id for r in ruleset.rules}
    assert "RD-3.1-api-before-ui" not in ids and "RD-3.1-traffic-before-consent" in ids
    assert not any(r.pack == "wechat-mp" for r in ruleset.rules)


def test_unknown_disable_id_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"--disable RD-3\.1-api-befor-ui: no such rule or pack; did you mean 'RD-3\.1-api-before-ui'\?"):
        load_packs(disabled=["RD-3.1-api-befor-ui"])


def test_missing_rules_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="rule folder not found"):
        load_packs(extra_dirs=[tmp_path / "nope"])
    with pytest.raises(UsageError, match="no rule packs"):
        load_dir(tmp_path)


def test_rules_never_execute_yaml_tags(tmp_path: Path) -> None:
    bad = tmp_path / "tag.yaml"
    bad.write_text("pack: !!python/object/apply:os.system ['echo pwned']\nrules: []\n", encoding="utf-8")
    problems, pack = read_pack(bad)
    assert pack is None
    assert problems[0].key == "(yaml)" and problems[0].line == 1
    assert "python/object/apply" in problems[0].message


def test_rule_pack_schema_is_a_valid_json_schema() -> None:
    import jsonschema

    from scanner.rules.loader import pack_schema

    jsonschema.Draft202012Validator.check_schema(pack_schema())
    docs = pack_schema()["$defs"]["doc"]["enum"]
    assert {"RD", "NPI", "PIPL", "M164", "GB41391", "WX"} <= set(docs)


def test_line_numbers_point_at_the_offending_key(tmp_path: Path) -> None:
    text = (shipped_pack_dir() / "cn-npi-2021.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    target = next(i for i, line in enumerate(lines) if "traffic: {pi_types: {outside_necessary:" in line)
    lines[target] = lines[target].replace("outside_necessary", "outside_neccessary")
    bad = tmp_path / "npi.yaml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = read_pack(bad)[0]
    assert problem.line == target + 1
    assert problem.key.endswith(".match.traffic.pi_types.outside_neccessary")
    assert problem.message.endswith("did you mean 'outside_necessary'?")
