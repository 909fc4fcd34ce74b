"""``scanner.safeyaml``: libyaml's parser gives PyYAML's results, and PyYAML's own error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scanner.resources import rules_dir, templates_dir
from scanner.safeyaml import HAS_LIBYAML, load_with, safe_load

SHIPPED = sorted([*rules_dir().glob("*.yaml"), *rules_dir().glob("packs/*.yaml"), *rules_dir().glob("sdks/*.yaml"),
                  templates_dir() / "labels.yaml"])


def test_libyaml_is_present_in_the_test_environments() -> None:
    assert HAS_LIBYAML, "PyYAML without libyaml: every scan reads its data files ten times slower"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_data_loads_as_with_pure_python(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("a: b: c", "mapping values are not allowed here", 0),  # libyaml: "... in this context"
        ("labels: [", "expected the node content, but found '<stream end>'", 0),  # libyaml: line 1
        ("x:\n  - a\n b: 1", "expected <block end>, but found '<block mapping start>'", 2),
    ],
)
def test_errors_are_pure_python_ones(text: str, problem: str, line: int) -> None:
    with pytest.raises(yaml.YAMLError) as info:
        safe_load(text)
    assert info.value.problem == problem  # type: ignore[attr-defined]
    assert info.value.problem_mark.line == line  # type: ignore[attr-defined]
    assert "^" in str(info.value)  # the pure-Python reader quotes the line with a caret


def test_only_safe_tags() -> None:
    with pytest.raises(yaml.YAMLError, match="could not determine a constructor for the tag"):
        safe_load("x: !!python/object/apply:os.system ['true']")


def test_pure_python_is_used_without_a_c_loader() -> None:
    assert load_with("a: [1, 2]\nb: {c: yes}\n", yaml.SafeLoader, None) == {"a": [1, 2], "b": {"c": True}}
