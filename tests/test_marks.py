"""Marked YAML (line numbers per key and item): the libyaml and pure-Python paths agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.resources import rules_dir
from scanner import marks
from scanner.marks import DuplicateKeyError, MarkedDict, MarkedList, line_of, load_marked

PACKS = sorted(rules_dir().glob("packs/*.yaml"))


def _same(ours: Any, pure: Any) -> None:
    assert type(ours) is type(pure)
    if isinstance(pure, MarkedDict):
        assert (ours.line, ours.key_lines, list(ours)) == (pure.line, pure.key_lines, list(pure))
        for key in pure:
            _same(ours[key], pure[key])
    elif isinstance(pure, MarkedList):
        assert (ours.line, ours.item_lines, len(ours)) == (pure.line, pure.item_lines, len(pure))
        for a, b in zip(ours, pure):
            _same(a, b)
    else:
        assert ours == pure


@pytest.mark.parametrize("path", PACKS, ids=lambda p: p.name)
def test_shipped_packs_keep_the_same_lines(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    _same(load_marked(text), yaml.load(text, Loader=marks._MarkedLoader))  # noqa: S506 - safe loader


def test_lines_of_keys_and_items() -> None:
    data = load_marked("pack: demo\nrules:\n  - id: a\n    match: {all: [x]}\n  - id: b\n")
    assert data.key_lines == {"pack": 1, "rules": 2}
    assert data["rules"].item_lines == [3, 5]
    assert line_of(data, ["rules", 1, "id"]) == 5
    assert line_of(data, ["rules", 0, "match", "all", 0]) == 4


def test_duplicate_key_names_its_line() -> None:
    with pytest.raises(DuplicateKeyError) as info:
        load_marked("pack: demo\nrules: []\npack: again\n")
    assert (info.value.key, info.value.line) == ("pack", 3)


def test_yaml_error_is_the_pure_python_one() -> None:
    with pytest.raises(yaml.YAMLError) as info:
        load_marked("pack: demo\nrules: [\n")
    assert info.value.problem == "expected the node content, but found '<stream end>'"  # type: ignore[attr-defined]
