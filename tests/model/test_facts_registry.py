"""The fact registry and ResultView: every kind is schema'd and selectable, refs resolve, ids derive."""

from __future__ import annotations

from scanner.model.facts import FACT_KINDS, evidence_rank, fact_kind
from scanner.model.view import ResultView
from scanner.resources import schema_path
from scanner.rules.selectors import SELECTORS
from scanner.testing.samples import miniprogram_result, sample_result


def test_every_kind_has_a_schema_fragment_and_a_unique_name() -> None:
    names = [k.name for k in FACT_KINDS]
    assert len(names) == len(set(names))
    for kind in FACT_KINDS:
        assert schema_path(f"parts/{kind.fragment}.json").is_file(), kind.name
        assert kind.path.split(".", 1)[0] == kind.fragment, kind.name


def test_every_selector_reads_a_registered_kind() -> None:
    for spec in SELECTORS.values():
        if spec.name in ("context", "policy"):
            continue
        assert fact_kind(spec.kind).path, spec.name
        assert spec.source == "facts." + fact_kind(spec.kind).path


def test_evidence_order_follows_the_registry() -> None:
    assert evidence_rank("manifest") < evidence_rank("permission") < evidence_rank("api_call") < evidence_rank("observation")
    assert evidence_rank("no-such-kind") == 99


def test_every_finding_of_the_built_results_resolves() -> None:
    for result in (sample_result(), miniprogram_result()):
        view = ResultView(result)
        assert view.unresolved() == []
        for finding in view.findings:
            for ev, fact in view.evidence(finding):
                assert fact is not None and fact.kind.evidence == ev["kind"], (finding["rule_id"], ev)


def test_derived_ids_for_mini_program_declarations() -> None:
    result = {"facts": {"miniprogram": {"app_id": "wx1", "required_private_infos": ["getLocation"],
                                        "permission_scopes": [{"scope": "scope.userLocation", "desc": "导航"}]}}}
    view = ResultView(result)
    assert view.fact("miniprogram:app.json").kind.name == "miniprogram_config"
    assert view.fact("miniprogram:requiredPrivateInfos:getLocation").item["name"] == "getLocation"
    scope = view.fact("miniprogram:permission:scope.userLocation")
    assert scope is not None and scope.item["desc"] == "导航"
    assert view.fact("miniprogram:requiredPrivateInfos:chooseAddress") is None


def test_a_view_of_an_empty_result_has_nothing() -> None:
    view = ResultView({})
    assert view.items("api_call") == [] and view.fact("api:x") is None and view.findings == []
