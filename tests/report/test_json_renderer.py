"""JSON renderer: the canonical result, schema-checked before writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.report.json_ import ResultSchemaError
from scanner.report import render
from scanner.result import dumps
from scanner.testing.samples import sample_result


def test_json_is_the_canonical_result(tmp_path: Path) -> None:
    result = sample_result()
    out = tmp_path / "result.json"
    render(result, "json", out)
    text = out.read_text(encoding="utf-8")
    assert text == dumps(result)
    assert json.loads(text) == result
    assert "友盟统计" in text  # ensure_ascii=False


def test_invalid_result_is_refused_and_nothing_written(tmp_path: Path) -> None:
    result = sample_result()
    result["findings"][0]["severity"] = "catastrophic"
    del result["case"]
    out = tmp_path / "result.json"
    with pytest.raises(ResultSchemaError, match=r"^internal error: the result does not match the result schema: \(root\): 'case' is a "
                       r"required property; findings/0/severity: 'catastrophic' is not one of \['high', 'medium', 'low', 'info'\] "
                       r"\(please report this\)$") as info:
        render(result, "json", out)
    assert info.value.exit_code == 4  # our own output breaking its schema is a bug, never bad input
    assert list(tmp_path.iterdir()) == []
