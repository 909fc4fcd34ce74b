"""``piscan rules list|show|validate|test`` through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from scanner.cli import main
from scanner.rules.loader import load_packs, shipped_pack_dir

BAD = Path(__file__).parent / "data" / "bad-packs"


def test_list(capsys) -> None:
    assert main(["rules", "list", "--pack", "cn-rd-2019"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [r.id for r in load_packs().pack("cn-rd-2019").rules]
    assert "RD-3.1-api-before-ui\tcn-rd-2019\thigh\tauto\tCode that can run before consent reads PI" in "\n".join(lines)
    assert any(line.startswith("RD-1.1\tcn-rd-2019\thigh\tmanual\t") for line in lines)


def test_list_unknown_pack(capsys) -> None:
    assert main(["rules", "list", "--pack", "nope"]) == 2
    assert "piscan: --pack nope: no such pack; valid: cn-miit-164, cn-npi-2021" in capsys.readouterr().err


def test_show(capsys) -> None:
    assert main(["rules", "show", "RD-4.1-permission-not-necessary"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["match"] == {"permission": {"applies": True, "pi_types": {"outside_necessary": True}}}
    assert data["legal_refs"][0] == {"doc": "RD", "item": "4.1"}


def test_show_unknown_suggests(capsys) -> None:
    assert main(["rules", "show", "RD-3.1-api-before"]) == 2
    assert "no rule 'RD-3.1-api-before'; did you mean RD-3.1-api-before-ui" in capsys.readouterr().err


def test_validate_shipped(capsys) -> None:
    assert main(["rules", "validate", str(shipped_pack_dir())]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "6 rule pack(s), 0 data pack(s): valid"
    for pack in load_packs().packs:
        assert f"{pack.path}: rule pack {pack.id} ({len(pack.rules)} rules): valid" in out


def test_validate_the_whole_rules_folder_says_which_files_are_data_packs(capsys) -> None:
    rules = shipped_pack_dir().parent
    assert main(["rules", "validate", str(rules)]) == 0
    out = capsys.readouterr().out
    assert f"{rules / 'pi-types.yaml'}: data pack (PI vocabulary), not a rule pack: valid" in out
    assert f"{rules / 'sdks' / 'push.yaml'}: data pack (SDK pack category file), not a rule pack: valid" in out
    assert f"{rules / 'model.yaml'}: data pack (result-model vocabulary), not a rule pack: valid" in out
    assert out.strip().splitlines()[-1].startswith("6 rule pack(s), ")


def test_validate_a_broken_data_pack_names_file_line_and_key(tmp_path: Path, capsys) -> None:
    text = (shipped_pack_dir().parent / "packers.yaml").read_text(encoding="utf-8")
    (tmp_path / "packers.yaml").write_text(text.replace("native_lib: libjiagu.so", "native_libs: libjiagu.so", 1), encoding="utf-8")
    assert main(["rules", "validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "packers.yaml:" in err and ".native_libs: unknown key; valid keys: class, file, native_lib; did you mean 'native_lib'?" in err


def test_validate_bad_folder_lists_every_problem(capsys) -> None:
    assert main(["rules", "validate", str(BAD)]) == 2
    err = capsys.readouterr().err.splitlines()
    expected = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in BAD.glob("*.expected"))
    assert len(err) == expected + 1
    assert any(line.endswith("misspelled-key.yaml:12: rules[0].severty: unknown key; valid keys: evidence_level, "
                             "explanation, group_by, id, item, legal_refs, manual, match, params, platforms, severity, "
                             "tests, title, verification, what_to_check; did you mean 'severity'?") for line in err)


def test_test_shipped_packs(capsys) -> None:
    assert main(["rules", "test", str(shipped_pack_dir())]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].endswith(" passed, 0 failed")


def test_test_reports_a_failing_case(tmp_path: Path, capsys) -> None:
    text = (shipped_pack_dir() / "pipl.yaml").read_text(encoding="utf-8")
    text = text.replace('expect: ["obs:7"]', 'expect: ["obs:8"]')
    (tmp_path / "pipl.yaml").write_text(text, encoding="utf-8")
    assert main(["rules", "test", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL PIPL-51-cleartext-pi positive[0] phone number over http: expect names refs no fact of the case has: ['obs:8']" in out
    assert out.splitlines()[-1].endswith(" passed, 1 failed")


def test_test_invalid_pack_exits_2(tmp_path: Path, capsys) -> None:
    shutil.copy(BAD / "unknown-selector.yaml", tmp_path)
    assert main(["rules", "test", str(tmp_path)]) == 2
    assert "unknown-selector.yaml:16: rules[0].match.all[1].permision: unknown selector" in capsys.readouterr().err
