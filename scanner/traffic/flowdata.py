"""Reduce a mitmproxy flow to :class:`RequestData` (constant work: references, no copies)."""

from __future__ import annotations

from mitmproxy import http

from .observation import RequestData


def request_data(flow: http.HTTPFlow) -> RequestData:
    """The request of a flow, detached from mitmproxy; bodies and header tuples are shared, not copied."""
    return request_data_of(flow.id, flow.request)


def request_data_of(flow_id: str, req: http.Request) -> RequestData:
    """:class:`RequestData` for a request and the id of its flow."""
    return RequestData(
        flow_id=flow_id,
        timestamp=req.timestamp_start,
        method=req.method,
        scheme=req.scheme,
        host=req.pretty_host,
        port=req.port,
        url=req.pretty_url,
        path=req.path,
        http_version=req.http_version,
        headers=tuple(req.headers.fields),
        content=req.raw_content or b"",
    )
