"""The traffic detection set: a real mitmdump with the addon on loopback, a real client sending
PI in every encoding the decoder reads over HTTP/1.1, HTTP/2 and WSS, negative controls that
look like PI but are not this phone's, and a client that pins its server's certificate.

Measured on the session the proxy recorded (docs/traffic.md "Detection set"):
- recall of the profile-matched items (each expected (PI type, place) claimed at level profile);
- no claim about this phone (level profile or pattern) from any negative control;
- every encrypted payload listed as an opaque item; the pinning host in the limitations;
- each occurrence claimed once (no claim nested inside another claim of the same value).
"""

from __future__ import annotations

import gzip
import os
import ssl
import time
from pathlib import Path

import httpx
import pytest

from conftest import h2_request, tunnel, websocket_send
from scanner.testing.detection_set import CASES, PROFILE, Case
from scanner.traffic.observation import claims
from scanner.traffic.offline import session_facts
from scanner.traffic.verify import verify_session


def _send_h2(proxy_port: int, server_port: int, ca: Path, case: Case) -> str | None:
    headers = dict(case.headers)
    if case.content_type:
        headers["Content-Type"] = case.content_type
    path = f"/c/{case.name}" + (f"?{case.query}" if case.query else "")
    status, alpn = h2_request(proxy_port, server_port, ca, "POST" if case.body else "GET", path, headers, case.body)
    assert status == 200, (case.name, status)
    return alpn


def _send_http(client: httpx.Client, base: str, case: Case) -> None:
    headers = dict(case.headers)
    if case.content_type:
        headers["Content-Type"] = case.content_type
    body = case.body
    if case.encoding == "gzip":
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    url = f"{base}/c/{case.name}" + (f"?{case.query}" if case.query else "")
    if body:
        client.post(url, content=body, headers=headers).raise_for_status()
    else:
        client.get(url, headers=headers).raise_for_status()


def _pinning_client(proxy_port: int, server_port: int, server_cert: Path) -> str:
    """A client that trusts only its server's own certificate: the proxy's is refused."""
    context = ssl.create_default_context(cafile=str(server_cert))
    try:
        tunnel(proxy_port, "127.0.0.1", server_port, context).close()
    except ssl.SSLError as exc:
        return f"refused: {exc.reason}"
    return "accepted"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, echo_servers, wss_server):
    """Send the whole set through one proxy session; yields (cases by name, observations, limitations)."""
    from scanner.keys import create_key

    from conftest import MITMDUMP, free_port
    import scanner.traffic.addon as addon_module
    import signal
    import socket
    import subprocess

    tmp = tmp_path_factory.mktemp("detection")
    key = create_key(tmp / "keys" / "examiner-key.pem")
    session, port, confdir = tmp / "session", free_port(), tmp / "conf"
    log = open(tmp / "mitmdump.log", "wb")  # noqa: SIM115 - closed below
    env = {**os.environ, "PISCAN_KEY": str(key.path), "PISCAN_KEY_FINGERPRINT": key.fingerprint, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(MITMDUMP), "--listen-host", "127.0.0.1", "--listen-port", str(port),
                             "--set", f"confdir={confdir}", "--set", "ssl_insecure=true", "--set", "connection_strategy=lazy",
                             "-s", addon_module.__file__,
                             "--set", f"piscan_session={session}", "--set", f"piscan_device={PROFILE}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    ca = confdir / "mitmproxy-ca-cert.pem"
    deadline = time.monotonic() + 60
    while not ca.exists() or not _listening(socket, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"mitmdump did not start: {(tmp / 'mitmdump.log').read_text(errors='replace')}")
        time.sleep(0.1)
    try:
        verify = ssl.create_default_context(cafile=str(ca))
        base = f"https://127.0.0.1:{echo_servers.https_port}"
        h2_versions = set()
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=verify, timeout=20) as h1:
            for case in CASES:
                if case.websocket:
                    websocket_send(port, wss_server.port, ca, f"/ws/{case.name}", [case.body])
                elif case.http2:
                    h2_versions.add(_send_h2(port, echo_servers.https_port, ca, case))
                else:
                    _send_http(h1, base, case)
        pinned = _pinning_client(port, wss_server.port, wss_server.cert)
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=600)  # the analysis runs at idle priority: on a busy machine the drain waits for a free CPU
        log.close()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PISCAN_KEY_FINGERPRINT", key.fingerprint)
        facts, limitations = session_facts(session)
        verified = verify_session(session, expected_fingerprint=key.fingerprint)
    by_case: dict[str, list[dict]] = {}
    for obs in facts["observations"]:
        path = obs["url"].split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        if obs["channel"] == "websocket":
            by_case.setdefault(path.removeprefix("ws/"), []).append(obs)
        elif path.startswith("c/"):
            by_case.setdefault(path[2:], []).append(obs)
    return {"by_case": by_case, "limitations": limitations, "pinned": pinned, "h2": h2_versions, "verified": verified,
            "observations": facts["observations"]}


