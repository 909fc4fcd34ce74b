"""Fast safe YAML loading: libyaml's parser when present, PyYAML's pure-Python one otherwise.

Every data file (rule packs, catalogues, labels, vocabularies) is read with a *safe* loader
only. The C parser builds the same nodes as the pure-Python one roughly ten times faster, which
matters because a scan reads a dozen YAML files. Their error messages differ slightly, so when
the C parser refuses a text it is parsed again by the pure-Python loader: errors (and any text
only the pure-Python parser accepts) come out exactly as without libyaml.

Hostile YAML (a rule pack from elsewhere, a device profile) is bounded before anything is
built: the composed node graph is measured with aliases expanded, so a "billion laughs" document
is refused after counting, not after constructing a billion nodes, and nesting deeper than the
depth budget is refused too (:class:`YamlBudgetError`, a ``yaml.YAMLError``).
"""

from __future__ import annotations

from typing import Any

import yaml

#: True when PyYAML was built against libyaml.
HAS_LIBYAML: bool = hasattr(yaml, "CSafeLoader")


class YamlBudgetError(yaml.YAMLError):
    """A YAML document over the node or depth budget (alias bomb, absurd nesting)."""


def check_node_budget(root: yaml.Node, max_nodes: int, max_depth: int) -> None:
    """Count the nodes of a composed document as construction would build them (each alias
    expanded) and its nesting depth; :class:`YamlBudgetError` past either budget. Iterative, and
    memoized per node, so the check itself costs one pass over the distinct nodes."""
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 0) for c in children)
        depth = 1 + max((depths.get(id(c), 0) for c in children), default=0)
        if total > max_nodes:
            raise YamlBudgetError(f"the document expands to more than {max_nodes:,} nodes (aliases counted each time "
                                  "they are used: an alias bomb)")
        if depth > max_depth:
            raise YamlBudgetError(f"the document is nested more than {max_depth} levels deep")
        sizes[key], depths[key] = total, depth


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _load_one(text: str, loader_class: type) -> Any:
    from .budgets import budgets

    limits = budgets()
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlBudgetError(f"the document is nested more than {limits.depth} levels deep") from None
        if node is None:
            return None
        check_node_budget(node, limits.yaml_nodes, limits.depth)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_with(text: str, loader: type, c_loader: type | None) -> Any:
    """Parse ``text`` with ``c_loader`` (a libyaml-based safe loader) and fall back to ``loader``.

    Both must be safe loaders built with the same constructors; the fallback runs only when the
    C loader raises a ``yaml.YAMLError``, so error messages and marks are PyYAML's own. Either
    way the node and depth budgets are checked before anything is constructed.
    """
    if c_loader is not None:
        try:
            return _load_one(text, c_loader)
        except YamlBudgetError:
            raise
        except yaml.YAMLError:
            pass
    return _load_one(text, loader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, with libyaml's parser when available (same result, same errors)."""
    return load_with(text, yaml.SafeLoader, getattr(yaml, "CSafeLoader", None))
