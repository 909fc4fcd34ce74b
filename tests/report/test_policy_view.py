"""The 声明与实际对比 partial (reports/policy.html.j2) rendered for a built result with facts.policy."""

from __future__ import annotations

import re
from typing import Any

import pytest

from scanner.policy import load_policy
from scanner.policy.compare import attach_policy
from scanner.report.policy_view import policy_view, render_policy_section
from scanner.schema import validation_errors
from scanner.testing.samples import XSS_PAYLOADS, sample_result
from scanner.testing.corpus import REPO

SAMPLES = REPO / "samples" / "policy"


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    docs = [load_policy(SAMPLES / "privacy-policy.md"), load_policy(SAMPLES / "sdk-list.md")]
    out = attach_policy(sample_result(), docs)
    assert validation_errors(out) == []
    return out


@pytest.mark.parametrize("lang, heading", [("zh-CN", "声明与实际对比"), ("en", "Declared vs observed")])
def test_every_cell_links_to_a_quote_or_evidence_in_the_section(result: dict[str, Any], lang: str, heading: str) -> None:
    html = render_policy_section(result, lang)
    assert f"<h2>{heading}</h2>" in html
    hrefs = set(re.findall(r'href="#([^"]+)"', html))
    ids = set(re.findall(r' id="([^"]+)"', html))
    assert hrefs and hrefs <= ids


def test_pi_matrix_rows_and_columns(result: dict[str, Any]) -> None:
    view = policy_view(result, "en")
    assert view is not None
    assert view["declared_columns"] == ["Privacy policy", "PI list", "SDK list"]
    assert view["observed_columns"] == ["Permission", "Code", "Traffic before consent", "Traffic after consent"]
    rows = {r["pi"]: r for r in view["pi_rows"]}
    assert list(rows) == sorted(rows)
    imei = rows["imei"]
    assert imei["declared"][0]["links"] and imei["declared"][2]["links"]  # policy and SDK list
    assert imei["observed"][1]["links"], "the sample result reads the IMEI in code"
    assert imei["state"] == "consistent"


def test_sdk_matrix_marks_the_undeclared_sdk(result: dict[str, Any]) -> None:
    view = policy_view(result, "zh-CN")
    assert view is not None
    rows = {r["sdk"]: r for r in view["sdk_rows"]}
    umeng = rows["umeng_analytics"]
    assert umeng["state"] == "undeclared" and umeng["state_label"] == "检出但未声明"
    assert umeng["detected"] and umeng["declared"], "both sides link: the SDK fact and the list that omits it"
    assert rows["getui"]["state"] == "declared_only"


def test_no_policy_renders_nothing() -> None:
    assert policy_view(sample_result(), "en") is None
    assert "<section" not in render_policy_section(sample_result(), "en")


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_quotes_are_escaped(payload: str) -> None:
    doc = load_policy(SAMPLES / "privacy-policy.md")
    doc["pi_types"][0]["mentions"][0]["quote"] = payload
    doc["title"] = payload
    html = render_policy_section(attach_policy(sample_result(), [doc]), "en")
    assert payload not in html and "<script" not in html


def test_render_is_deterministic(result: dict[str, Any]) -> None:
    assert render_policy_section(result, "en") == render_policy_section(result, "en")