def _listening(socket_module, port: int) -> bool:
    try:
        with socket_module.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _profile_claims(observations: list[dict]) -> set[tuple[str, str]]:
    return {(m["pi_type"], m["location"]) for obs in observations for m in obs["matches"] if m["level"] == "profile"}


def test_the_set_is_as_large_as_promised() -> None:
    positives = sum(len(c.expect) for c in CASES)
    negatives = sum(1 for c in CASES if c.negative)
    assert positives >= 60 and negatives >= 15, (positives, negatives)
    assert {c.name for c in CASES if c.websocket} and {c.name for c in CASES if c.http2}


def test_every_case_was_recorded_over_its_channel(recorded) -> None:
    missing = [c.name for c in CASES if c.name not in recorded["by_case"]]
    assert missing == []
    assert recorded["h2"] == {"h2"}  # the ALPN the proxy agreed with the client
    ws = [o for c in CASES if c.websocket for o in recorded["by_case"][c.name]]
    assert ws and all(o["channel"] == "websocket" and o["method"] == "WS" for o in ws)


def test_the_session_with_websocket_records_verifies(recorded) -> None:
    assert recorded["verified"].ok, recorded["verified"].summary()


def test_recall_of_profile_matched_items(recorded) -> None:
    expected = [(c.name, pi, where) for c in CASES for pi, where in c.expect]
    missed = []
    for name, pi, where in expected:
        found = _profile_claims(recorded["by_case"][name])
        if not any(p == pi and where in loc for p, loc in found):
            missed.append((name, pi, where, sorted(found)))
    recall = 1 - len(missed) / len(expected)
    print(f"recall {recall:.3f} ({len(expected) - len(missed)} of {len(expected)})")
    assert recall >= 0.98, missed


def test_negative_controls_claim_nothing_about_this_phone(recorded) -> None:
    wrong = {c.name: [(m["pi_type"], m["location"], m["level"]) for o in recorded["by_case"][c.name] for m in claims(o)]
             for c in CASES if c.negative}
    assert {name: rows for name, rows in wrong.items() if rows} == {}
    shapes = {m["pi_type"] for c in CASES if c.negative for o in recorded["by_case"][c.name] for m in o["matches"]}
    assert {"imei", "wifi_info", "location_precise", "phone_number"} <= shapes  # seen, and said to be not this phone's


def test_encrypted_payloads_are_listed_as_opaque(recorded) -> None:
    for case in CASES:
        items = [i for o in recorded["by_case"][case.name] for i in o["opaque_items"]]
        if case.opaque:
            assert items and all(i["reason"].startswith("opaque: likely encrypted or compressed") for i in items), case.name
        elif not case.negative:
            assert items == [], (case.name, items)
    assert any(lim.kind == "payload_opaque" for lim in recorded["limitations"])


def test_pinning_host_is_a_limitation(recorded) -> None:
    assert recorded["pinned"].startswith("refused")
    rows = [lim for lim in recorded["limitations"] if lim.kind == "traffic_not_inspected"]
    assert rows and rows[0].where == "traffic:localhost" and "certificate pinning" in rows[0].detail


def test_each_occurrence_is_claimed_once(recorded) -> None:
    for obs in recorded["observations"]:
        rows = [(m["pi_type"], m["value_masked"], m["location"]) for m in obs["matches"]]
        for pi, value, loc in rows:
            nested = [other for p, v, other in rows if p == pi and v == value and other != loc and other.startswith(loc)]
            assert nested == [], (obs["url"], pi, loc, nested)
        assert len(rows) == len(set(rows))


def test_claims_name_their_detector_and_chain(recorded) -> None:
    sensors = recorded["by_case"]["form-sensors"][0]
    imei = next(m for m in sensors["matches"] if m["pi_type"] == "imei")
    assert imei["chain"] == "form:data_list → base64 → gzip → json:$[0].properties.$imei"
    assert imei["encoding"] == "base64 → gzip" and imei["detector"] == "profile"
    gbk = recorded["by_case"]["form-gbk-raw"][0]
    assert next(m for m in gbk["matches"] if m["pi_type"] == "imsi")["encoding"] == "gb18030"
