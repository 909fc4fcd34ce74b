"""HTML renderer: golden files in both languages, masking, grouping, necessity, escaping."""

from __future__ import annotations

import os
import html as html_lib
import re
from pathlib import Path

import pytest

from scanner.report.html import render_html
from scanner.testing.golden import normalise_html
from scanner.report.i18n import labels
from scanner.testing.samples import (
    RAW_VALUES,
    XSS_PAYLOADS,
    complete_result,
    hostile_result,
    miniprogram_result,
    sample_result,
)

GOLDEN = Path(__file__).parent / "data" / "golden"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_golden(lang: str) -> None:
    html = normalise_html(render_html(sample_result(), lang=lang))
    golden = GOLDEN / f"sample.{lang}.html"
    if os.environ.get("PISCAN_UPDATE_GOLDEN") == "1":
        golden.write_text(html, encoding="utf-8")
    assert html == golden.read_text(encoding="utf-8"), f"{golden.name} differs; PISCAN_UPDATE_GOLDEN=1 regenerates it"


def test_render_is_deterministic() -> None:
    assert render_html(sample_result(), lang="en") == render_html(sample_result(), lang="en")


def test_incomplete_result_is_marked_at_the_top() -> None:
    html = render_html(sample_result(), lang="en")
    banner = html.index('<div class="banner incomplete" id="incomplete"')
    assert banner < html.index('id="case"')
    assert "This result is INCOMPLETE" in html[banner:html.index('id="case"')]
    assert "Request payload opaque" in html[banner:html.index('id="case"')]
    complete = render_html(complete_result(), lang="en")
    assert "banner incomplete" not in complete and "No limitation was recorded" in complete


def _entry_of(html: str, rule_id: str) -> str:
    """The entry article whose legal bases include ``rule_id`` (its first such entry)."""
    at = html.index(f'data-rule="{rule_id}"')
    start = html.rindex("<article", 0, at)
    return html[start:html.index("</article>", at)]


def test_each_fact_is_listed_once_with_every_finding_anchored_once() -> None:
    result = sample_result()
    html = render_html(result, lang="en")
    conclusions = html[html.index('id="conclusions"'):html.index('id="case"')]
    entries = re.findall(r'<article class="entry sev-border-(\w+)" id="(E-[0-9a-f]{12})"', html)
    assert entries and len({e for _s, e in entries}) == len(entries)
    # the summary table lists the entries in the same order, first, before the case details
    assert re.findall(r'<tr data-entry="(E-[0-9a-f]{12})">', conclusions) == [e for _s, e in entries]
    for finding in result["findings"]:
        assert html.count(f'<span class="anchor" id="{finding["id"]}"></span>') == 1, finding["id"]
    # every fact a finding cites appears once among the entries
    refs = {e["ref"] for f in result["findings"] for e in f["evidence"]}
    details = html[html.index('id="findings"'):html.index('id="sdks"')]
    for ref in refs:
        assert details.count(f'data-ref="{html_lib.escape(ref)}"') == 1, ref


def test_call_site_evidence_shows_caller_byte_offset_and_reach_path() -> None:
    html = render_html(sample_result(), lang="en")
    article = _entry_of(html, "RD-3.1-api-pre-consent")
    assert "com.example.notes.util.DeviceUtil.readId(Landroid/content/Context;)Ljava/lang/String;" in article
    # the result counts 16-bit code units (0x1a); the report gives bytes and the unit index
    assert "classes.dex byte offset in the method&#39;s code 0x34 (code unit 26)" in article
    assert "com.example.notes.App.onCreate()V → " in article
    assert "<td>code capability (Reachable before consent (static))</td>" in article
    assert "The app itself (first party)" in article


def test_legal_items_are_cited_in_their_legal_form() -> None:
    html = render_html(sample_result(), lang="zh-CN")
    assert "《中华人民共和国个人信息保护法》第十三条" in html
    assert "（国信办秘字〔2019〕191号）第三部分第1项" in html
    assert "个人信息保护法 13" not in html


def test_sdk_entry_names_sdk_vendor_phase_and_highlighted_pi_fields() -> None:
    html = render_html(sample_result(), lang="zh-CN")
    article = _entry_of(html, "RD-3.1-sdk-pre-consent")
    assert "第三方SDK：友盟统计（友盟同欣（北京）科技有限公司）" in article
    assert "同意隐私政策前" in article
    assert '<mark class="pi">IMEI/MEID设备识别码</mark>' in article
    assert "body:$.header.imei_md5" in article and "5d41********2a7c" in article
    assert "2026-11-28T19:41:02.123Z" in article and "ulogs.umeng.com" in article


def test_values_masked_by_default_even_inside_urls() -> None:
    html = render_html(sample_result(raw_values=True), lang="en")
    for raw in RAW_VALUES.values():
        assert raw not in html
    # the first-party request carries the IMEI in its query string: shown masked and highlighted
    assert 'imei=<mark class="pi">8612*******0123</mark>&amp;ch=huawei' in html
    assert "Values are masked" in html


def test_unmask_shows_stored_raw_values() -> None:
    html = render_html(sample_result(raw_values=True), lang="en", unmask=True)
    assert '<span class="mono">861234567890123</span>' in html
    assert 'imei=<mark class="pi">861234567890123</mark>' in html
    assert RAW_VALUES["android_id"] in html


