"""JSON renderer: the canonical ``result.json``, checked against the result schema first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ExitCode, PiscanError
from ..result import dumps, write_atomic
from ..schema import validation_errors

_SHOWN_ERRORS = 3


class ResultSchemaError(PiscanError):
    """A result about to be written breaks its own schema: a bug in PIScan, never the user's input
    (``piscan report`` checks a saved result before rendering it, and says so as bad input)."""

    exit_code = ExitCode.INTERNAL


def render_json(result: dict[str, Any]) -> str:
    """The canonical serialisation; :class:`ResultSchemaError` listing the first violations if invalid.
    Screenshots embedded for the HTML report (``review.images``) are left out: the JSON names each
    attachment by sha256."""
    if "images" in (result.get("review") or {}):
        result = {**result, "review": {k: v for k, v in result["review"].items() if k != "images"}}
    errors = validation_errors(result)
    if errors:
        more = f" (and {len(errors) - _SHOWN_ERRORS} more)" if len(errors) > _SHOWN_ERRORS else ""
        raise ResultSchemaError(f"internal error: the result does not match the result schema: "
                                f"{'; '.join(errors[:_SHOWN_ERRORS])}{more} (please report this)")
    return dumps(result)


class JsonRenderer:
    """Writes the canonical, schema-valid result JSON (``lang`` and ``unmask`` do not apply)."""

    name = "json"
    suffix = ".json"

    def render(self, result: dict[str, Any], out: Path, *, lang: str, unmask: bool) -> None:
        """Validate ``result`` and write it atomically to ``out``."""
        write_atomic(out, render_json(result))
