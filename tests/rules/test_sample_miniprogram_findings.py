"""The committed demo mini-program (samples/miniprogram), through the real collector, yields the WeChat findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.result import new_result
from scanner.rules.categories import resolve_category
from scanner.rules.engine import evaluate
from scanner.rules.loader import load_packs

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "miniprogram"


@pytest.fixture(scope="module")
def demo_mp(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from scanner.miniprogram.collect import collect_miniprogram

    facts = collect_miniprogram(SAMPLE, wxid=None, subpackages=[], unpack_dir=tmp_path_factory.mktemp("mp") / "unpacked")
    result = new_result(command=["piscan", "scan", "miniprogram"], inputs=list(facts.inputs), reproducible=True,
                        category=resolve_category("38"))
    result["app"] = facts.app
    result["facts"].update(facts.sections)
    evaluate(result, load_packs())
    return result


def _use(result: dict[str, Any], api: str) -> str:
    (ref,) = [u["id"] for u in result["facts"]["miniprogram"]["api_uses"] if u["api"].rsplit(".", 1)[-1] == api]
    return ref


def _only(result: dict[str, Any], rule_id: str) -> dict[str, Any]:
    (finding,) = [f for f in result["findings"] if f["rule_id"] == rule_id]
    return finding


def test_get_location_not_in_required_private_infos(demo_mp: dict[str, Any]) -> None:
    assert "getLocation" not in demo_mp["facts"]["miniprogram"]["required_private_infos"]
    finding = _only(demo_mp, "WX-location-not-declared")
    assert [e["ref"] for e in finding["evidence"]] == [_use(demo_mp, "getLocation")]
    assert finding["party"]["kind"] == "first_party" and finding["evidence_level"] == "in_code"


def test_scope_without_desc_and_clipboard(demo_mp: dict[str, Any]) -> None:
    assert _only(demo_mp, "WX-scope-without-desc")["evidence"] == [
        {"kind": "miniprogram_config", "ref": "miniprogram:permission:scope.userLocation"}]
    assert [e["ref"] for e in _only(demo_mp, "WX-clipboard")["evidence"]] == [_use(demo_mp, "getClipboardData")]


def test_privacy_apis_without_authorisation_handling(demo_mp: dict[str, Any]) -> None:
    refs = [e["ref"] for e in _only(demo_mp, "WX-privacy-authorisation-missing")["evidence"]]
    assert refs[0] == "miniprogram:app.json"
    assert _use(demo_mp, "getLocation") in refs and _use(demo_mp, "getClipboardData") in refs


def test_phone_number_button_beyond_necessary_for_a_utility(demo_mp: dict[str, Any]) -> None:
    buttons = [b["id"] for b in demo_mp["facts"]["miniprogram"]["buttons"] if b["open_type"] == "getPhoneNumber"]
    refs = {e["ref"] for e in _only(demo_mp, "NPI-5-miniprogram-beyond-necessary")["evidence"]}
    assert buttons and set(buttons) <= refs


def test_android_only_rules_stay_out(demo_mp: dict[str, Any]) -> None:
    packs = {f["pack"] for f in demo_mp["findings"]} | {c["pack"] for c in demo_mp["manual_checks"]}
    assert "cn-miit-164" not in packs and "gbt-41391" not in packs
    assert "RD-3.5" not in {c["rule_id"] for c in demo_mp["manual_checks"]}
