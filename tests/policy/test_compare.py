"""Declared vs observed on real scans: the demo APK with its sample policy, and a corpus APK with
UCloud's SDK list. The results come from the real scanner (run_scan), the documents from the
real readers; the comparison is checked against the result schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.policy import load_policy
from scanner.policy.compare import attach_policy, policy_facts
from scanner.rules.loader import load_packs
from scanner.scan import default_collectors, run_scan
from scanner.traffic.joiner import SessionJoiner
from scanner.schema import validation_errors
from scanner.testing.corpus import REPO
from scanner.testing.requirements import needs_mitmproxy

SAMPLES = REPO / "samples"


def _scan(apk: Path, tmp: Path, session: Path | None = None) -> dict[str, Any]:
    joiners = [SessionJoiner(session)] if session is not None else []
    return run_scan(apk, collectors=default_collectors(), joiners=joiners, ruleset=load_packs(), out_dir=tmp,
                    command=["piscan", "scan", str(apk)], reproducible=True)


@pytest.fixture(scope="module")
def sample_docs() -> list[dict[str, Any]]:
    return [load_policy(SAMPLES / "policy" / "privacy-policy.md"), load_policy(SAMPLES / "policy" / "sdk-list.md")]


@pytest.fixture(scope="module")
def demo_static(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _scan(SAMPLES / "piscan-demo.apk", tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo_session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _scan(SAMPLES / "piscan-demo.apk", tmp_path_factory.mktemp("demo-s"), SAMPLES / "session")


def _by_id(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in policy["comparisons"]}


def test_sample_policy_omits_umeng_and_the_comparison_quotes_both_sides(demo_static: dict[str, Any], sample_docs: list[dict[str, Any]]) -> None:
    result = attach_policy(demo_static, sample_docs)
    assert validation_errors(result) == []
    cmp = _by_id(result["facts"]["policy"])["cmp:sdk_undeclared:umeng_analytics"]
    assert cmp["status"] == "mismatch" and cmp["missing"] == []
    # declared side: the SDK list that does not name it, quoted with its title; observed side: the SDK fact
    assert [q["quote"] for q in cmp["declared"]] == ["PIScan 演示应用第三方SDK共享清单"]
    assert cmp["observed"] == [{"kind": "sdk", "ref": "sdk:umeng_analytics"}]
    assert "sdk:umeng_analytics" in {s["id"] for s in demo_static["facts"]["sdks"]}


def test_sample_policy_static_comparisons(demo_static: dict[str, Any], sample_docs: list[dict[str, Any]]) -> None:
    policy = policy_facts(demo_static, sample_docs)
    got = {c["id"]: c["status"] for c in policy["comparisons"]}
    assert got == {
        "cmp:sdk_undeclared:umeng_analytics": "mismatch",
        "cmp:pi_undeclared:installed_apps": "mismatch",
        "cmp:sensitive_unmarked:contacts": "mismatch",
        "cmp:permission_no_purpose:android.permission.ACCESS_WIFI_STATE": "mismatch",
        "cmp:permission_no_purpose:android.permission.QUERY_ALL_PACKAGES": "mismatch",
    }
    apps = _by_id(policy)["cmp:pi_undeclared:installed_apps"]
    assert {o["kind"] for o in apps["observed"]} == {"api_call", "permission"}
    assert "permission:android.permission.QUERY_ALL_PACKAGES" not in [o["ref"] for o in apps["observed"]]
    assert "perm:android.permission.QUERY_ALL_PACKAGES" in [o["ref"] for o in apps["observed"]]
    contacts = _by_id(policy)["cmp:sensitive_unmarked:contacts"]
    assert contacts["declared"][0]["quote"].startswith("当您使用“邀请好友”功能时")
    assert contacts["declared"][0]["where"]["section"] == "一、我们如何收集和使用您的个人信息"
    # the bold 精确位置信息 and 设备标识符 are sensitive/marked or not sensitive: no comparison for them
    assert policy["has_policy"] and policy["lists_sdks"] and policy["complete"]
    assert policy["cancellation_described"] is True and policy["complaint_channel"] is True


@needs_mitmproxy
def test_session_traffic_of_the_app_backs_the_undeclared_sdk_and_other_apps_traffic_is_not_used(
        demo_session: dict[str, Any], sample_docs: list[dict[str, Any]]) -> None:
    policy = policy_facts(demo_session, sample_docs)
    by_id = _by_id(policy)
    # Umeng, omitted from the SDK list, was seen sending from the demo app (tied by package and app key)
    umeng = by_id["cmp:sdk_undeclared:umeng_analytics"]
    assert umeng["status"] == "mismatch"
    assert {o["ref"] for o in umeng["observed"] if o["kind"] == "observation"} == {"obs:2", "obs:7", "obs:10", "obs:12"}
    # the other app's Getui, JPush, DCloud and Bugly requests on the same phone are not the demo app's
    assert not [c for c in policy["comparisons"] if c["subject"].get("sdk_id") in ("getui", "jpush", "jiguang_core", "dcloud", "bugly")]
    unattributed = {o["host"] for o in demo_session["facts"]["traffic"]["unattributed"]}
    assert {"sdk.open.phone.igexin.com", "tsis.jpush.cn", "stream.dcloud.net.cn", "android.bugly.qq.com"} <= unattributed
    # the policy took effect on 2025-11-01, before the session of 2025-11-28
    assert not any(c["kind"] == "effective_after_session" for c in policy["comparisons"])


def test_a_missing_sdk_list_makes_sdk_comparisons_undecidable(demo_static: dict[str, Any], sample_docs: list[dict[str, Any]]) -> None:
    result = attach_policy(demo_static, sample_docs[:1])
    policy = result["facts"]["policy"]
    cmp = _by_id(policy)["cmp:sdk_undeclared:umeng_analytics"]
    assert cmp["status"] == "undecidable"
    assert cmp["missing"] == ["《第三方SDK共享清单》 (referenced, not provided)"]
    assert not policy["complete"] and result["complete"] is False
    limits = [lim for lim in result["limitations"] if lim["kind"] == "policy_incomplete"]
    assert len(limits) == 1 and "第三方SDK共享清单" in limits[0]["detail"]
    assert validation_errors(result) == []


def test_only_an_sdk_list_decides_no_pi_question(demo_static: dict[str, Any], sample_docs: list[dict[str, Any]]) -> None:
    policy = policy_facts(demo_static, sample_docs[1:])
    statuses = {c["kind"]: c["status"] for c in policy["comparisons"]}
    assert statuses["policy_missing"] == "undecidable"
    assert statuses["pi_undeclared"] == "undecidable"
    assert statuses["permission_no_purpose"] == "undecidable"
    assert statuses["sdk_undeclared"] == "mismatch"


@pytest.mark.corpus
@pytest.mark.slow
def test_corpus_apk_with_umeng_and_bugly_against_ucloud_sdk_list(corpus: Path, tmp_path: Path) -> None:
    result = _scan(corpus / "apk" / "getactivity-androidproject-2019-09.apk", tmp_path)
    detected = {s["sdk_id"] for s in result["facts"]["sdks"]}
    assert {"umeng_analytics", "bugly"} <= detected
    out = attach_policy(result, [load_policy(corpus / "policies" / "ucloud" / "thirdpart_dependence.md")])
    by_id = _by_id(out["facts"]["policy"])
    for sdk in ("umeng_analytics", "bugly"):
        cmp = by_id[f"cmp:sdk_undeclared:{sdk}"]
        assert cmp["status"] == "mismatch"
        assert cmp["declared"][0]["quote"] == "UCloud APP授权合作伙伴"
        assert cmp["observed"] == [{"kind": "sdk", "ref": f"sdk:{sdk}"}]
    assert validation_errors(out) == []


def test_a_pdf_page_without_text_makes_not_declared_undecidable(demo_static: dict[str, Any], tmp_path: Path) -> None:
    from scanner.testing.pdf import make_pdf

    path = tmp_path / "policy.pdf"
    path.write_bytes(make_pdf(["Privacy Policy. We collect your phone number, device ID and location.", None]))
    result = attach_policy(demo_static, [load_policy(path)])
    policy = result["facts"]["policy"]
    undeclared = [c for c in policy["comparisons"] if c["kind"] in ("pi_undeclared", "sdk_undeclared", "permission_no_purpose")]
    assert undeclared and all(c["status"] == "undecidable" for c in undeclared)
    assert any("have no text layer" in m for c in undeclared for m in c["missing"])
    assert "policy_page_no_text" in {lim["kind"] for lim in result["limitations"]}
    # and the format cannot show bold: a sensitive type it declares is undecidable, not "unmarked"
    assert all(c["status"] == "undecidable" for c in policy["comparisons"] if c["kind"] == "sensitive_unmarked")
    assert validation_errors(result) == []


@needs_mitmproxy
def test_the_undeclared_sdk_becomes_a_finding_quoting_the_list_and_citing_the_traffic(
        demo_session: dict[str, Any], sample_docs: list[dict[str, Any]]) -> None:
    from scanner.rules.engine import evaluate

    result = attach_policy(demo_session, sample_docs)
    evaluate(result, load_packs())
    assert validation_errors(result) == []
    by_rule = {f["rule_id"]: f for f in result["findings"]}
    sdk = by_rule["RD-2.1-sdk-undeclared"]
    assert [e["ref"] for e in sdk["evidence"]] == ["cmp:sdk_undeclared:umeng_analytics"]
    # the observed side is traffic tied to the app: conduct, so the evidence level is observed traffic
    assert sdk["evidence_level"] == "observed_traffic" and sdk["party"]["sdk_id"] == "umeng_analytics"
    assert {"RD-2.1-pi-undeclared", "RD-2.1-permission-no-purpose", "M26-sensitive-unmarked"} <= set(by_rule)


def test_an_undecidable_comparison_stays_out_of_the_findings(demo_static: dict[str, Any],
                                                              sample_docs: list[dict[str, Any]]) -> None:
    from scanner.rules.engine import evaluate

    result = attach_policy(demo_static, sample_docs[:1])  # the SDK list it refers to is missing
    evaluate(result, load_packs())
    assert not [f for f in result["findings"] if f["rule_id"] == "RD-2.1-sdk-undeclared"]
