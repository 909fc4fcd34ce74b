"""HTML report of an entry with more facts than the report lists: capped, with a note."""

from __future__ import annotations

import copy
import html as html_lib
import re

from scanner.report.html import render_html
from scanner.report.entries import build_entries
from scanner.report.entry_view import FACTS_CAP as EVIDENCE_CAP
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


def _article(html: str, result: dict, ref: str) -> tuple[str, list[str]]:
    """The entry article holding the fact ``ref``, and the ids of that entry's facts in order."""
    entry = next(e for e in build_entries(result) if any(f["id"] == ref for f in e.facts))
    start = html.index(f'id="{entry.id}"')
    return html[start:html.index("</article>", start)], [str(f["id"]) for f in entry.facts]


def test_evidence_beyond_the_cap_is_counted_not_listed() -> None:
    result, _finding_id, refs = _with_many_call_sites(7)
    article, facts = _article(render_html(result, lang="en"), result, refs[0])
    assert len(facts) > EVIDENCE_CAP and set(refs) <= set(facts)
    shown = re.findall(r'<tr class="evidence ev-api_call" data-ref="([^"]+)"', article)
    assert [html_lib.unescape(ref) for ref in shown] == facts[:EVIDENCE_CAP]
    assert html_lib.escape(facts[EVIDENCE_CAP]) not in article
    assert (f'<p class="intro more-evidence">{len(facts) - EVIDENCE_CAP} more evidence items are not listed in this '
            "report; result.json lists them all under the evidence of the findings that cite them.</p>") in article


def test_note_in_chinese_names_the_count() -> None:
    result, _finding_id, refs = _with_many_call_sites(1)
    article, facts = _article(render_html(result, lang="zh-CN"), result, refs[0])
    assert f"另有 {len(facts) - EVIDENCE_CAP} 项证据未在本报告中列出" in article


def test_no_note_at_the_cap() -> None:
    result, _finding_id, refs = _with_many_call_sites(0)
    del result["facts"]["api_calls"][0]  # the template call: the entry then holds exactly the cap
    for finding in result["findings"]:
        finding["evidence"] = [e for e in finding["evidence"] if e["ref"] in refs or e["kind"] != "api_call"]
    article, facts = _article(render_html(result, lang="en"), result, refs[0])
    assert facts == refs
    assert [html_lib.unescape(ref) for ref in re.findall(r'<tr class="evidence ev-api_call" data-ref="([^"]+)"', article)] == refs
    assert "more-evidence" not in article
