"""The analysis process: read captured flows from ``flows.mitm`` and write their observations.

Capture comes first: the proxy writes every flow to ``flows.mitm`` itself, on its event loop,
before the client sees the response. This process follows that file (:class:`RecordTail`) and
appends one observation per flow to ``observations.jsonl``, numbered like the flows, so it may
fall behind without any flow being lost, and the proxy keeps no queue for it: the backlog is the
part of ``flows.mitm`` not yet analysed, on disk. A step reads at most ``STEP_BYTES``, so this
process's memory is bounded too. It runs only when a CPU would otherwise idle (``SCHED_IDLE``).
With ``workers`` > 1 (the default: one per CPU beside the proxy's, at most 4) the flows of each step are analysed
by a pool of that many processes, each with its own analyser, and written here in flow
order; a pool process that dies is reported and the analysis goes on in this process.

The same :class:`SessionAnalyser` serves ``piscan traffic resume``, which analyses the flows a
crash left without an observation.

Control (a pipe from the proxy): ``D`` drain (analyse what is on disk, then exit), ``S`` stop
after the current flow; end-of-file (the proxy died) stops at once. After each step the number
of the last flow analysed goes to the status pipe.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .analyze import Analyzer
from .flowfile import dict_items, scalar
from .observation import Observation, RequestData
from .phases import LiveTimeline
from .records import RecordTail
from .session import FLOWS_FILE, MARKS_FILE, OBSERVATIONS_FILE
from .store import ChainWriter

log = logging.getLogger("piscan")
STEP_BYTES = 4 << 20  #: most bytes of flows read per step (a larger single flow is read whole)
GATHER_S = 0.1  #: how long to let flows gather once the backlog is empty
UNMARKED = "unmarked"


class SessionMismatch(ValueError):
    """observations.jsonl claims more flows than flows.mitm holds."""


def request_of(record: bytes) -> RequestData:
    """The request of one flow record, decoding only its ``request`` and ``id`` entries (the
    whole record, migrated, when it was written by another mitmproxy flow format)."""
    from mitmproxy import version
    from mitmproxy.io import compat, tnetstring

    from .flowdata import request_data_from_state

    from .channel_events import MESSAGE_KEY
    from .flowdata import requests_of_state

    items = dict_items(record)
    if scalar(items["version"]) != version.FLOW_FORMAT_VERSION:
        state = compat.migrate_flow(tnetstring.loads(record))
        return requests_of_state(state)[0]
    if "metadata" in items and MESSAGE_KEY.encode() in bytes(items["metadata"]):  # a WebSocket message record
        return requests_of_state(tnetstring.loads(bytes(record)))[0]
    return request_data_from_state(str(scalar(items["id"])), tnetstring.loads(bytes(items["request"])))


def _unreadable(seq: int, offset: int, reason: str) -> RequestData:
    return RequestData(flow_id=f"unreadable@{offset}", timestamp=0.0, method="", scheme="", host="", port=0,
                       url="", path="", http_version="", headers=(), content=b"")


def analyse_record(analyzer: Analyzer, seq: int, offset: int, record: bytes) -> tuple[float | None, Observation]:
    """(request start time, observation) of one flow record, the observation's phase left
    ``unmarked``: the phase comes from the marks timeline, which only the writer holds (an
    unreadable record gives an opaque observation and no time)."""
    try:
        req = request_of(record)
    except Exception as exc:  # noqa: BLE001 - a damaged record must not stop the session
        return None, analyzer.failed(_unreadable(seq, offset, str(exc)), seq, UNMARKED,
                                     f"unreadable flow record at byte {offset}: {type(exc).__name__}: {exc}")
    try:
        obs = analyzer.observe(req, seq, UNMARKED)
    except Exception as exc:  # noqa: BLE001 - one bad flow must not stop the session
        log.exception("piscan: analysis of flow %s failed", req.flow_id)
        obs = analyzer.failed(req, seq, UNMARKED, f"analysis error: {type(exc).__name__}: {exc}")
    return req.timestamp, obs


_pool_analyzer: Analyzer | None = None


def _pool_start(device: str | None, package: str | None, body_cap: int, parent: int) -> None:
    """A pool process: die with the analysis process, ignore Ctrl-C, build its own analyser."""
    global _pool_analyzer
    from .helpers import set_parent_death_signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
    _pool_analyzer = make_analyzer(device, package, body_cap)


def _pool_analyse(task: tuple[int, int, bytes]) -> tuple[float | None, Observation]:
    assert _pool_analyzer is not None  # set by _pool_start
    return analyse_record(_pool_analyzer, *task)


class SessionAnalyser:
    """Observations for a session's flows, from the first flow without one, in flow order.

    With ``workers`` > 1 the flows of a step are analysed by that many processes (each
    with its own analyser built from ``analyzer_args``: device, package, body cap), and their
    observations are written here, in flow order, with the phase from the marks timeline.
    """

    def __init__(self, session: str | Path, analyzer: Analyzer, workers: int = 1,
                 analyzer_args: tuple[str | None, str | None, int] | None = None) -> None:
        root = Path(session)
        self.analyzer = analyzer
        self.observations = ChainWriter(root / OBSERVATIONS_FILE)  # moves a torn last line aside
        last = self.observations.last_record
        self.seq = int(last["seq"]) if last else 0
        self.tail = RecordTail(root / FLOWS_FILE)
        if self.tail.skip(self.seq) != self.seq:
            raise SessionMismatch(f"{root / OBSERVATIONS_FILE} has observations up to flow {self.seq}, "
                                  f"but {root / FLOWS_FILE} holds only {self.tail.seq} flows")
        self.timeline = LiveTimeline(root / MARKS_FILE)
        self.workers = workers if analyzer_args is not None else 1
        self._analyzer_args = analyzer_args
        self._pool: Any = None

    def pending(self) -> int:
        """Bytes of captured flows not analysed yet."""
        return max(0, self.tail.size() - self.tail.offset)

    def _analysed(self, batch: list[tuple[int, int, bytes]]) -> list[tuple[float | None, Observation]]:
        if self.workers > 1 and len(batch) > 1 and self._analyzer_args is not None:
            from concurrent.futures.process import BrokenProcessPool

            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                # spawned, not forked: the pool's own threads make fork unsafe; a spawned process
                # keeps the idle priority and is this process's child, so it can die with it
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_pool_start, initargs=(*self._analyzer_args, os.getpid()))
            try:
                return list(self._pool.map(_pool_analyse, batch))
            except BrokenProcessPool:  # a pool process was killed (out of memory?): go on in this process
                log.error("piscan: an analysis pool process died; analysing in one process from flow #%d on", batch[0][0])
                self._stop_pool()
                self.workers = 1
        return [analyse_record(self.analyzer, *task) for task in batch]

    def step(self, max_bytes: int = STEP_BYTES, stop: Any = None) -> int:
        """Analyse the next complete flows (at most ``max_bytes`` of them); how many were analysed."""
        done = 0
        records = list(self.tail.read(max_bytes))
        group = max(1, self.workers * 4)  # a stop request is honoured between groups
        for start in range(0, len(records), group):
            batch = records[start:start + group]
            for (seq, _offset, _record), (started, obs) in zip(batch, self._analysed(batch)):
                self.observations.append(self._phased(started, obs).to_json(), sync=False)
                self.seq = seq
                done += 1
            if stop is not None and stop() and start + group < len(records):
                # the rest of this step is analysed on the next run: rewind the reader to it
                seq, offset, record = batch[-1]
                self.tail.offset = offset + len(record)
                self.tail.seq = seq
                break
        return done

    def _phased(self, started: float | None, obs: Observation) -> Observation:
        phase = self.timeline.phase_at(started) if started is not None else UNMARKED
        if phase != obs.phase:
            obs = replace(obs, phase=phase)
        if obs.matches or obs.opaque:
            kinds = ",".join(sorted({m.pi_type for m in obs.matches})) or "-"
            log.info("piscan: #%d %s %s %s PI=%s%s", obs.seq, phase, obs.method, obs.host, kinds,
                     " (opaque)" if obs.opaque else "")
        return obs

    def observe(self, seq: int, offset: int, record: bytes) -> Observation:
        """The observation of one flow record (an unreadable record gives an opaque one)."""
        return self._phased(*analyse_record(self.analyzer, seq, offset, record))

    def _stop_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the analysis processes; flush, fsync and close the observations log."""
        self._stop_pool()
        self.observations.close()
        self.tail.close()


