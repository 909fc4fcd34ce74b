"""``piscan policy show|diff``: tables, JSON, exit codes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.testing.corpus import REPO

POLICY = REPO / "samples" / "policy" / "privacy-policy.md"
SDK_LIST = REPO / "samples" / "policy" / "sdk-list.md"


def test_show_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", str(SDK_LIST)]) == 0
    out = capsys.readouterr().out
    assert "[sdk_list, content; markdown;" in out
    assert "个推推送 SDK | 每日互动股份有限公司 -> getui (name)" in out
    assert "Rights and mechanisms:" in out


def test_show_json_is_the_document_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show", f"pi-list={POLICY}", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["role"] == "pi_list" and doc["role_source"] == "user"
    assert doc["id"].startswith("policydoc:")


def test_diff_lists_declared_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    newer = tmp_path / "policy-v2.md"
    text = POLICY.read_text(encoding="utf-8").replace("我们会记录您的 IP 地址和 Wi-Fi 信息。", "我们会记录您的 IP 地址、Wi-Fi 信息和软件安装列表。")
    newer.write_text(text.replace("生效日期：2025年11月1日", "生效日期：2026年1月1日"), encoding="utf-8")
    assert main(["policy", "diff", str(POLICY), str(newer)]) == 0
    out = capsys.readouterr().out
    assert "+ pi_type installed_apps" in out and "effective: 2025-11-01 -> 2026-01-01" in out
    assert main(["policy", "diff", str(POLICY), str(newer), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["pi_types"] == {"added": ["installed_apps"], "removed": []}


def test_diff_of_identical_documents_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "diff", str(POLICY), str(POLICY)]) == 0
    assert "no change in declared PI types, SDKs, permissions or rights" in capsys.readouterr().out


@pytest.mark.parametrize("argv, code, match", [
    (["policy", "show", "/nonexistent/policy.md"], 3, "/nonexistent/policy.md: no such file"),
    (["policy", "show", "sdklist=x.md"], 2, "unknown policy role 'sdklist'"),
    (["policy", "diff", str(POLICY)], 2, "Missing argument 'NEW'"),
])
def test_errors_are_one_line(argv: list[str], code: int, match: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1
