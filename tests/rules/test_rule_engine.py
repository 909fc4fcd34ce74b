"""The rule engine over whole results: findings per party, stable ids, manual checks, summary, --fail-on."""

from __future__ import annotations

import copy
import hashlib

import pytest

from scanner.errors import UsageError
from scanner.result import dumps, finish_result, new_result
from scanner.rules.categories import resolve_category
from scanner.rules.engine import evaluate, fails, severity_rank
from scanner.model.records import finding_id
from scanner.rules.loader import load_packs
from scanner.schema import validation_errors

IMEI_CALL = "api:classes.dex:Lcn/piscan/demo/DemoApplication;->onCreate()V@0x1e"
SDK_CALL = "api:classes2.dex:Lcom/umeng/commonsdk/UMConfigure;->init()V@0x40"
CLICK_CALL = "api:classes.dex:Lcn/piscan/demo/MainActivity;->onClick(Landroid/view/View;)V@0x12"
CONTACTS = "perm:android.permission.READ_CONTACTS"


def _api(ref: str, api_id: str, pi: list[str], owner: dict, before_ui: bool | None, caller: str) -> dict:
    return {"id": ref, "api_id": api_id, "api": "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
            "access": "invoke", "pi_types": pi, "permission": "android.permission.READ_PHONE_STATE",
            "caller": {"class": caller, "method": "onCreate", "descriptor": "()V"}, "dex": ref.split(":")[1],
            "offset": 30, "argument": None, "owner": owner, "reachable_before_ui": before_ui,
            "reach_entry": f"{caller}.onCreate" if before_ui else None,
            "reach_path": [f"{caller}.onCreate()V"] if before_ui else None, "smali": None}


FIRST = {"kind": "first_party", "sdk_id": None, "sdk_name": None, "vendor": None}
UMENG = {"kind": "sdk", "sdk_id": "umeng-analytics", "sdk_name": "Umeng Analytics", "vendor": "Umeng"}


def demo_result(category: str | None = None) -> dict:
    """A result shaped like the demo APK's: IMEI read from Application.onCreate, READ_CONTACTS, an SDK."""
    result = new_result(command=["piscan", "scan", "piscan-demo.apk"], inputs=[], reproducible=True,
                        category=resolve_category(category) if category else None)
    result["app"] = {"platform": "android", "package": "cn.piscan.demo", "label": {"default": "PIScan Demo", "zh-CN": None},
                     "application_class": "cn.piscan.demo.DemoApplication", "first_party_prefixes": ["cn.piscan.demo"]}
    result["facts"] = {
        "permissions": [
            {"id": "perm:android.permission.INTERNET", "name": "android.permission.INTERNET", "protection_level": "normal",
             "pi_types": [], "group": None, "dangerous_since": None, "max_sdk_version": None, "applies": True,
             "declared_as": ["uses-permission"], "known": True},
            {"id": CONTACTS, "name": "android.permission.READ_CONTACTS", "protection_level": "dangerous",
             "pi_types": ["contacts"], "group": "CONTACTS", "dangerous_since": 23, "max_sdk_version": None, "applies": True,
             "declared_as": ["uses-permission"], "known": True},
        ],
        "api_calls": [
            _api(SDK_CALL, "telephony.getDeviceId", ["imei"], UMENG, True, "com.umeng.commonsdk.UMConfigure"),
            _api(IMEI_CALL, "telephony.getDeviceId", ["imei"], FIRST, True, "cn.piscan.demo.DemoApplication"),
            _api(CLICK_CALL, "telephony.getDeviceId", ["imei"], FIRST, False, "cn.piscan.demo.MainActivity"),
        ],
        "sdks": [],
    }
    return result


def _by_rule(result: dict, rule_id: str) -> list[dict]:
    return [f for f in result["findings"] if f["rule_id"] == rule_id]


