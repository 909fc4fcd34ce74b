"""The analysis process's fast paths, held to mitmproxy's own code as the oracle.

``flowfile`` must write the bytes ``mitmproxy.io.tnetstring`` writes, and
``request_data_from_state`` must give what a real ``http.Request`` gives, for varied flows.
"""

from __future__ import annotations

import io as stdio

import pytest
from mitmproxy import http, io
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow

from scanner.traffic import flowfile
from scanner.traffic.flowdata import request_data_from_state
from scanner.traffic.observation import RequestData
from scanner.traffic.synthetic import sdk_flows


def _varied_requests() -> list[http.Request]:
    """Requests that exercise every branch of pretty_host / pretty_url / host_header."""
    out = [flow.request for flow in sdk_flows()]
    base = tflow.tflow().request
    for version, authority, host_headers, method, host, port, scheme, path in [
        (b"HTTP/1.1", b"", [b"example.com"], b"GET", "93.184.216.34", 80, b"http", b"/a?b=1"),
        (b"HTTP/1.1", b"", [b"example.com:8443"], b"POST", "10.0.0.1", 8443, b"https", b"/x"),
        (b"HTTP/1.1", b"", [b"a.example", b"b.example"], b"get", "10.0.0.2", 80, b"http", b"/"),
        (b"HTTP/1.1", b"", [], b"GET", "example.org", 8080, b"http", b"/no-host-header"),
        (b"HTTP/1.0", b"", [b"xn--fsq.example"], b"GET", "1.2.3.4", 80, b"http", b"/idna"),
        (b"HTTP/2.0", b"h2.example:443", [], b"GET", "1.2.3.4", 443, b"https", b"/h2"),
        (b"HTTP/2.0", b"", [b"fallback.example"], b"GET", "1.2.3.4", 443, b"https", b"/h2-host"),
        (b"HTTP/3", b"h3.example", [], b"POST", "1.2.3.4", 443, b"https", b"/h3"),
        (b"HTTP/1.1", b"tunnel.example:443", [], b"CONNECT", "tunnel.example", 443, b"http", b""),
        (b"HTTP/1.1", b"", [b"[::1]:8080"], b"GET", "::1", 8080, b"http", b"/v6"),
        (b"HTTP/1.1", b"", [b"bad host header!"], b"GET", "10.9.9.9", 80, b"http", b"/\xff\xfe-bytes"),
    ]:
        req = base.copy()
        req.data.http_version, req.data.authority, req.data.method = version, authority, method
        req.data.host, req.data.port, req.data.scheme, req.data.path = host, port, scheme, path
        req.headers = http.Headers([(b"Host", value) for value in host_headers] + [(b"X-Test", b"1")])
        out.append(req)
    return out


def _from_request(flow_id: str, req: http.Request) -> RequestData:
    """The oracle: the same fields read through a real ``http.Request``'s properties."""
    return RequestData(
        flow_id=flow_id, timestamp=req.timestamp_start, method=req.method, scheme=req.scheme,
        host=req.pretty_host, port=req.port, url=req.pretty_url, path=req.path,
        http_version=req.http_version, headers=tuple(req.headers.fields), content=req.raw_content or b"",
        timestamp_end=req.timestamp_end,
    )


@pytest.mark.parametrize("req", _varied_requests(), ids=lambda r: f"{r.method}-{r.http_version}-{r.path[:12]}")
def test_request_data_from_state_equals_a_real_request(req: http.Request) -> None:
    state = req.get_state()
    assert request_data_from_state("id", state) == _from_request("id", http.Request.from_state(state))


def _flows() -> list[http.HTTPFlow]:
    return [*sdk_flows(), tflow.tflow(resp=True), tflow.tflow(err=True), tflow.twebsocketflow(),
            tflow.tflow(resp=True, err=True)]


def test_dumps_writes_mitmproxys_bytes_for_flows_and_scalars() -> None:
    for flow in _flows():
        state = flow.get_state()
        assert flowfile.dumps(state) == tnetstring.dumps(state)
    for value in [0, -7, 2**70, 1.5, -0.0, True, False, None, "", "ü€", b"", b"\x00\xff", [], {},
                  (1, "a"), [[1, {"k": b"v"}], {"nested": {"deeper": [None]}}]]:
        assert flowfile.dumps(value) == tnetstring.dumps(value), value
    with pytest.raises(ValueError, match="unserializable"):
        flowfile.dumps({"x": object()})


def test_spliced_connections_give_the_same_file_and_mitmproxy_reads_it() -> None:
    buffer = stdio.BytesIO()
    flows = _flows()
    for flow in flows:
        state = flow.get_state()
        expected = tnetstring.dumps(state)
        state["client_conn"] = flowfile.encode(state["client_conn"])
        state["server_conn"] = flowfile.encode(state["server_conn"])
        data = flowfile.dumps(state)
        assert data == expected
        buffer.write(data)
    buffer.seek(0)
    back = list(io.FlowReader(buffer).stream())
    assert [f.get_state() for f in back] == [f.get_state() for f in flows]
