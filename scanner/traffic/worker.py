"""The addon's analysis process: decode, match, attribute, and write the session files.

The proxy's event loop only queues small pieces in batches (the request state, the response
state, each connection's state once); this separate process (own interpreter, own GIL)
does everything else, so the proxy's throughput does not depend on the analysis. The flows
file gets exactly the record ``HTTPFlow.get_state()`` would give, rebuilt from those pieces.
If the proxy dies, the process notices its parent is gone, writes what reached it and exits.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("piscan")
STOP = None
POLL_S = 0.5
REQUEST_CACHE_MAX = 4096


@dataclass(frozen=True)
class WorkerConfig:
    """What the analysis process needs (plain values: it is sent to a fresh interpreter)."""

    session: str | None
    device: str | None
    package: str | None
    body_cap: int
    parent_pid: int


def run(items: Any, config: WorkerConfig) -> None:
    """Process queue items until ``STOP`` (or until the proxy process is gone)."""
    from mitmproxy import http
    from mitmproxy.io import tnetstring

    from .analyze import Analyzer
    from .flowdata import request_data_of
    from .party import PartyResolver
    from .profile import load_profile
    from .session import FLOWS_FILE, OBSERVATIONS_FILE
    from .store import ChainWriter

    # Ctrl-C reaches the whole process group; the proxy's done() tells us when to stop, after
    # everything queued is written
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # proxying comes first: on a busy machine the analysis catches up when the proxy is idle
    os.nice(10)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    analyzer = Analyzer(load_profile(config.device) if config.device else None,
                        PartyResolver(config.package), config.body_cap)
    observations = flows = None
    if config.session:
        observations = ChainWriter(Path(config.session) / OBSERVATIONS_FILE)
        flows = open(Path(config.session) / FLOWS_FILE, "ab")  # noqa: SIM115 - closed below
    conns: dict[str, dict[str, Any]] = {}
    requests: dict[str, dict[str, Any]] = {}  # request states awaiting their flow record

    def handle(item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "req":
            _, flow_id, seq, phase, state = item
            if flows is not None:
                if len(requests) >= REQUEST_CACHE_MAX:
                    requests.pop(next(iter(requests)))
                requests[flow_id] = state
            req = request_data_of(flow_id, http.Request.from_state(state))
            try:
                obs = analyzer.observe(req, seq, phase)
            except Exception as exc:  # noqa: BLE001 - one bad flow must not stop the session
                log.exception("piscan: analysis of flow %s failed", flow_id)
                obs = analyzer.failed(req, seq, phase, f"analysis error: {type(exc).__name__}: {exc}")
            if observations is not None:
                observations.append(obs.to_json())
            if obs.matches or obs.opaque:
                kinds = ",".join(sorted({m.pi_type for m in obs.matches})) or "-"
                log.info("piscan: #%d %s %s %s PI=%s%s", seq, phase, obs.method, obs.host, kinds,
                         " (opaque)" if obs.opaque else "")
        elif kind == "conn":
            conns[item[1]] = item[2]
        elif kind == "forget":
            conns.pop(item[1], None)
        elif kind == "flow" and flows is not None:
            state = item[1]
            queued = requests.pop(state["id"], None)
            if state["request"] is None:
                state["request"] = queued
            state["client_conn"] = conns[state["client_conn"]]
            state["server_conn"] = conns[state["server_conn"]]
            tnetstring.dump(state, flows)
            flows.flush()

    try:
        while True:
            try:
                item = items.get(timeout=POLL_S)
            except queue.Empty:
                if os.getppid() != config.parent_pid:
                    return  # the proxy was killed; everything that reached us is written
                continue
            if item is STOP:
                return
            for entry in item[1]:
                handle(entry)
    finally:
        if observations is not None:
            observations.close()
        if flows is not None:
            flows.close()
