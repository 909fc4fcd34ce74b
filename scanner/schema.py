"""The result JSON Schema, composed from the top-level schema and one fragment per fact section.

Each fact section's schema lives in ``scanner/schemas/parts/<section>.json`` so the collector
that owns a section owns its schema too.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from .resources import schema_path


@cache
def result_schema() -> dict[str, Any]:
    """The full result schema (top level plus every fact-section fragment)."""
    schema = json.loads(schema_path("result.schema.json").read_text(encoding="utf-8"))
    facts = schema["properties"]["facts"]["properties"]
    for part in sorted(schema_path("parts").glob("*.json")):
        facts[part.stem] = json.loads(part.read_text(encoding="utf-8"))
    return schema


def validation_errors(result: dict[str, Any]) -> list[str]:
    """Every schema violation in ``result``, as ``path: message`` lines (empty when valid)."""
    validator = jsonschema.Draft202012Validator(result_schema())
    errors = sorted(validator.iter_errors(result), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
