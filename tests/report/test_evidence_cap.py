"""HTML report of a finding with more evidence than the report lists: capped, with a note."""

from __future__ import annotations

import copy
import html as html_lib
import re

from scanner.report.html import render_html
from scanner.report.view import EVIDENCE_CAP
from scanner.testing.samples import sample_result


def _with_many_call_sites(extra: int) -> tuple[dict, str, list[str]]:
    """The sample result where one finding cites ``EVIDENCE_CAP + extra`` call sites."""
    result = sample_result()
    calls = result["facts"]["api_calls"]
    template = calls[0]
    refs = []
    for i in range(EVIDENCE_CAP + extra):
        row = copy.deepcopy(template)
        row["offset"] = 0x1000 + 2 * i
        row["id"] = f"{template['id'].rsplit('@', 1)[0]}@0x{row['offset']:x}"
        calls.append(row)
        refs.append(row["id"])
    finding = next(f for f in result["findings"] if any(e["kind"] == "api_call" for e in f["evidence"]))
    finding["evidence"] = [{"kind": "api_call", "ref": ref} for ref in refs]
    return result, finding["id"], refs


def _article(html: str, finding_id: str) -> str:
    start = html.index(f'id="{finding_id}"')
    return html[start:html.index("</article>", start)]


def test_evidence_beyond_the_cap_is_counted_not_listed() -> None:
    result, finding_id, refs = _with_many_call_sites(7)
    article = _article(render_html(result, lang="en"), finding_id)
    shown = re.findall(r'<div class="evidence ev-api_call" data-ref="([^"]+)"', article)
    assert [html_lib.unescape(ref) for ref in shown] == refs[:EVIDENCE_CAP]
    assert html_lib.escape(refs[EVIDENCE_CAP]) not in article
    assert ('<p class="intro more-evidence">7 more evidence items are not listed in this report; '
            "result.json lists them all under this finding&#39;s evidence.</p>") in article


def test_note_in_chinese_names_the_count() -> None:
    result, finding_id, _refs = _with_many_call_sites(1)
    article = _article(render_html(result, lang="zh-CN"), finding_id)
    assert "另有 1 项证据未在本报告中列出" in article


def test_no_note_at_the_cap() -> None:
    result, finding_id, refs = _with_many_call_sites(0)
    article = _article(render_html(result, lang="en"), finding_id)
    assert [html_lib.unescape(ref) for ref in re.findall(r'data-ref="([^"]+)"', article)] == refs
    assert "more-evidence" not in article
