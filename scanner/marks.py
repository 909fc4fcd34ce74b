"""Load YAML with line numbers kept, so that pack errors can say ``file:line: key: message``.

A :class:`yaml.SafeLoader` subclass builds :class:`MarkedDict` / :class:`MarkedList` (plain
``dict`` / ``list`` subclasses that also remember the 1-based line of each key or item).
Duplicate keys, which PyYAML silently overwrites, are refused. Only safe YAML tags exist.
With libyaml the same constructors run on the C parser's nodes (see :mod:`scanner.safeyaml`).
"""

from __future__ import annotations

from typing import Any, Sequence

import yaml

from .safeyaml import load_with


class MarkedDict(dict):
    """A mapping that remembers its own line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class MarkedList(list):
    """A sequence that remembers its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]


class DuplicateKeyError(ValueError):
    """A mapping repeats a key; carries the key and the line of the repetition."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key
        self.line = line


class _MarkedLoader(yaml.SafeLoader):
    """Safe loader whose mappings and sequences carry line numbers."""


def _construct_mapping(loader: _MarkedLoader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value, not a "
                                                    f"{type(key).__name__}", key_node.start_mark)
        if key in result.key_lines:
            raise DuplicateKeyError(str(key), key_node.start_mark.line + 1)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _MarkedLoader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_CMarkedLoader: type | None = None
if hasattr(yaml, "CSafeLoader"):
    class _CMarkedLoaderImpl(yaml.CSafeLoader):  # type: ignore[name-defined,misc]
        """The same marked constructors on libyaml's parser (same nodes, same marks)."""

    _CMarkedLoader = _CMarkedLoaderImpl

for _loader in (_MarkedLoader, _CMarkedLoader):
    if _loader is not None:
        _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
        _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_marked(text: str) -> Any:
    """Parse YAML text into marked containers (``yaml.YAMLError`` / ``DuplicateKeyError`` on bad input)."""
    return load_with(text, _MarkedLoader, _CMarkedLoader)


def line_of(root: Any, path: Sequence[Any]) -> int:
    """The best line for ``path`` inside ``root``: the deepest key or item that exists."""
    line = getattr(root, "line", 1) or 1
    node = root
    for step in path:
        if isinstance(node, MarkedDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, MarkedList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
    return line


def path_text(path: Sequence[Any]) -> str:
    """``rules[3].match.all[0]`` style text for a path (``(pack)`` for the root)."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + str(step)
    return out or "(pack)"


def plain(value: Any) -> Any:
    """A deep copy made of plain dicts and lists (for hashing, JSON and frozen models)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