def test_unmask_without_stored_values_says_so() -> None:
    html = render_html(sample_result(), lang="en", unmask=True)
    assert "861234567890123" not in html
    assert "5d41********2a7c (raw value not stored in the result)" in html


def test_permission_necessity() -> None:
    html = render_html(sample_result(), lang="en")
    table = html[html.index('id="permissions"'):html.index('id="manual"')]
    rows = {m.group(1): m.group(2) for m in re.finditer(r'<td class="mono">([\w.]+)</td>.*?<td class="nec-(\w+)">', table, re.S)}
    assert rows == {
        "android.permission.ACCESS_FINE_LOCATION": "not_necessary",  # as the scan decided: type 38 needs no PI
        "android.permission.CAMERA": "not_necessary",
        "android.permission.INTERNET": "no_pi",
        "android.permission.READ_CONTACTS": "not_necessary",  # by the NPI finding
        "android.permission.READ_PHONE_STATE": "not_necessary",
    }
    npi = next(f for f in sample_result()["findings"] if f["pack"] == "cn-npi-2021")
    assert f'<a href="#{npi["id"]}">see finding {npi["id"]}</a>' in table


def test_permission_necessity_without_category_or_recorded_decision() -> None:
    html = render_html(complete_result(), lang="en")  # category null
    assert "No app category given; not assessed" in html
    old = sample_result()  # a result written before scans recorded their decision
    for perm in old["facts"]["permissions"]:
        perm.pop("necessary")
    table = render_html(old, lang="en")
    table = table[table.index('id="permissions"'):table.index('id="manual"')]
    assert "The scan recorded no necessity decision" in table


def test_the_report_shows_the_scans_decision_not_todays_table() -> None:
    result = sample_result()
    camera = next(p for p in result["facts"]["permissions"] if p["name"] == "android.permission.CAMERA")
    camera["necessary"] = True  # as if an older NPI table had listed the camera for this app type
    table = render_html(result, lang="en")
    table = table[table.index('id="permissions"'):table.index('id="manual"')]
    row = table[table.index("android.permission.CAMERA"):]
    assert 'class="nec-necessary"' in row[:row.index("</tr>")]


def test_sections_sdk_manual_limitations_provenance() -> None:
    result = sample_result()
    html = render_html(result, lang="en")
    sdks = html[html.index('id="sdks"'):html.index('id="permissions"')]
    assert "Umeng Analytics" in sdks and "Umeng Tongxin (Beijing) Technology" in sdks
    assert "code_prefix: com.umeng (412 classes)" in sdks and "<strong>yes</strong>" in sdks
    manual = html[html.index('id="manual"'):html.index('id="limitations"')]
    assert "RD-1.2" in manual and "Does first run prompt the user" in manual
    lims = html[html.index('id="limitations"'):html.index('id="provenance"')]
    assert 'data-kind="payload_opaque"' in lims and "obs:25" in lims
    prov = html[html.index('id="provenance"'):]
    assert "piscan scan notes-2.3.1.apk --category 38" in prov
    for pack in result["provenance"]["packs"]:
        assert pack["sha256"] in prov
    assert result["provenance"]["inputs"][0]["sha256"] in prov


def test_self_contained_and_csp() -> None:
    html = render_html(sample_result())
    assert "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">" in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert "http://" not in html.replace("http://api.example-notes.cn", "")
    assert "@page" in html and "counter(pages)" in html


def test_hostile_strings_are_escaped_everywhere() -> None:
    for lang in ("zh-CN", "en"):
        html = render_html(hostile_result(), lang=lang, unmask=True)
        for payload in XSS_PAYLOADS:
            assert payload not in html
        assert "<script" not in html and "<img" not in html and "<svg" not in html
        assert "&lt;script&gt;document.title=&#39;XSS-SCRIPT-RAN&#39;&lt;/script&gt;" in html
        style = html[html.index("<style>"):html.index("</style>")]
        assert "</" not in style.replace("</style>", "")  # the case id in @page is CSS-escaped


def test_every_label_used_by_views_exists_in_both_languages() -> None:
    table = labels()
    for key in ("severity.high", "phase.before_consent", "evidence_level.observed_traffic", "limitation.not_collected",
                "necessity.not_recorded", "doc.RD", "doc.NPI", "doc.PIPL", "doc.WX", "party.sdk"):
        assert table.get(key, "zh-CN") and table.get(key, "en")


def test_miniprogram_result() -> None:
    html = render_html(miniprogram_result(), lang="en")
    evidence = html[html.index('class="evidence ev-miniprogram_api"'):]
    evidence = evidence[:evidence.index("</div>")]
    assert "<th>API</th><td>wx.getLocation</td>" in evidence
    assert "<th>Location</th><td>pages/signup/signup.js:42</td>" in evidence
    assert "<th>Caller method</th><td>onLoad</td>" in evidence
    app = html[html.index('id="app"'):html.index('id="summary"')]
    assert "WeChat mini-program" in app and "Min / target SDK" not in app and "Signature schemes" not in app
    perms = html[html.index('id="permissions"'):html.index('id="manual"')]
    assert '<td class="mono">scope.userLocation</td><td class="nec-not_necessary">no purpose stated</td>' in perms
    assert 'data-kind="not_collected"' in html
