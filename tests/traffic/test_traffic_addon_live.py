"""End to end: real mitmdump + the addon on loopback, a real client, real HTTP and HTTPS servers."""

from __future__ import annotations

import base64
import os
import gzip
import hashlib
import json
import ssl
import time
from pathlib import Path

import httpx
from mitmproxy import io

from scanner.cli import main
from scanner.testing.detection_set import pb_bytes as _pb_bytes
from scanner.testing.detection_set import varint as _varint
from scanner.traffic.offline import session_facts
from scanner.traffic.verify import verify_session

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "samples" / "device-profile.yaml"
IMEI1, IMEI2 = "861234567890127", "861234567890135"


def _wait_for_records(path: Path, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {count} records")


def _found(obs: dict) -> set[tuple[str, str, str]]:
    return {(m["pi_type"], m["location"], m["encoding"]) for m in obs["matches"]}


def test_profile_values_in_every_encoding_with_phases(tmp_path, echo_servers, start_proxy) -> None:
    session = tmp_path / "session"
    proxy = start_proxy(session, PROFILE)
    http_base = f"http://127.0.0.1:{echo_servers.http_port}"
    https_base = f"https://127.0.0.1:{echo_servers.https_port}"
    sent: list[bytes] = []

    with httpx.Client(proxy=proxy.url, verify=ssl.create_default_context(cafile=str(proxy.ca)), timeout=20) as client:
        # A, before consent: gzip JSON over plain HTTP
        doc = {"device": {"imei": IMEI1, "aid_md5": hashlib.md5(b"9774d56d682e549c").hexdigest(),
                          "mac": "AC3743123456", "imei2_sha256": hashlib.sha256(IMEI2.encode()).hexdigest()},
               "loc": {"lat": 39.9088, "lng": 116.3976}}
        body = gzip.compress(json.dumps(doc).encode())
        sent.append(body)
        client.post(f"{http_base}/collect", content=body,
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}).raise_for_status()

        assert main(["mark", "consent", "--session", str(session)]) == 0
        # B, after consent: protobuf over HTTPS (nested message 1 holds IMSI and base64 OAID)
        inner = _pb_bytes(3, b"460001234567890") + _pb_bytes(4, base64.b64encode(b"f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"))
        body = _pb_bytes(1, inner) + _varint(2 << 3) + _varint(7)
        sent.append(body)
        client.post(f"{https_base}/pb", content=body, headers={"Content-Type": "application/x-protobuf"}).raise_for_status()

        assert main(["mark", "refuse", "--session", str(session)]) == 0
        # C, after refusal: a form and a multipart upload over HTTPS
        body = b"phone=%2B8613800138000&ssid=PIScan-Lab&serial=r58m12abcde"
        sent.append(body)
        client.post(f"{https_base}/form", content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"}).raise_for_status()
        files = {"file": ("c.json", json.dumps({"contacts": [{"name": "金丝雀测试"}]}, ensure_ascii=False).encode(), "application/json")}
        client.post(f"{https_base}/upload", files=files).raise_for_status()

        assert main(["mark", "background", "--session", str(session)]) == 0
        # D, background: query, JSON in a header, a hash in a header, base64 in a cookie
        client.get(f"{http_base}/ping?bssid=f4-6d-04-aa-bb-cc", headers={
            "X-Device": json.dumps({"gaid": "38400000-8CF0-11BD-B23E-10B96E40000D"}),
            "X-Token": hashlib.sha1(b"89860012345678901234").hexdigest(),
            "Cookie": "clip=" + base64.b64encode(b"piscan-clipboard-canary-7f3a").decode(),
        }).raise_for_status()
    proxy.stop()

    facts, limitations = session_facts(session)
    obs = facts["observations"]
    assert [o["phase"] for o in obs] == ["before_consent", "after_consent", "after_refusal", "after_refusal", "background"]
    assert [(o["method"], o["scheme"], o["cleartext"]) for o in obs] == [
        ("POST", "http", True), ("POST", "https", False), ("POST", "https", False), ("POST", "https", False), ("GET", "http", True)]
    assert {("imei", "body:$.device.imei", "plain"), ("android_id", "body:$.device.aid_md5", "md5"),
            ("mac_address", "body:$.device.mac", "nosep"), ("imei", "body:$.device.imei2_sha256", "sha256"),
            ("location_precise", "body:$.loc.{lat,lng}", "plain")} <= _found(obs[0])
    # the base64 OAID is claimed once, where it was decoded (not also as base64 text)
    assert {("imsi", "body:protobuf:1.3", "plain"), ("advertising_id", "body:protobuf:1.4:base64", "base64")} <= _found(obs[1])
    assert ("advertising_id", "body:protobuf:1.4", "base64") not in _found(obs[1])
    assert {("phone_number", "body:form:phone", "nosep"), ("wifi_info", "body:form:ssid", "plain"),
            ("serial_number", "body:form:serial", "lower")} <= _found(obs[2])
    assert ("contacts", "body:multipart:file:$.contacts[0].name", "plain") in _found(obs[3])
    assert {("wifi_info", "query:bssid", "plain"), ("advertising_id", "header:X-Device:$.gaid", "upper"),
            ("iccid", "header:X-Token", "sha1"), ("clipboard", "cookie:clip:base64", "base64")} <= _found(obs[4])
    imei = next(m for m in obs[0]["matches"] if m["location"] == "body:$.device.imei")
    assert imei["value_masked"] == "8612********127" and imei["detector"] == "profile"
    assert not any(o["opaque"] for o in obs) and limitations == []
    assert [m["phase"] for m in facts["session"]["marks"]] == ["after_consent", "after_refusal", "background"]
    # the addon never alters traffic: the servers got the bodies byte for byte
    assert [b for _m, _p, b in echo_servers.received if b in sent] == sent
    report = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
    assert report.ok and report.flows == 5, [p.text() for p in report.problems]
    # flows.mitm is mitmproxy's native format: mitmproxy reads back the same flows, bodies as sent
    with open(session / "flows.mitm", "rb") as handle:
        flows = list(io.FlowReader(handle).stream())
    assert sorted(f.id for f in flows) == sorted(o["flow_id"] for o in obs)
    by_id = {f.id: f for f in flows}
    assert [by_id[o["flow_id"]].request.raw_content for o in obs][:3] == sent
    assert all(f.response.status_code == 200 and f.server_conn.address[0] == "127.0.0.1" for f in flows)
    assert by_id[obs[1]["flow_id"]].server_conn.tls_established
