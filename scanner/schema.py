"""The JSON Schemas PIScan checks documents against, with the model's vocabularies filled in.

The result schema is composed from the top-level schema and one fragment per fact section
(``scanner/schemas/parts/<section>.json``), so the collector that owns a section owns its schema
too. Closed vocabularies are never written into a schema: ``$defs`` ``severity``, ``platform``,
``evidence_level``, ``doc`` (legal documents) and ``pi_type`` are filled in from their one home
(``rules/model.yaml`` and ``rules/pi-types.yaml``) when a schema is loaded.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from .resources import schema_path


def vocabulary_defs() -> dict[str, Any]:
    """``$defs`` for the closed vocabularies (severity, platform, evidence_level, doc, pi_type)."""
    from .model.terms import terms
    from .pi import vocabulary

    model = terms()
    return {
        "severity": {"enum": list(model.severity_ids)},
        "platform": {"enum": list(model.platform_ids)},
        "evidence_level": {"enum": list(model.evidence_level_ids)},
        "doc": {"enum": list(model.document_ids)},
        "pi_type": {"enum": sorted(vocabulary().types)},
    }


def with_vocabularies(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` whose ``$defs`` also hold the vocabularies it refers to."""
    out = copy.deepcopy(schema)
    text = json.dumps(schema)
    defs = out.setdefault("$defs", {})
    for name, definition in vocabulary_defs().items():
        if f'"#/$defs/{name}"' in text:
            defs[name] = definition
    return out


@cache
def result_schema() -> dict[str, Any]:
    """The full result schema (top level plus every fact-section fragment)."""
    schema = json.loads(schema_path("result.schema.json").read_text(encoding="utf-8"))
    facts = schema["properties"]["facts"]["properties"]
    for part in sorted(schema_path("parts").glob("*.json")):
        facts[part.stem] = json.loads(part.read_text(encoding="utf-8"))
    return with_vocabularies(schema)


def fact_section_schema(section: str) -> dict[str, Any]:
    """The schema of one fact section, self-contained (the result's ``$defs`` included)."""
    schema = result_schema()
    return {"$defs": schema["$defs"], **schema["properties"]["facts"]["properties"][section]}


def validation_errors(result: dict[str, Any]) -> list[str]:
    """Every schema violation in ``result``, as ``path: message`` lines (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(result_schema())
    errors = sorted(validator.iter_errors(result), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