def test_imei_from_application_oncreate_gives_rd_3_1_with_pipl_13() -> None:
    result = demo_result()
    evaluate(result, load_packs())
    found = _by_rule(result, "RD-3.1-api-before-ui")
    first = [f for f in found if f["party"]["kind"] == "first_party"]
    assert len(first) == 1
    finding = first[0]
    assert finding["evidence"] == [{"kind": "api_call", "ref": IMEI_CALL}]
    assert finding["evidence_level"] == "reachable_before_consent"
    assert {"doc": "PIPL", "item": "13"} in finding["legal_refs"]
    # the rule allows "high", but code alone shows a capability: capped at the evidence level's max
    assert finding["severity"] == "medium" and finding["pack"] == "cn-rd-2019" and finding["phase"] is None
    assert finding["id"] == "F-" + hashlib.sha256(f"RD-3.1-api-before-ui\n{IMEI_CALL}".encode()).hexdigest()[:16]


def test_findings_are_grouped_per_responsible_party() -> None:
    result = demo_result()
    evaluate(result, load_packs())
    found = _by_rule(result, "RD-3.1-api-before-ui")
    assert [(f["party"]["kind"], f["party"]["sdk_id"], [e["ref"] for e in f["evidence"]]) for f in found] == sorted(
        [("first_party", None, [IMEI_CALL]), ("sdk", "umeng-analytics", [SDK_CALL])],
        key=lambda row: next(f["id"] for f in found if f["party"]["kind"] == row[0]))
    sdk = next(f for f in found if f["party"]["kind"] == "sdk")
    assert sdk["party"] == UMENG


def test_read_contacts_in_a_utility_tool_gives_rd_4_1_and_the_npi_rule() -> None:
    result = demo_result(category="38")
    evaluate(result, load_packs())
    for rule_id in ("RD-4.1-permission-not-necessary", "NPI-5-permission-beyond-necessary", "M164-5-permission-overreach"):
        (finding,) = _by_rule(result, rule_id)
        assert finding["evidence"] == [{"kind": "permission", "ref": CONTACTS}]
        assert finding["party"] == FIRST and finding["evidence_level"] == "declared"
    (npi_api,) = _by_rule(result, "NPI-5-api-beyond-necessary")[:1]
    assert {"doc": "NPI", "item": "5"} in npi_api["legal_refs"]


def test_category_rules_stay_silent_without_a_category() -> None:
    result = demo_result()
    evaluate(result, load_packs())
    fired = {f["rule_id"] for f in result["findings"]}
    assert not fired & {"RD-4.1-permission-not-necessary", "NPI-5-permission-beyond-necessary", "NPI-5-api-beyond-necessary"}
    assert "NPI-4-refusal-blocks-basic-function" not in {c["rule_id"] for c in result["manual_checks"]}


def test_finding_id_is_stable_across_fact_order_and_unrelated_facts() -> None:
    a = demo_result(category="38")
    b = demo_result(category="38")
    b["facts"]["api_calls"].reverse()
    b["facts"]["permissions"].append({"id": "perm:android.permission.VIBRATE", "name": "android.permission.VIBRATE",
                                      "pi_types": [], "applies": True})
    evaluate(a, load_packs())
    evaluate(b, load_packs())
    ids_a = {(f["rule_id"], f["party"]["kind"]): f["id"] for f in a["findings"]}
    ids_b = {(f["rule_id"], f["party"]["kind"]): f["id"] for f in b["findings"]}
    assert ids_a == ids_b
    assert finding_id("R", ["b", "a", "a"]) == finding_id("R", ["a", "b"]) != finding_id("R2", ["a", "b"])


def test_order_summary_provenance_and_schema() -> None:
    result = demo_result(category="实用工具类")
    evaluate(result, load_packs())
    keys = [(severity_rank(f["severity"]), f["rule_id"], f["id"]) for f in result["findings"]]
    assert keys == sorted(keys)
    summary = result["summary"]
    assert set(summary) == {"by_severity", "by_document", "findings", "manual_checks"}
    assert list(summary["by_severity"]) == ["high", "medium", "low", "info"]
    assert sum(summary["by_severity"].values()) == summary["findings"] == len(result["findings"])
    assert summary["by_document"]["RD"] == sum(1 for f in result["findings"] if any(r["doc"] == "RD" for r in f["legal_refs"]))
    assert summary["manual_checks"] == len(result["manual_checks"])
    packs = {(p["kind"], p["id"]) for p in result["provenance"]["packs"]}
    assert {("rules", "cn-rd-2019"), ("rules", "pipl"), ("data", "npi-types")} <= packs
    finish_result(result, reproducible=True)
    assert validation_errors(result) == []