def make_analyzer(device: str | None, package: str | None, body_cap: int) -> Analyzer:
    """The analyser for a session: device profile, party resolver, body cap."""
    from .device_profile import load_profile
    from .party import PartyResolver

    return Analyzer(load_profile(device) if device else None, PartyResolver(package), body_cap)


def _yield_to_the_proxy() -> None:
    """Run only when a CPU would otherwise idle: on a busy machine the analysis catches up later."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        os.nice(19)


def run(config: dict[str, Any]) -> int:
    """The analysis process's main loop (see the module docstring)."""
    from .helpers import helper_start

    helper_start(config, signal.SIGTERM)
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    _yield_to_the_proxy()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    control, status = config["control_fd"], config["status_fd"]
    os.set_blocking(status, False)  # progress reports are dropped, never waited for
    try:
        args = (config["device"], config["package"], config["body_cap"])
        analyser = SessionAnalyser(config["session"], make_analyzer(*args), workers=int(config.get("workers") or 1),
                                   analyzer_args=args)
    except (OSError, ValueError) as exc:
        log.error("piscan: the analysis process cannot start: %s", exc)
        return 3
    draining = False
    try:
        while not stopping["now"]:
            done = analyser.step(stop=lambda: stopping["now"])
            try:
                os.write(status, b"%d\n" % analyser.seq)
            except OSError:
                pass
            if done and analyser.pending():
                continue  # a backlog: keep going
            if draining and not done:
                break
            ready, _, _ = select.select([control], [], [], 0 if draining else GATHER_S)
            if ready:
                data = os.read(control, 64)
                if not data:  # the proxy has gone: stop; what is left waits for `traffic resume`
                    break
                if b"S" in data:
                    break
                draining = draining or b"D" in data
    finally:
        analyser.close()
    return 0


if __name__ == "__main__":
    sys.exit(run(json.loads(sys.argv[1])))
