"""The committed demo APK, through the real APK collectors, yields the findings the issue names.

IMEI read reachable from Application.onCreate -> RD-3.1 (citing PIPL 13); READ_CONTACTS with
``--category 38`` (utility tools, no PI needed) -> RD-4.1 and the NPI rule. SDK attribution is
replaced by a first-party prefix test so this checks the rule engine, not the SDK pack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.rules.loader import load_packs


def _scan_demo(apk_path: Path, category: str | None, out_dir: Path) -> dict[str, Any]:
    """The sample scanned as `piscan scan` does it (the same collector, packs and pipeline)."""
    from scanner.apk.collector import AndroidCollector
    from scanner.scan import CaseInfo, run_scan

    return run_scan(apk_path, collectors=[AndroidCollector()], ruleset=load_packs(), out_dir=out_dir,
                    command=["piscan", "scan", apk_path.name], case=CaseInfo(category=category), reproducible=True)


@pytest.fixture(scope="module")
def demo_38(sample_apk: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _scan_demo(sample_apk, "38", tmp_path_factory.mktemp("demo38"))


def test_imei_in_application_oncreate_gives_rd_3_1_with_pipl_13(demo_38: dict[str, Any]) -> None:
    app_class = demo_38["app"]["application_class"]
    imei = [c for c in demo_38["facts"]["api_calls"]
            if c["api_id"] == "telephony.getDeviceId" and c["caller"]["class"] == app_class and c["caller"]["method"] == "onCreate"]
    assert len(imei) == 1 and imei[0]["reachable_before_ui"] is True
    (finding,) = [f for f in demo_38["findings"]
                  if f["rule_id"] == "RD-3.1-api-before-ui" and f["party"]["kind"] == "first_party"]
    assert {"kind": "api_call", "ref": imei[0]["id"]} in finding["evidence"]
    assert {"doc": "PIPL", "item": "13"} in finding["legal_refs"]
    assert finding["evidence_level"] == "reachable_before_consent"


def test_read_contacts_in_a_utility_tool_gives_rd_4_1_and_npi(demo_38: dict[str, Any]) -> None:
    for rule_id in ("RD-4.1-permission-not-necessary", "NPI-5-permission-beyond-necessary"):
        (finding,) = [f for f in demo_38["findings"] if f["rule_id"] == rule_id]
        assert {"kind": "permission", "ref": "perm:android.permission.READ_CONTACTS"} in finding["evidence"]
        assert "perm:android.permission.INTERNET" not in {e["ref"] for e in finding["evidence"]}


def test_boot_receiver_gives_self_start(demo_38: dict[str, Any]) -> None:
    receivers = [c["id"] for c in demo_38["facts"]["components"] if c["kind"] == "receiver"
                 and any("android.intent.action.BOOT_COMPLETED" in f["actions"] for f in c["intent_filters"])]
    (finding,) = [f for f in demo_38["findings"] if f["rule_id"] == "M164-6-self-start"]
    assert [e["ref"] for e in finding["evidence"]] == receivers


def test_without_category_no_necessity_findings(sample_apk: Path, tmp_path: Path) -> None:
    result = _scan_demo(sample_apk, None, tmp_path / "out")
    fired = {f["rule_id"] for f in result["findings"]}
    assert "RD-3.1-api-before-ui" in fired
    assert not fired & {"RD-4.1-permission-not-necessary", "NPI-5-permission-beyond-necessary"}


def test_findings_fit_the_result_schema(demo_38: dict[str, Any]) -> None:
    from scanner.schema import validation_errors

    errors = [e for e in validation_errors(demo_38) if e.split("/")[0] in ("findings", "manual_checks", "summary", "provenance")]
    assert errors == []
    assert demo_38["summary"]["findings"] == len(demo_38["findings"]) > 0
