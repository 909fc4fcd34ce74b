"""Problems in pack files as ``file:line: key: message``, shared by the rule-pack and data-pack loaders.

A problem names the deepest key or item of the YAML that exists (:func:`scanner.marks.line_of`).
Schema errors are worded by validator kind (unknown key with the valid ones and the closest,
missing key, wrong type, value not in a list), never by parsing the validator's English text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from .marks import DuplicateKeyError, line_of, path_text

if TYPE_CHECKING:  # jsonschema takes a tenth of a second to import: only on the cold path
    import jsonschema


@dataclass(frozen=True, order=True)
class PackProblem:
    """One validation problem at a line of a pack file."""

    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


def suggest(word: object, valid: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``valid`` (empty when none is close)."""
    close = difflib.get_close_matches(str(word), list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed YAML value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _schema_at(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target: dict[str, Any] = root["$defs"][ref.split("/")[-1]]
        return target
    return schema


def schema_message(error: jsonschema.ValidationError, root: dict[str, Any]) -> tuple[list[Any], str]:
    """(path, message) for one schema error, worded by validator kind."""
    path = list(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(_schema_at(error.schema, root).get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        key = extra[0]
        return path + [key], f"unknown key; valid keys: {', '.join(allowed)}{suggest(key, allowed)}"
    if kind == "required" and isinstance(error.instance, dict):
        missing = [k for k in error.validator_value if k not in error.instance]
        return path, f"missing required key {missing[0]!r}"
    if kind == "enum":
        values = [str(v) for v in error.validator_value]
        shown = ", ".join(values) if len(values) <= 40 else ", ".join(values[:40]) + f", … ({len(values)} in all)"
        return path, f"{error.instance!r} is not one of: {shown}{suggest(error.instance, values)}"
    if kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return path, f"must be of type {expected}, got {json_type(error.instance)}"
    if kind == "pattern":
        return path, f"{error.instance!r} does not match the pattern {error.validator_value}"
    if kind == "const":
        return path, f"{error.instance!r}: expected {error.validator_value!r}"
    if kind in ("minItems", "minLength", "minProperties"):
        return path, "must not be empty"
    if kind == "uniqueItems":
        return path, "items must be unique"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return path, f"{error.instance!r} is out of range ({kind} {error.validator_value})"
    return path, " ".join(error.message.split())[:300]


def _deepest(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For ``oneOf``/``anyOf`` failures, the sub-error that explains most (jsonschema's best match)."""
    import jsonschema

    if error.validator in ("oneOf", "anyOf") and error.context:
        return _deepest(jsonschema.exceptions.best_match(error.context))
    return error


def schema_problems(data: Any, schema: dict[str, Any], file: str, marked: Any) -> list[PackProblem]:
    """Every schema problem of ``data``, located in ``marked`` (the same document, parsed with marks).

    A misspelt key reports "did you mean" once; the key it was meant to be is then not also
    reported as missing.
    """
    import jsonschema

    errors = sorted((_deepest(e) for e in jsonschema.Draft202012Validator(schema).iter_errors(data)),
                    key=lambda e: [str(p) for p in e.absolute_path])
    suggested = set()
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = _schema_at(error.schema, schema).get("properties", {})
            for key in error.instance:
                if key not in allowed:
                    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
                    if close:
                        suggested.add((tuple(error.absolute_path), close[0]))
    problems = []
    for error in errors:
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [k for k in error.validator_value if k not in error.instance]
            if missing and (tuple(error.absolute_path), missing[0]) in suggested:
                continue
        path, message = schema_message(error, schema)
        problems.append(problem_at(file, marked, path, message))
    return problems


def problem_at(file: str, marked: Any, path: Sequence[Any], message: str) -> PackProblem:
    """A problem at ``path`` inside the marked document ``marked``."""
    return PackProblem(file, line_of(marked, path) if marked is not None else 1, path_text(path), message)


def yaml_problem(file: str, exc: Exception) -> PackProblem:
    """The problem for a YAML text that does not parse (or repeats a key)."""
    if isinstance(exc, DuplicateKeyError):
        return PackProblem(file, exc.line, exc.key, "duplicate key")
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
    return PackProblem(file, line, "(yaml)", f"not valid YAML: {problem}")


YAML_ERRORS: tuple[type[Exception], ...] = (yaml.YAMLError, DuplicateKeyError)
