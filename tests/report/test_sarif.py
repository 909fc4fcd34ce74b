"""SARIF 2.1.0 renderer: schema-valid, rule metadata, DEX locations, fingerprints, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest

from scanner.report.sarif import FINGERPRINT_KEY, render_sarif, sarif_log
from scanner.testing.samples import RAW_VALUES, complete_result, hostile_result, miniprogram_result, sample_result

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0.schema.json").read_text(encoding="utf-8"))


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    # The official schema writes run.language's pattern as "^(?i)…"; Python's re wants global flags
    # first, so move the flag in front of the anchor (same meaning) instead of editing the schema.
    fixed = "(?i)^" + pattern[len("^(?i)"):] if pattern.startswith("^(?i)") else pattern
    if validator.is_type(instance, "string") and not re.search(fixed, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


SarifValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


def sarif_errors(log: dict[str, Any]) -> list[str]:
    validator = SarifValidator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def test_validator_rejects_invalid_sarif() -> None:
    errors = sarif_errors({"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "language": "zzz-1", "results": [{"level": "bad"}]}]})
    assert any("'name' is a required property" in e for e in errors)
    assert any("'zzz-1' does not match" in e for e in errors)
    assert any("'message' is a required property" in e for e in errors)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("build", [sample_result, complete_result, hostile_result], ids=["sample", "complete", "hostile"])
def test_sarif_validates_against_official_schema(build: Any, lang: str) -> None:
    assert sarif_errors(sarif_log(build(), lang=lang)) == []


def test_rules_metadata_from_findings() -> None:
    result = sample_result()
    run = sarif_log(result, lang="en")["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert sorted(rules) == sorted({f["rule_id"] for f in result["findings"]})
    rule = rules["RD-3.1-api-pre-consent"]
    assert rule["shortDescription"]["text"] == "IMEI read before the user consents to the privacy policy"
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["legalRefs"] == [{"doc": "RD", "item": "3.1"}, {"doc": "PIPL", "item": "13"}]
    assert rule["properties"]["tags"] == ["privacy", "cn-rd-2019", "RD", "PIPL"]
    assert "RD 3.1 Methods for Identifying Illegal Collection and Use of PI by Apps (2019)" in rule["help"]["text"]
    assert rules["RD-4.1-permission-unrelated"]["defaultConfiguration"]["level"] == "note"


def test_call_site_becomes_dex_and_logical_locations() -> None:
    result = sample_result()
    run = sarif_log(result, lang="en")["runs"][0]
    finding = next(f for f in result["findings"] if f["rule_id"] == "RD-3.1-api-pre-consent")
    sarif_result = next(r for r in run["results"] if r["fingerprints"][FINGERPRINT_KEY] == finding["id"])
    assert sarif_result["ruleId"] == "RD-3.1-api-pre-consent"
    assert run["tool"]["driver"]["rules"][sarif_result["ruleIndex"]]["id"] == "RD-3.1-api-pre-consent"
    [location] = sarif_result["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "classes.dex"
    assert run["artifacts"][physical["artifactLocation"]["index"]]["location"]["uri"] == "classes.dex"
    assert physical["address"]["name"] == "Lcom/example/notes/util/DeviceUtil;->readId(Landroid/content/Context;)Ljava/lang/String;@0x1a"
    assert physical["properties"] == {"codeUnitOffset": 0x1A, "byteOffsetInMethod": 0x34}
    function, type_ = location["logicalLocations"]
    assert function == {
        "name": "readId",
        "fullyQualifiedName": "com.example.notes.util.DeviceUtil.readId(Landroid/content/Context;)Ljava/lang/String;",
        "decoratedName": "Lcom/example/notes/util/DeviceUtil;->readId(Landroid/content/Context;)Ljava/lang/String;",
        "kind": "function",
    }
    assert type_["kind"] == "type" and type_["fullyQualifiedName"] == "com.example.notes.util.DeviceUtil"
    steps = sarif_result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["logicalLocations"][0]["fullyQualifiedName"] for s in steps] == [
        "com.example.notes.App.onCreate()V",
        "com.example.notes.util.DeviceUtil.readId(Landroid/content/Context;)Ljava/lang/String;",
    ]


def test_every_finding_is_one_result_with_its_fingerprint() -> None:
    result = sample_result()
    run = sarif_log(result)["runs"][0]
    assert [r["fingerprints"][FINGERPRINT_KEY] for r in run["results"]] == [f["id"] for f in result["findings"]]
    sdk = next(r for r in run["results"] if r["ruleId"] == "RD-3.1-sdk-pre-consent")
    kinds = [loc.get("logicalLocations", [{}])[0].get("kind") for loc in sdk["locations"]]
    assert kinds == ["function", "resource", "module"]
    assert sdk["locations"][1]["logicalLocations"][0]["fullyQualifiedName"] == "https://ulogs.umeng.com/unify_logs"


def test_limitations_are_notifications_and_input_is_the_analysis_target() -> None:
    result = sample_result()
    run = sarif_log(result, lang="en")["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == ["payload_opaque", "reachability_bound"]
    assert run["properties"]["complete"] is False
    target = run["artifacts"][0]
    assert target["roles"] == ["analysisTarget"]
    assert target["hashes"]["sha-256"] == result["provenance"]["inputs"][0]["sha256"]


def test_no_pi_values_and_deterministic() -> None:
    text = render_sarif(sample_result(raw_values=True), lang="en")
    for raw in RAW_VALUES.values():
        assert raw not in text
    assert text == render_sarif(sample_result(raw_values=True), lang="en")
    assert text.endswith("}\n")


def test_miniprogram_api_becomes_file_and_line() -> None:
    log = sarif_log(miniprogram_result(), lang="en")
    assert sarif_errors(log) == []
    [result] = log["runs"][0]["results"]
    [location] = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "pages/signup/signup.js"
    assert location["physicalLocation"]["region"] == {"startLine": 42}
    assert location["logicalLocations"][0] == {"name": "wx.getLocation", "fullyQualifiedName": "onLoad", "kind": "function"}
