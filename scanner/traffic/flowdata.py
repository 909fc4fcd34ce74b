"""Reduce a mitmproxy flow, or a request's state, to :class:`RequestData` (references, no copies)."""

from __future__ import annotations

from typing import Any

from mitmproxy import http
from mitmproxy.net.http import url

from .observation import RequestData


def request_data(flow: http.HTTPFlow) -> RequestData:
    """The request of a flow, detached from mitmproxy; bodies and header tuples are shared, not copied."""
    return request_data_from_state(flow.id, flow.request.get_state())


def request_data_from_state(flow_id: str, state: dict[str, Any]) -> RequestData:
    """:class:`RequestData` for a request's state, without building an ``http.Request``.

    ``Request.from_state`` type-checks every field and builds a header multidict, a quarter of
    the analysis process's work per flow. The fields follow mitmproxy's own definitions
    (``Request.pretty_host``, ``pretty_url``, ``host_header``, ``first_line_format``), with its
    URL helpers; a test holds this function to a real ``Request``'s properties on varied requests.
    """
    method = _text(state["method"]).upper()
    scheme = _text(state["scheme"])
    path = _text(state["path"])
    host: str = state["host"]
    port: int = state["port"]
    fields = tuple(tuple(field) for field in state["headers"])
    host_header = _host_header(state, fields)
    if host_header:
        pretty_host, header_port = url.parse_authority(host_header, check=False)
        pretty_port = header_port or url.default_port(scheme) or 443
    else:
        pretty_host, pretty_port = host, port
    if method == "CONNECT":  # first_line_format "authority"
        pretty_url = _authority(state["authority"])
    else:
        pretty_url = url.unparse(scheme, pretty_host, pretty_port, path)
    return RequestData(
        flow_id=flow_id,
        timestamp=state["timestamp_start"],
        method=method,
        scheme=scheme,
        host=pretty_host,
        port=port,
        url=pretty_url,
        path=path,
        http_version=_text(state["http_version"]),
        headers=fields,
        content=state["content"] or b"",
        timestamp_end=state.get("timestamp_end"),
    )


def websocket_message_data(state: dict[str, Any], message: Any, flow_id: str) -> RequestData:
    """One message a client sent on a WebSocket, as a request of channel ``websocket``: the
    handshake's URL and host (for attribution and display), the message as the body, the
    message's own time. Headers stay with the handshake's own observation, so nothing in them is
    claimed again for every message."""
    handshake = request_data_from_state(flow_id, state["request"])
    _type, _from_client, content, timestamp = message[:4]  # WebSocketMessage.get_state() order
    return RequestData(
        flow_id=flow_id, timestamp=float(timestamp), method="WS", scheme=handshake.scheme, host=handshake.host,
        port=handshake.port, url=handshake.url, path=handshake.path, http_version=handshake.http_version,
        headers=(), content=content if isinstance(content, bytes) else str(content).encode("utf-8"),
        timestamp_end=float(timestamp), channel="websocket")


def requests_of_state(state: dict[str, Any]) -> list[RequestData]:
    """The requests a flow's state holds: a PIScan WebSocket message record is that one message;
    any other HTTP flow is its request, then each message its client sent (a plain mitmdump
    capture keeps a WebSocket's messages inside the flow)."""
    from .channel_events import MESSAGE_KEY

    flow_id = str(state["id"])
    messages = (state.get("websocket") or {}).get("messages") or []
    if MESSAGE_KEY in (state.get("metadata") or {}):
        return [websocket_message_data(state, m, flow_id) for m in messages[:1]]
    out = [request_data_from_state(flow_id, state["request"])]
    out.extend(websocket_message_data(state, m, f"{flow_id}#ws{i}") for i, m in enumerate(messages) if m[1])
    return out


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _authority(value: bytes) -> str:
    try:
        return value.decode("idna")
    except UnicodeError:
        return value.decode("utf8", "surrogateescape")


def _host_header(state: dict[str, Any], fields: tuple[tuple[bytes, bytes], ...]) -> str | None:
    """``Request.host_header``: the Host header (folded), or for HTTP/2 and 3 the authority first."""
    values = [_text(value) for name, value in fields if name.lower() == b"host"]
    header = ", ".join(values) if values else None
    if state["http_version"] in (b"HTTP/2.0", b"HTTP/3"):
        return _authority(state["authority"]) or header
    return header
