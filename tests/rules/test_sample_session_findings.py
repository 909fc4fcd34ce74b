"""The recorded sample proxy session (tests/data/session-unbound, recorded for no app: read without app binding), read by the real offline reader, gives traffic findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.result import add_limitation, new_result
from scanner.rules.engine import evaluate
from scanner.rules.loader import load_packs

SESSION = Path(__file__).resolve().parents[2] / "tests" / "data" / "session-unbound"


@pytest.fixture(scope="module")
def session_result() -> dict[str, Any]:
    from scanner.traffic.offline import session_facts

    traffic, limitations = session_facts(SESSION)
    result = new_result(command=["piscan", "traffic", "analyze"], inputs=[], reproducible=True)
    result["app"] = {"platform": "android", "package": "cn.piscan.demo", "label": {"default": None}}
    result["facts"]["traffic"] = traffic
    for limitation in limitations:
        add_limitation(result, limitation)
    evaluate(result, load_packs())
    return result


def _obs(result: dict[str, Any], **want: Any) -> list[str]:
    rows = result["facts"]["traffic"]["observations"]
    return [o["id"] for o in rows if all((o["party"]["kind"] if k == "party" else o[k]) == v for k, v in want.items())
            and o["matches"]]


def _groups(result: dict[str, Any], rule_id: str) -> dict[tuple[str, Any], list[str]]:
    """Evidence refs of a rule's findings, per responsible party (over every phase)."""
    groups: dict[tuple[str, Any], list[str]] = {}
    for f in result["findings"]:
        if f["rule_id"] == rule_id:
            groups.setdefault((f["party"]["kind"], f["party"]["sdk_id"]), []).extend(e["ref"] for e in f["evidence"])
    return groups


def test_pi_before_consent_per_party(session_result: dict[str, Any]) -> None:
    groups = _groups(session_result, "RD-3.1-traffic-before-consent")
    before = _obs(session_result, phase="before_consent")
    assert sorted(ref for refs in groups.values() for ref in refs) == sorted(before)
    assert groups[("first_party", None)] == _obs(session_result, phase="before_consent", party="first_party")
    assert all(f["phase"] == "before_consent" and f["evidence_level"] == "observed_traffic"
               for f in session_result["findings"] if f["rule_id"] == "RD-3.1-traffic-before-consent")


def test_third_party_before_consent_excludes_the_first_party(session_result: dict[str, Any]) -> None:
    groups = _groups(session_result, "RD-5.1-third-party-before-consent")
    refs = {ref for group in groups.values() for ref in group}
    assert refs == set(_obs(session_result, phase="before_consent")) - set(
        _obs(session_result, phase="before_consent", party="first_party"))
    assert ("first_party", None) not in groups and all(kind == "sdk" for kind, _ in groups)


def test_findings_are_split_by_phase(session_result: dict[str, Any]) -> None:
    phases = sorted(f["phase"] for f in session_result["findings"] if f["rule_id"] == "PIPL-51-cleartext-pi")
    assert phases == sorted({o["phase"] for o in session_result["facts"]["traffic"]["observations"]
                             if o["cleartext"] and o["matches"]})
    assert len(phases) == len(set(phases))


def test_cleartext_pi_and_background(session_result: dict[str, Any]) -> None:
    cleartext = [o["id"] for o in session_result["facts"]["traffic"]["observations"] if o["cleartext"] and o["matches"]]
    assert cleartext
    assert sorted(ref for refs in _groups(session_result, "PIPL-51-cleartext-pi").values() for ref in refs) == sorted(cleartext)
    background = _groups(session_result, "RD-4.4-background")
    assert sorted(ref for refs in background.values() for ref in refs) == sorted(_obs(session_result, phase="background"))


def test_opaque_sdk_payloads_before_consent_become_a_manual_check(session_result: dict[str, Any]) -> None:
    opaque = [o for o in session_result["facts"]["traffic"]["observations"] if o["opaque"] and o["phase"] == "before_consent"]
    assert opaque and session_result["complete"] is False
    assert "RD-5.1-opaque-before-consent" in {c["rule_id"] for c in session_result["manual_checks"]}
