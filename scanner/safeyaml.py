"""Fast safe YAML loading: libyaml's parser when present, PyYAML's pure-Python one otherwise.

Every data file (rule packs, catalogues, labels, vocabularies) is read with a *safe* loader
only. The C parser builds the same nodes as the pure-Python one roughly ten times faster, which
matters because a scan reads a dozen YAML files. Their error messages differ slightly, so when
the C parser refuses a text it is parsed again by the pure-Python loader: errors (and any text
only the pure-Python parser accepts) come out exactly as without libyaml.
"""

from __future__ import annotations

from typing import Any

import yaml

#: True when PyYAML was built against libyaml.
HAS_LIBYAML: bool = hasattr(yaml, "CSafeLoader")


def load_with(text: str, loader: type, c_loader: type | None) -> Any:
    """Parse ``text`` with ``c_loader`` (a libyaml-based safe loader) and fall back to ``loader``.

    Both must be safe loaders built with the same constructors; the fallback runs only when the
    C loader raises a ``yaml.YAMLError``, so error messages and marks are PyYAML's own.
    """
    if c_loader is not None:
        try:
            return yaml.load(text, Loader=c_loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, with libyaml's parser when available (same result, same errors)."""
    return load_with(text, yaml.SafeLoader, getattr(yaml, "CSafeLoader", None))
