"""The fake-result builders follow docs/result-format.md: schema-valid, sorted, ids as documented."""

from __future__ import annotations

import hashlib

from scanner.pi import vocabulary
from scanner.schema import validation_errors
from scanner.model.records import finding_id
from scanner.testing.builders import ResultBuilder
from scanner.testing.samples import XSS_PAYLOADS, complete_result, hostile_result, miniprogram_result, sample_result


def fact_ids(result: dict) -> set[str]:
    facts = result["facts"]
    ids = {row["id"] for key in ("permissions", "api_calls", "sdks") for row in facts.get(key, [])}
    return ids | {row["id"] for row in facts["traffic"]["observations"]}


def test_results_are_schema_valid() -> None:
    for result in (sample_result(), complete_result(), hostile_result(), miniprogram_result()):
        assert validation_errors(result) == []


def test_sample_content() -> None:
    result = sample_result()
    assert result["complete"] is False
    assert [lim["kind"] for lim in result["limitations"]] == ["payload_opaque", "reachability_bound"]
    assert [f["rule_id"] for f in result["findings"]] == [
        "RD-3.1-api-pre-consent", "RD-3.1-sdk-pre-consent", "RD-3.1-traffic-pre-consent",
        "NPI-38-beyond-necessary", "RD-4.1-permission-unrelated",
    ]
    assert result["summary"] == {
        "by_severity": {"high": 3, "medium": 1, "low": 1, "info": 0},
        "by_document": {"NPI": 1, "PIPL": 2, "RD": 5},
        "findings": 5,
        "manual_checks": 1,
    }
    call = next(c for c in result["facts"]["api_calls"] if c["api_id"] == "telephony.getDeviceId")
    assert call["id"] == "api:classes.dex:Lcom/example/notes/util/DeviceUtil;->readId(Landroid/content/Context;)Ljava/lang/String;@0x1a"
    assert call["reach_entry"] == "com.example.notes.App.onCreate"
    upload = result["facts"]["traffic"]["observations"][0]
    assert upload["phase"] == "before_consent" and upload["matches"][0]["value_masked"] == "5d41********2a7c"
    assert "value" not in upload["matches"][0]


def test_finding_ids_and_evidence_refs() -> None:
    result = sample_result()
    ids = fact_ids(result)
    for finding in result["findings"]:
        refs = [e["ref"] for e in finding["evidence"]]
        expected = "F-" + hashlib.sha256("\n".join([finding["rule_id"], *sorted(refs)]).encode()).hexdigest()[:16]
        assert finding["id"] == expected == finding_id(finding["rule_id"], list(reversed(refs)))
        assert set(refs) <= ids, finding["rule_id"]


def test_lists_are_sorted_and_pi_types_known() -> None:
    result = sample_result()
    facts = result["facts"]
    names = [p["name"] for p in facts["permissions"]]
    assert names == sorted(names)
    keys = [(c["api_id"], c["caller"]["class"], c["caller"]["method"], c["dex"], c["offset"]) for c in facts["api_calls"]]
    assert keys == sorted(keys)
    vocab = vocabulary()
    used = {pi for key in ("permissions", "api_calls", "sdks") for row in facts[key] for pi in row["pi_types"]}
    used |= {m["pi_type"] for o in facts["traffic"]["observations"] for m in o["matches"]}
    assert all(pi in vocab for pi in used)


def test_deterministic_and_independent() -> None:
    first = sample_result()
    first["findings"].clear()
    assert sample_result() == sample_result() != first


def test_hostile_result_carries_payloads() -> None:
    result = hostile_result()
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(result)
    for payload in XSS_PAYLOADS:
        assert any(payload in s for s in strings), payload
    assert any(s.startswith("Notes<script>") for s in strings)  # the app label
    assert result["complete"] is False and "packed" in {lim["kind"] for lim in result["limitations"]}


def test_builder_without_category() -> None:
    result = ResultBuilder(category=None).build()
    assert result["case"]["category"] is None
    assert result["provenance"]["command"] == ["piscan", "scan", "notes-2.3.1.apk"]
    assert result["complete"] is True and result["findings"] == []
