"""Privacy-policy documents: reading them, extracting what they declare, comparing it with what
the app does (the 声明与实际对比 of docs/result-format.md, ``facts.policy``).

- :func:`load_policy` reads one document (HTML, PDF, Markdown or text) into its
  ``facts.policy.documents[]`` entry; :func:`parse_policy_spec` reads ``[ROLE=]PATH``.
- :mod:`scanner.policy.compare` holds the documents against a result's facts.
- :mod:`scanner.policy.diff` lists what changed between two versions of a document.

Nothing here goes to the network: documents are files the user gives (or, later, pages a proxy
session recorded), and a URL in a document is recorded as a declared location only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UsageError
from .lexicon import ROLES

#: roles as the user writes them on the command line (``sdk-list=PATH``)
ROLE_NAMES = {r.replace("_", "-"): r for r in ROLES}


def parse_policy_spec(spec: str) -> tuple[str | None, str]:
    """``(role, path)`` from ``PATH`` or ``ROLE=PATH`` (role as in ``sdk-list``); ``UsageError`` on an unknown role."""
    head, sep, tail = spec.partition("=")
    if sep and head and "/" not in head and "\\" not in head and not Path(spec).exists():
        role = ROLE_NAMES.get(head.strip().lower())
        if role is None:
            raise UsageError(f"unknown policy role {head!r} in {spec!r}; valid: {', '.join(sorted(ROLE_NAMES))}")
        if not tail:
            raise UsageError(f"no path after {head}= in {spec!r}")
        return role, tail
    return None, spec


def load_policy(path: str | Path, role: str | None = None, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read and extract one policy document (``InputError`` naming the file when it cannot be read)."""
    from .extract import extract_document
    from .read import read_document

    data, _fmt, parsed = read_document(path)
    return extract_document(parsed, data, name=Path(path).name, role=role, source=source)
