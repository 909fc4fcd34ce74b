"""The addon's analysis process: decode, match, attribute, and write the session files.

The proxy's event loop only sends small pieces in batches down a pipe (the request state, the
response state, each connection's state once); this separate process (own interpreter, own GIL,
scheduled only when a CPU would otherwise idle) does everything else, so the proxy's throughput
does not depend on the analysis. The flows file gets exactly the bytes mitmproxy's own writer
would give for ``HTTPFlow.get_state()``, rebuilt from those pieces (:mod:`flowfile`). When the
proxy stops or dies the pipe reaches end-of-file; the process writes what reached it and exits.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from multiprocessing.connection import Connection
from typing import Any, BinaryIO

from . import flowfile
from .channel import Receiver
from .flowdata import request_data_from_state
from .session import FLOWS_FILE, OBSERVATIONS_FILE
from .store import ChainWriter

log = logging.getLogger("piscan")
REQUEST_CACHE_MAX = 4096
GATHER_S = 0.1


@dataclass(frozen=True)
class WorkerConfig:
    """What the analysis process needs (plain values: it is sent to a fresh interpreter)."""

    session: str | None
    device: str | None
    package: str | None
    body_cap: int
    sync_interval: float = 0.0  #: least seconds between group fsyncs (0: after every batch)


def run(pipe: Connection, config: WorkerConfig) -> None:
    """Process batches from the proxy until it closes the pipe (or its process is gone)."""
    # Ctrl-C reaches the whole process group; the proxy's done() tells us when to stop, after
    # everything queued is written
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _yield_to_the_proxy()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    analyser = _Analyser(config)
    receiver = Receiver(pipe.fileno())
    try:
        while True:
            try:
                batches = receiver.messages(timeout=analyser.sync_due_in())
            except EOFError:  # the proxy stopped, or was killed: everything that reached us is written
                return
            for batch in batches:
                for entry in batch:
                    analyser.handle(entry)
            analyser.sync_if_due()
            if batches:
                # let the next batches gather: fewer, longer passes keep this process's caches warm
                # and wake it less often (in the benchmark, a quarter less CPU per flow, and less
                # slowdown of the proxy that shares the machine); flows wait at most this long
                time.sleep(GATHER_S)
    finally:
        analyser.close()


def _yield_to_the_proxy() -> None:
    """Run only when a CPU would otherwise idle: on a busy machine the analysis catches up later."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        os.nice(19)


class _Analyser:
    """The worker's state: the analyser, the session files, and the pieces awaiting their flow."""

    def __init__(self, config: WorkerConfig) -> None:
        from .analyze import Analyzer
        from .party import PartyResolver
        from .device_profile import load_profile

        self.analyzer = Analyzer(load_profile(config.device) if config.device else None,
                                 PartyResolver(config.package), config.body_cap)
        self.observations: ChainWriter | None = None
        self.flows: BinaryIO | None = None
        if config.session:
            self.observations = ChainWriter(Path(config.session) / OBSERVATIONS_FILE)
            self.flows = open(Path(config.session) / FLOWS_FILE, "ab")  # noqa: SIM115 - closed in close()
        self.sync_interval = config.sync_interval
        self._dirty_since: float | None = None  # when the first line not yet fsynced was written
        self.conns: dict[str, flowfile.Encoded] = {}  # each connection's state, encoded once
        self.requests: dict[str, dict[str, Any]] = {}  # request states awaiting their flow record

    def handle(self, item: tuple[Any, ...]) -> None:
        """One item of a batch: a request to analyse, a connection's state, or a finished flow."""
        kind = item[0]
        if kind == "req":
            self._request(*item[1:])
        elif kind == "conn":
            self.conns[item[1]] = flowfile.encode(item[2])
        elif kind == "forget":
            self.conns.pop(item[1], None)
        elif kind == "flow" and self.flows is not None:
            self._flow(item[1])

    def _request(self, flow_id: str, seq: int, phase: str, state: dict[str, Any]) -> None:
        if self.flows is not None:
            if len(self.requests) >= REQUEST_CACHE_MAX:
                self.requests.pop(next(iter(self.requests)))
            self.requests[flow_id] = state
        req = request_data_from_state(flow_id, state)
        try:
            obs = self.analyzer.observe(req, seq, phase)
        except Exception as exc:  # noqa: BLE001 - one bad flow must not stop the session
            log.exception("piscan: analysis of flow %s failed", flow_id)
            obs = self.analyzer.failed(req, seq, phase, f"analysis error: {type(exc).__name__}: {exc}")
        if self.observations is not None:
            self.observations.append(obs.to_json(), sync=False)
            self._written()
        if obs.matches or obs.opaque:
            kinds = ",".join(sorted({m.pi_type for m in obs.matches})) or "-"
            log.info("piscan: #%d %s %s %s PI=%s%s", seq, phase, obs.method, obs.host, kinds,
                     " (opaque)" if obs.opaque else "")

    def _flow(self, state: dict[str, Any]) -> None:
        """Write the flow's record: the state ``HTTPFlow.get_state()`` gives, byte for byte."""
        assert self.flows is not None
        queued = self.requests.pop(state["id"], None)
        if state["request"] is None:
            state["request"] = queued
        state["client_conn"] = self.conns[state["client_conn"]]
        state["server_conn"] = self.conns[state["server_conn"]]
        self.flows.write(flowfile.dumps(state))
        self.flows.flush()
        self._written()

    def _written(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = time.monotonic()

    def sync_due_in(self) -> float | None:
        """Seconds until the next group fsync is due; ``None`` when everything is synced."""
        if self._dirty_since is None:
            return None
        return max(0.0, self._dirty_since + self.sync_interval - time.monotonic())

    def sync_if_due(self) -> None:
        """Group commit: each line reached the operating system when written (a crash of the proxy
        or of this process loses nothing); after each batch of flows (or at most every
        ``sync_interval`` seconds, for disks where fsync is slow) one fsync per file makes them
        survive a crash of the machine too."""
        due = self.sync_due_in()
        if due is None or due > 0:
            return
        if self.observations is not None:
            self.observations.sync()
        if self.flows is not None:
            os.fsync(self.flows.fileno())
        self._dirty_since = None

    def close(self) -> None:
        """Sync and close the session files."""
        if self.observations is not None:
            self.observations.close()
        if self.flows is not None:
            self.flows.flush()
            os.fsync(self.flows.fileno())
            self.flows.close()
