"""The PIScan mitmproxy addon: ``mitmdump -s scanner/traffic/addon.py --set piscan_session=DIR``.

On the event loop the addon does small constant work per flow: one ``stat`` of ``marks.jsonl``
for the phase, the request's and response's own state (cheap dicts of bytes) and each
connection's state once, collected into batches that go down a non-blocking pipe
(:mod:`scanner.traffic.channel`). Decoding, matching, attribution and the fsynced writes happen
in a separate process (:mod:`scanner.traffic.worker`), so the proxy never waits for them. The
addon only reads flows; it never alters traffic.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any

from mitmproxy import command, ctx, exceptions, http, version

from scanner.errors import PiscanError
from scanner.traffic import worker
from scanner.traffic.channel import ChannelClosed, Sender
from scanner.traffic.decoders import DEFAULT_BODY_CAP
from scanner.traffic.party import PartyResolver, apk_package
from scanner.traffic.phases import INITIAL_PHASE, PhaseTracker, append_mark, phase_for_mark
from scanner.traffic.device_profile import load_profile
from scanner.traffic.session import MARKS_FILE, OBSERVATIONS_FILE, init_session
from scanner.traffic.store import ChainWriter

log = logging.getLogger("piscan")
_CONN_CACHE_MAX = 4096
_BATCH_MAX = 64
_BATCH_DELAY_S = 0.02


class PiscanAddon:
    """Observe every request: phase, party, PI matches; record them in the session store."""

    def __init__(self) -> None:
        self.session: Path | None = None
        self.tracker: PhaseTracker | None = None
        self.phase = INITIAL_PHASE
        self.seq = 0
        self._channel: Sender | None = None
        self._process: Any = None
        self._conns: dict[str, tuple[Any, ...]] = {}
        self._requests_sent: dict[str, bool] = {}
        self._batch: list[Any] = []
        self._flush_timer: Any = None

    def load(self, loader: Any) -> None:
        """Declare the addon's options."""
        loader.add_option("piscan_session", str, "", "PIScan session directory (observations, marks, flows).")
        loader.add_option("piscan_device", str, "", "PIScan device profile (YAML) whose values are matched.")
        loader.add_option("piscan_apk", str, "", "APK under test: its package gives the first-party domains.")
        loader.add_option("piscan_body_cap", int, DEFAULT_BODY_CAP, "Bytes of each request body that PIScan decodes.")
        loader.add_option("piscan_sync_ms", int, 0,
                          "Least milliseconds between fsyncs of the session files (0: after every batch "
                          "of flows); each record is written at once either way.")

    def configure(self, updated: set[str]) -> None:
        """Validate the options and (re)start the analysis process."""
        if not any(name.startswith("piscan_") for name in updated):
            return
        opts = ctx.options
        if opts.piscan_body_cap <= 0:
            raise exceptions.OptionsError(f"piscan_body_cap must be a positive number of bytes, got {opts.piscan_body_cap}")
        if not 0 <= opts.piscan_sync_ms <= 60_000:
            raise exceptions.OptionsError(
                f"piscan_sync_ms must be between 0 and 60000 milliseconds, got {opts.piscan_sync_ms}")
        try:
            profile = load_profile(opts.piscan_device) if opts.piscan_device else None
            package = apk_package(opts.piscan_apk) if opts.piscan_apk else None
            PartyResolver(package)  # fail here, not in the worker, if the SDK pack is broken
            if opts.piscan_session:
                init_session(opts.piscan_session, profile=profile, apk=opts.piscan_apk or None, package=package)
        except PiscanError as exc:
            raise exceptions.OptionsError(f"piscan: {exc.line()}") from None
        self._stop_worker()
        if opts.piscan_session:
            self.session = Path(opts.piscan_session)
            self.tracker = PhaseTracker(self.session / MARKS_FILE)
            writer = ChainWriter(self.session / OBSERVATIONS_FILE)  # moves a torn tail aside, gives the last seq
            self.seq = int(writer.last_record["seq"]) if writer.last_record else 0
            writer.close()
        else:
            self.session = self.tracker = None
        context = multiprocessing.get_context("spawn")
        reader, writer = context.Pipe(duplex=False)
        config = worker.WorkerConfig(
            session=str(self.session) if self.session else None,
            device=str(Path(opts.piscan_device).resolve()) if opts.piscan_device else None,
            package=package, body_cap=opts.piscan_body_cap, sync_interval=opts.piscan_sync_ms / 1000,
        )
        self._process = context.Process(target=worker.run, args=(reader, config), name="piscan-analyser", daemon=True)
        # The new interpreter inherits "ignore SIGINT", so a Ctrl-C to the process group during its
        # start-up cannot kill it; done() stops it once everything queued is written.
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            self._process.start()
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
            reader.close()  # only the analysis process reads: if it dies, sends fail at once
        self._channel = Sender(os.dup(writer.fileno()))
        writer.close()
        self._conns = {}
        self._requests_sent = {}

    # --- event-loop hooks: small constant work only ----------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        """Queue the request for analysis with the phase in force now."""
        if self._channel is None:
            return
        self.seq += 1
        phase = self.tracker.current() if self.tracker is not None else self.phase
        self._put(("req", flow.id, self.seq, phase, flow.request.get_state()))
        if self.session is not None:
            # the worker keeps this state for the flows file: the response sends no second copy
            if len(self._requests_sent) >= _CONN_CACHE_MAX:
                self._requests_sent.pop(next(iter(self._requests_sent)))
            self._requests_sent[flow.id] = True

    def response(self, flow: http.HTTPFlow) -> None:
        """Queue the finished flow for the flows file."""
        if self.session is not None and self._channel is not None:
            self._put(("flow", self._flow_state(flow)))

    def error(self, flow: http.HTTPFlow) -> None:
        """Queue a failed flow for the flows file too."""
        if self.session is not None and self._channel is not None and flow.response is None:
            self._put(("flow", self._flow_state(flow)))

    def client_disconnected(self, client: Any) -> None:
        """Let the worker drop a closed connection's cached state."""
        self._forget(client.id)

    def server_disconnected(self, data: Any) -> None:
        """Let the worker drop a closed connection's cached state."""
        self._forget(data.server.id)

    def _put(self, item: tuple[Any, ...]) -> None:
        """Queue an item; items go to the worker in batches (one hand-over per batch, not per item)."""
        self._batch.append(item)
        if len(self._batch) >= _BATCH_MAX:
            self._flush()
        elif self._flush_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (mitmproxy's test context): hand over at once
                self._flush()
                return
            self._flush_timer = loop.call_later(_BATCH_DELAY_S, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        batch, self._batch = self._batch, []
        if batch and self._channel is not None:
            try:
                self._channel.send(batch)
            except ChannelClosed:
                self._channel = None
                first = min((item[2] for item in batch if item[0] == "req"), default=self.seq)
                code = "unknown"
                if self._process is not None:
                    self._process.join(timeout=1)  # it has closed its end: collect the exit code
                    code = self._process.exitcode
                    self._process = None  # reported here, once
                log.error("piscan: the analysis process has stopped (exit code %s); flows from #%d on are "
                          "neither analysed nor recorded", code, first)

    def _forget(self, conn_id: str) -> None:
        if self._conns.pop(conn_id, None) is not None and self._channel is not None:
            self._put(("forget", conn_id))

    def _conn(self, conn: Any) -> str:
        """Send a connection's state to the worker once (again only if its TLS/timing changed)."""
        key = (conn.timestamp_start, conn.timestamp_tls_setup, conn.timestamp_end, conn.sni, conn.alpn)
        if self._conns.get(conn.id) != key:
            if len(self._conns) >= _CONN_CACHE_MAX:
                self._conns.pop(next(iter(self._conns)))
            self._conns[conn.id] = key
            self._put(("conn", conn.id, conn.get_state()))
        return str(conn.id)

    def _flow_state(self, flow: http.HTTPFlow) -> dict[str, Any]:
        """``flow.get_state()``, with the connections sent by reference (see :mod:`worker`)."""
        backup = getattr(flow, "_backup", None)
        return {
            "version": version.FLOW_FORMAT_VERSION,
            "type": flow.type,
            "id": flow.id,
            "error": flow.error.get_state() if flow.error else None,
            "client_conn": self._conn(flow.client_conn),
            "server_conn": self._conn(flow.server_conn),
            "intercepted": flow.intercepted,
            "is_replay": flow.is_replay,
            "marked": flow.marked,
            "metadata": copy.deepcopy(flow.metadata) if flow.metadata else {},
            "comment": flow.comment,
            "timestamp_created": flow.timestamp_created,
            "backup": copy.deepcopy(backup) if backup else None,
            "request": self._request_state(flow),
            "response": flow.response.get_state() if flow.response else None,
            "websocket": flow.websocket.get_state() if flow.websocket else None,
        }

    def _request_state(self, flow: http.HTTPFlow) -> dict[str, Any] | None:
        """None when request() already queued this flow's request state: the worker reuses it."""
        if self._requests_sent.pop(flow.id, False):
            return None
        return flow.request.get_state()

    @command.command("piscan.mark")
    def mark(self, name: str) -> None:
        """Switch the consent phase: consent, refuse, background, foreground or a custom name."""
        try:
            phase = phase_for_mark(name)
            if self.session is not None:
                append_mark(self.session, name, source="mitmproxy")
                if self.tracker is not None:
                    phase = self.tracker.current()
        except PiscanError as exc:
            raise exceptions.CommandError(exc.line()) from None
        self.phase = phase
        log.info("piscan: phase is now %s", phase)

    def done(self) -> None:
        """Let the analysis process write everything queued, then stop it."""
        self._stop_worker()

    def _stop_worker(self) -> None:
        self._flush()
        if self._channel is not None:
            self._channel.close()  # delivers what is buffered; the worker sees end-of-file
            self._channel = None
        if self._process is not None:
            self._process.join(timeout=300)
            if self._process.exitcode not in (0, None):
                log.error("piscan: the analysis process exited with code %s", self._process.exitcode)
            self._process = None


addons = [PiscanAddon()]
