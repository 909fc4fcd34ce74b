"""Offline analysis: a replayed capture of Chinese-SDK requests, HAR, the corpus capture, facts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
import pytest
from mitmproxy import io

from scanner.schema import result_schema
from scanner.traffic.analyze import Analyzer
from scanner.traffic.offline import analyze_capture, capture_facts, session_facts
from scanner.traffic.party import PartyResolver
from scanner.traffic.device_profile import load_profile
from scanner.traffic.synthetic import sdk_flows

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "samples" / "device-profile.yaml"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(load_profile(PROFILE), PartyResolver("com.example.shop"))


@pytest.fixture
def sdk_capture(tmp_path: Path) -> Path:
    path = tmp_path / "sdk.mitm"
    with open(path, "wb") as handle:
        writer = io.FlowWriter(handle)
        for flow in sdk_flows(rounds=2):
            writer.add(flow)
    return path


def _by_host(observations) -> dict[str, dict]:
    return {o.host: o.to_json() for o in observations}


def test_sdk_replay_attribution_and_matches(sdk_capture: Path, analyzer: Analyzer) -> None:
    observations = analyze_capture(sdk_capture, analyzer)
    assert [o.seq for o in observations] == list(range(1, 17))
    hosts = _by_host(observations[:8])
    parties = {h: (o["party"]["kind"], o["party"]["sdk_id"], o["party"]["vendor"]) for h, o in hosts.items()}
    assert parties["ulogs.umeng.com"][0] == "sdk" and parties["ulogs.umeng.com"][1].startswith("umeng")
    assert parties["ulogs.umeng.com"][2] == "友盟同欣（北京）科技有限公司"
    assert parties["android.bugly.qq.com"] == ("sdk", "bugly", "深圳市腾讯计算机系统有限公司")
    assert parties["stream.dcloud.net.cn"] == ("sdk", "dcloud", "数字天堂（北京）网络技术有限公司")
    assert parties["amdcopen.m.taobao.com"] == ("sdk", "alibaba_push", "阿里巴巴（中国）有限公司")
    # jpush.cn is claimed by both JiGuang records of the pack; either is the right vendor
    assert parties["tsis.jpush.cn"][:2] in {("sdk", "jpush"), ("sdk", "jiguang_core")}
    assert parties["tsis.jpush.cn"][2] == "深圳市和讯华谷信息技术有限公司"
    assert parties["sdk.open.phone.igexin.com"] == ("sdk", "getui", "每日互动股份有限公司")
    assert parties["api.example.com"][0] == "first_party"
    assert parties["cdn.unknown-tracker.net"][0] == "third_party"

    def found(host: str) -> set[tuple[str, str, str, str]]:
        return {(m["pi_type"], m["location"], m["encoding"], m["detector"]) for m in hosts[host]["matches"]}

    umeng = hosts["ulogs.umeng.com"]
    assert umeng["opaque"] and umeng["opaque_reason"].startswith("opaque: likely encrypted or compressed") and umeng["matches"] == []
    assert hosts["android.bugly.qq.com"]["opaque"]
    assert found("stream.dcloud.net.cn") == {("imei", "query:imei", "plain", "profile")}
    assert hosts["stream.dcloud.net.cn"]["cleartext"] is True
    assert found("amdcopen.m.taobao.com") == set()
    assert found("tsis.jpush.cn") == {
        ("imei", "body:$.imei_md5", "md5", "profile"),
        ("android_id", "body:$.android_id", "sha1", "profile"),
        ("location_precise", "body:$.{lat,lng}", "plain", "profile"),
    }
    getui = found("sdk.open.phone.igexin.com")
    # values inside base64 say so; the profile's canary app in the list is claimed, not also the list
    assert {("imei", "body:form:data:base64:$.imei", "base64", "profile"),
            ("mac_address", "body:form:data:base64:$.mac", "base64 → nosep", "profile"),
            ("advertising_id", "body:form:data:base64:$.oaid", "base64", "profile"),
            ("installed_apps", "body:form:data:base64:$.apps[2]", "base64", "profile")} == getui
    assert found("api.example.com") == {("android_id", "body:$.device.android_id", "plain", "profile")}


def test_facts_frequency_limitations_and_schema(sdk_capture: Path, analyzer: Analyzer) -> None:
    facts, limitations = capture_facts(analyze_capture(sdk_capture, analyzer))
    jsonschema.Draft202012Validator(result_schema()["properties"]["facts"]["properties"]["traffic"]).validate(facts)
    imei_dcloud = next(f for f in facts["frequency"] if f["pi_type"] == "imei" and f["host"] == "stream.dcloud.net.cn")
    assert imei_dcloud == {"pi_type": "imei", "host": "stream.dcloud.net.cn", "phase": "unmarked", "count": 2, "min_interval_s": 8.0}
    assert [(lim.kind, lim.where) for lim in limitations] == [
        ("payload_opaque", "traffic:android.bugly.qq.com"), ("payload_opaque", "traffic:ulogs.umeng.com")]
    assert "2 request(s) to ulogs.umeng.com could not be decoded" in limitations[1].detail


def test_har_gives_the_same_observations(tmp_path: Path, sdk_capture: Path, analyzer: Analyzer) -> None:
    flows = list(sdk_flows())
    entries = []
    for flow in flows:
        req = flow.request
        entries.append({
            "startedDateTime": "2025-11-28T19:40:%06.3fZ" % (req.timestamp_start - 1_764_358_800.0),
            "request": {"method": req.method, "url": req.url, "httpVersion": req.http_version,
                        "headers": [{"name": k, "value": v} for k, v in req.headers.items(multi=True)],
                        "postData": {"mimeType": req.headers.get("content-type", ""),
                                     "text": base64.b64encode(req.raw_content).decode(), "encoding": "base64"}},
        })
    har = tmp_path / "sdk.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    from_har = [o.to_json() for o in analyze_capture(har, analyzer)]
    from_mitm = [o.to_json() for o in analyze_capture(sdk_capture, analyzer)[:8]]
    # a HAR entry has no request end time
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("flow_id", "time_end")} for r in rows]  # noqa: E731
    assert strip(from_har) == strip(from_mitm)


def test_corpus_connectivity_capture_has_zero_pi(corpus: Path, analyzer: Analyzer) -> None:
    observations = analyze_capture(corpus / "traffic" / "trafficissue-android-connectivity-flows.mitm", analyzer)
    assert [(o.method, o.host, o.url.split("/")[-1]) for o in observations] == [
        ("GET", "connectivitycheck.gstatic.com", "generate_204"), ("GET", "www.google.com", "gen_204"),
        ("GET", "connectivitycheck.gstatic.com", "generate_204"), ("GET", "www.google.com", "gen_204"),
    ]
    assert all(o.matches == () and not o.opaque and o.cleartext for o in observations)
    assert {o.party.kind for o in observations} == {"third_party"}


def test_bad_captures_give_one_line(tmp_path: Path, analyzer: Analyzer) -> None:
    from scanner.errors import InputError

    bad = tmp_path / "bad.mitm"
    bad.write_bytes(b"this is not a flow dump")
    with pytest.raises(InputError, match="not a readable mitmproxy capture"):
        analyze_capture(bad, analyzer)
    har = tmp_path / "bad.har"
    har.write_text('{"log": {}}')
    with pytest.raises(InputError, match="not a HAR file"):
        analyze_capture(har, analyzer)


def test_sample_session_facts() -> None:
    facts, limitations = session_facts(REPO / "tests" / "data" / "session-unbound")
    jsonschema.Draft202012Validator(result_schema()["properties"]["facts"]["properties"]["traffic"]).validate(facts)
    assert facts["session"]["chains_verified"] is True
    assert [m["phase"] for m in facts["session"]["marks"]] == ["after_consent", "background"]
    phases = {(o["host"], o["phase"]) for o in facts["observations"] if o["matches"]}
    assert ("stream.dcloud.net.cn", "before_consent") in phases
    assert ("tsis.jpush.cn", "background") in phases
    assert {lim.kind for lim in limitations} == {"payload_opaque"}


def test_session_facts_reattribute_first_party_for_the_scanned_app() -> None:
    facts, _ = session_facts(REPO / "tests" / "data" / "session-unbound", first_party_prefixes=["com.example.shop"])
    parties = {o["host"]: o["party"]["kind"] for o in facts["observations"]}
    assert parties["api.example.com"] == "first_party"
    assert parties["ulogs.umeng.com"] == "sdk" and parties["cdn.unknown-tracker.net"] == "third_party"
    facts, _ = session_facts(REPO / "tests" / "data" / "session-unbound", first_party_prefixes=["org.other.app"])
    assert {o["host"]: o["party"]["kind"] for o in facts["observations"]}["api.example.com"] == "third_party"