def test_manual_checks_and_their_gates() -> None:
    result = demo_result(category="38")
    evaluate(result, load_packs())
    checks = {c["rule_id"]: c for c in result["manual_checks"]}
    assert checks["RD-1.1"]["what_to_check"]["en"].startswith("Look for a privacy-policy entry")
    assert checks["RD-1.1"]["legal_refs"][0] == {"doc": "RD", "item": "1.1"}
    assert "NPI-4-no-pi-type" in checks  # type 38 needs no PI
    assert "RD-3.6" not in checks  # no advertising or push SDK
    assert not any(rule_id.startswith("WX-") for rule_id in checks)  # wechat-mp is mini-program only
    with_ads = demo_result()
    with_ads["facts"]["sdks"] = [{"id": "sdk:pangle", "sdk_id": "pangle", "name": {"zh": "穿山甲", "en": "Pangle"},
                                  "vendor": None, "category": "advertising", "pi_types": []}]
    evaluate(with_ads, load_packs())
    assert "RD-3.6" in {c["rule_id"] for c in with_ads["manual_checks"]}


def test_evaluation_is_deterministic() -> None:
    first = demo_result(category="38")
    second = copy.deepcopy(first)
    evaluate(first, load_packs())
    evaluate(second, load_packs())
    assert dumps(first) == dumps(second)


def test_disabled_rule_produces_nothing_and_its_pack_is_not_recorded() -> None:
    result = demo_result()
    evaluate(result, load_packs(disabled=["RD-3.1-api-before-ui", "wechat-mp"]))
    assert not _by_rule(result, "RD-3.1-api-before-ui")
    assert "wechat-mp" not in {p["id"] for p in result["provenance"]["packs"]}


def test_fail_on() -> None:
    result = demo_result()
    evaluate(result, load_packs())
    assert not fails(result, "high"), "code-only findings are capped at medium"
    assert fails(result, "medium") and fails(result, "info")
    assert not fails(result, "never")
    assert not fails({"findings": [{"severity": "low"}]}, "medium")
    assert fails({"findings": [{"severity": "medium"}]}, "medium")
    with pytest.raises(UsageError, match="unknown severity 'critical'; valid: high, medium, low, info"):
        fails(result, "critical")


def test_party_less_evidence_joins_every_party_group() -> None:
    from scanner.rules.engine import rule_findings
    from scanner.rules.model import Rule

    rule = Rule(id="T-1", pack="t", title={"zh-CN": "t", "en": "t"}, explanation={"zh-CN": "t", "en": "t"},
                severity="low", legal_refs=({"doc": "RD", "item": "3.1"},), verification="V", platforms=("android",),
                match={"all": [{"permission": {"name": "android.permission.READ_CONTACTS"}},
                               {"api": {"reachable_before_ui": True}}]})
    findings = rule_findings(rule, demo_result())
    assert sorted((f.party["kind"], [e.ref for e in f.evidence]) for f in findings) == [
        ("first_party", [CONTACTS, IMEI_CALL]), ("sdk", [CONTACTS, SDK_CALL])]
    assert all(f.evidence_level == "reachable_before_consent" for f in findings)


def test_incomplete_code_asks_for_a_manual_pre_consent_check() -> None:
    result = demo_result()
    evaluate(result, load_packs())
    assert "RD-3.1-incomplete-evidence" not in {c["rule_id"] for c in result["manual_checks"]}
    result["limitations"] = [{"kind": "packed", "detail": "code is protected by a packer", "where": "jiagu"}]
    evaluate(result, load_packs())
    assert "RD-3.1-incomplete-evidence" in {c["rule_id"] for c in result["manual_checks"]}
