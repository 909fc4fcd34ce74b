"""What the proxy saw but could not inspect, and WebSocket messages as flow records.

- **Not inspected** (:class:`ConnectionEvents`): TLS handshakes that failed (the client refused
  the proxy's certificate, which is what certificate pinning does, or the server's TLS failed),
  connections passed through as raw TCP, and UDP flows such as QUIC. Each is an ``events.jsonl``
  record: the 1st, 10th, 100th... failure per host and kind (so a pinning SDK retrying all day
  costs a handful of records, and a crash loses at most the count since the last one), and the
  totals in the stop record. :func:`connection_limitations` turns them into limitations, one per
  host, so the result is incomplete and names the hosts.
- **WebSocket messages** (:func:`message_record_state`): each message the client sends becomes
  its own flow record, the flow's state with that one message, under its own id; the
  analysis reads it as a request of channel ``websocket`` (:func:`scanner.traffic.flowdata.request_data_from_record_state`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from ..model.records import Limitation

MESSAGE_KEY = "piscan_ws_message"  #: metadata key of a WebSocket message record
_WS_NAMESPACE = uuid.UUID("6f1d6c7e-3c59-4a6e-9a55-1f4f2b7c9d01")


def message_record_state(flow_state: dict[str, Any], index: int) -> dict[str, Any]:
    """A flow record for WebSocket message ``index`` of a flow: the flow's state with only that
    message, a deterministic id of its own, and the original flow id and index in its metadata."""
    websocket = dict(flow_state["websocket"] or {})
    websocket["messages"] = [websocket.get("messages", [])[index]]
    metadata = dict(flow_state.get("metadata") or {})
    metadata[MESSAGE_KEY] = {"flow": flow_state["id"], "index": index}
    return {**flow_state, "id": str(uuid.uuid5(_WS_NAMESPACE, f"{flow_state['id']}#{index}")),
            "websocket": websocket, "metadata": metadata}


def _host(sni: str | None, address: Any) -> str:
    if sni:
        return str(sni)
    if isinstance(address, (tuple, list)) and address:
        return f"{address[0]}:{address[1]}" if len(address) > 1 else str(address[0])
    return "unknown host"


class ConnectionEvents:
    """Counts what could not be inspected, per (kind, host), and records it as it happens."""

    def __init__(self, record: Callable[[str, dict[str, Any]], None]) -> None:
        self._record = record
        self._counts: Counter[tuple[str, str]] = Counter()

    def _seen(self, kind: str, host: str, fields: dict[str, Any]) -> None:
        key = (kind, host)
        self._counts[key] += 1
        count = self._counts[key]
        if count == 1 or _power_of_ten(count):
            self._record("not_inspected", {"kind": kind, "host": host, "count": count, **fields})

    def tls_failed(self, side: str, sni: str | None, address: Any, error: str | None) -> None:
        """A TLS handshake that failed on the client side (pinning) or the server side."""
        self._seen(f"tls_failed_{side}", _host(sni, address), {"error": str(error or "")[:300]})

    def not_intercepted(self, transport: str, sni: str | None, address: Any) -> None:
        """A raw TCP or UDP flow the proxy passed on without reading it."""
        self._seen(f"{transport}_passthrough", _host(sni, address), {})

    def totals(self) -> list[dict[str, Any]]:
        """Every (kind, host) with its count, sorted, for the stop record."""
        return [{"kind": kind, "host": host, "count": n} for (kind, host), n in sorted(self._counts.items())]


def _power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1


_WHY = {
    "tls_failed_client": "the client refused the TLS handshake with the proxy {n} time(s) (the proxy's certificate "
                         "was rejected: likely certificate pinning)",
    "tls_failed_server": "the TLS handshake between the proxy and the server failed {n} time(s)",
    "tcp_passthrough": "{n} connection(s) were passed through as raw TCP without being decrypted or read",
    "udp_passthrough": "{n} UDP flow(s) (e.g. QUIC/HTTP3) were passed through without being read",
}


def connection_limitations(events: Iterable[dict[str, Any]]) -> list[Limitation]:
    """One ``traffic_not_inspected`` limitation per host: what the session could not read there.
    Counts are the largest recorded (the stop record's totals, else the last power-of-ten record)."""
    counts: dict[tuple[str, str], int] = {}
    errors: dict[tuple[str, str], str] = {}
    for event in events:
        rows: list[dict[str, Any]] = []
        if event.get("event") == "not_inspected":
            rows = [event]
        elif event.get("event") == "stop":
            rows = [r for r in event.get("not_inspected") or [] if isinstance(r, dict)]
        for row in rows:
            key = (str(row.get("kind")), str(row.get("host")))
            counts[key] = max(counts.get(key, 0), int(row.get("count") or 0))
            if row.get("error") and key not in errors:
                errors[key] = str(row["error"])
    by_host: dict[str, list[str]] = {}
    for (kind, host), n in sorted(counts.items()):
        why = _WHY.get(kind, kind + " {n} time(s)").format(n=n)
        if errors.get((kind, host)):
            why += f"; first error: {errors[(kind, host)]}"
        by_host.setdefault(host, []).append(why)
    return [Limitation("traffic_not_inspected", f"{host}: " + "; ".join(whys) + "; what the app sent there is unknown",
                       f"traffic:{host}") for host, whys in sorted(by_host.items())]
