"""JSON from inputs: ``json.loads`` whose only error is ``ValueError``.

CPython's decoder raises ``RecursionError`` on a document nested some thousands of levels deep
(100,000 ``[`` in an XAPK's ``manifest.json``, an ``app.json`` or a HAR). Readers of user input
call :func:`loads` so that such a file is one more kind of invalid JSON, reported in one line.
"""

from __future__ import annotations

import json
from typing import Any


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``; ``ValueError`` for invalid JSON, including absurd nesting."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
