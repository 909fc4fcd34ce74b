"""The PIScan mitmproxy addon: ``mitmdump -s scanner/traffic/addon.py --set piscan_session=DIR``.

Capture first: when a flow completes (``response``, or ``error`` without a response) the addon
encodes it in mitmproxy's own format and appends it to ``flows.mitm`` with one ``write`` on the
event loop, before mitmproxy sends the response on, so a flow the client saw answered is in the
operating system's hands even if the proxy is killed the next instant. If the write fails (disk
full), the flow is killed: the client never gets an answer that was not recorded.

Everything else happens in two helper processes (:mod:`scanner.traffic.helpers`):

- the analysis process (:mod:`scanner.traffic.worker`, idle priority) follows ``flows.mitm`` and
  writes one observation per flow; it may lag, and its backlog is on disk, not in memory;
- the sealer (:mod:`scanner.traffic.seal`, normal priority) indexes every flow record, follows
  the chained logs, fsyncs them and writes signed seals at least once a second.

The session folder is locked for one writer (:mod:`scanner.traffic.lock`); an existing recording
is continued only with ``piscan_resume`` and a restart record. On stop the addon lets the
analysis drain with progress (a second Ctrl-C leaves the rest for ``piscan traffic resume``),
writes a stop record, has the sealer write the final seal and prints its key fingerprint and
head hash. The addon never alters a flow that it could record.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from mitmproxy import command, ctx, exceptions, http, version

from scanner.traffic.channel_events import ConnectionEvents, message_record_state

from scanner.errors import PiscanError
from scanner.traffic import flowfile, helpers, lock
from scanner.traffic.decoders import DEFAULT_BODY_CAP
from scanner.traffic.flowfile import RecordError
from scanner.traffic.party import PartyResolver
from scanner.traffic.phases import append_mark, phase_for_mark
from scanner.traffic.device_profile import load_profile
from scanner.traffic.records import recover_torn_flows
from scanner.traffic.seal import DEFAULT_INTERVAL
from scanner.traffic.session import (
    FLOW_INDEX_FILE, FLOWS_FILE, SEALS_FILE, append_event, has_recording, init_session)
from scanner.traffic.store import ChainWriter, line_sha256

log = logging.getLogger("piscan")
_CONN_CACHE_MAX = 4096
_START_TIMEOUT_S = 120


class PiscanAddon:
    """Record every flow, then have it analysed and sealed (see the module docstring)."""

    def __init__(self) -> None:
        self.session: Path | None = None
        self.captured = 0  #: flows appended to flows.mitm by this run
        self.analysed = 0  #: number of the last flow the analysis process has written
        self._fd: int | None = None
        self._offset = 0
        self._lock: lock.SessionLock | None = None
        self._worker: subprocess.Popen[bytes] | None = None
        self._sealer: subprocess.Popen[bytes] | None = None
        self._fds: dict[str, int] = {}
        self._conns: dict[str, tuple[tuple[Any, ...], flowfile.Encoded]] = {}
        self._parent_gone = False
        self._skip_drain = False
        self._failed_writes = 0
        self._finished = False
        self._status_tail = b""
        self._connections: ConnectionEvents | None = None

    def load(self, loader: Any) -> None:
        """Declare the addon's options."""
        loader.add_option("piscan_session", str, "", "PIScan session directory (flows, observations, marks, seals).")
        loader.add_option("piscan_device", str, "", "PIScan device profile (YAML) whose values are matched.")
        loader.add_option("piscan_apk", str, "", "APK under test (its sha256 and package are recorded).")
        loader.add_option("piscan_package", str, "", "Package name (or mini-program AppID) of the app under test.")
        loader.add_option("piscan_app_only", bool, False, "The examiner states that this capture carries only the "
                                                          "app's traffic (per-app VPN); recorded in session.json.")
        loader.add_option("piscan_body_cap", int, DEFAULT_BODY_CAP, "Bytes of each request body that PIScan decodes.")
        loader.add_option("piscan_analysis_workers", int, 0, "Analysis processes (idle priority); 0: one per CPU beside the proxy's, at most 4.")
        loader.add_option("piscan_key", str, "", "Examiner key that signs the seals (default: $PISCAN_KEY or "
                                                 "~/.config/piscan/examiner-key.pem).")
        loader.add_option("piscan_seal_ms", int, round(DEFAULT_INTERVAL * 1000),
                          "Milliseconds between seals (fsync and signed checkpoint) while traffic flows, 100-1000.")
        loader.add_option("piscan_resume", bool, False, "Continue a session that already holds a recording "
                                                        "(a restart record is written).")
        loader.add_option("piscan_resume_reason", str, "", "Why the recording is resumed (kept in the restart record).")
        loader.add_option("piscan_lock_fd", int, -1, "Session lock descriptor handed down by `piscan proxy`.")
        loader.add_option("piscan_parent_fd", int, -1, "Pipe from `piscan proxy`: end-of-file means it died.")

    def configure(self, updated: set[str]) -> None:
        """Validate the options and start recording once ``piscan_session`` is set."""
        if not any(name.startswith("piscan_") for name in updated):
            return
        opts = ctx.options
        if self.session is not None:
            raise exceptions.OptionsError("piscan: options cannot change while a session is recording; restart the proxy")
        if opts.piscan_body_cap <= 0:
            raise exceptions.OptionsError(f"piscan_body_cap must be a positive number of bytes, got {opts.piscan_body_cap}")
        if not 100 <= opts.piscan_seal_ms <= 1000:
            raise exceptions.OptionsError(f"piscan_seal_ms must be between 100 and 1000 milliseconds, got {opts.piscan_seal_ms}")
        try:
            profile = load_profile(opts.piscan_device) if opts.piscan_device else None
            package = opts.piscan_package or None
            if package is None and opts.piscan_apk:  # mitmdump -s addon.py without `piscan proxy`
                from scanner.apk.archive import apk_package

                package = apk_package(opts.piscan_apk)
            PartyResolver(package)  # fail here, not in the analysis process, if the SDK pack is broken
            if opts.piscan_session:
                self._start(opts, profile, package)
        except PiscanError as exc:
            self._release()
            raise exceptions.OptionsError(f"piscan: {exc.line()}") from None

    # --- start ---------------------------------------------------------------------------------

    def _start(self, opts: Any, profile: Any, package: str | None) -> None:
        from scanner.keys import load_key

        session = Path(opts.piscan_session)
        key = load_key(opts.piscan_key or None)  # a session without seals would prove nothing
        self._lock = lock.adopt(opts.piscan_lock_fd, session) if opts.piscan_lock_fd >= 0 else lock.acquire(session)
        resuming = has_recording(session)
        if resuming and not opts.piscan_resume:
            raise PiscanError(f"{session}: already holds a recording; continue it with --resume "
                              "(a restart record is written), or record into a new folder")
        meta = init_session(session, profile=profile, apk=opts.piscan_apk or None, package=package,
                            capture_scope="app" if opts.piscan_app_only else "device")
        torn = self._recover(session)
        if resuming:
            seals = ChainWriter(session / SEALS_FILE)
            last = seals.last_line
            seals.close()
            previous = None
            if last:
                payload = json.loads(last)["payload"]
                previous = {"seq": payload["seq"], "time": payload["time"], "kind": payload["kind"],
                            "sha256": line_sha256(last)}
            append_event(session, "restart", {"reason": opts.piscan_resume_reason or None, "previous_seal": previous,
                                              "torn_tail": torn, "pid": os.getpid(), "mitmproxy_version": version.VERSION})
        else:
            append_event(session, "start", {"session": meta, "pid": os.getpid(), "mitmproxy_version": version.VERSION})
        self._fd = os.open(session / FLOWS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._offset = os.fstat(self._fd).st_size
        self.session = session
        self._connections = ConnectionEvents(lambda kind, fields: self._event(kind, fields))
        self._start_helpers(opts, package, key.path)
        if opts.piscan_parent_fd >= 0:
            self._fds["parent"] = opts.piscan_parent_fd

    def _recover(self, session: Path) -> dict[str, Any] | None:
        """Move a flow record cut off by a crash out of the way (recorded in the restart record)."""
        index = ChainWriter(session / FLOW_INDEX_FILE)
        last = index.last_record
        index.close()
        start = int(last["offset"]) + int(last["length"]) if last else 0
        try:
            return recover_torn_flows(session / FLOWS_FILE, start, int(last["seq"]) if last else 0)
        except RecordError as exc:
            raise PiscanError(f"{session / FLOWS_FILE}: damaged ({exc}); run `piscan verify {session}`") from None

    def _start_helpers(self, opts: Any, package: str | None, key_path: Path) -> None:
        assert self.session is not None and self._lock is not None
        worker_control, self._fds["worker_control"] = helpers.pipe()
        self._fds["worker_status"], worker_status = helpers.pipe()
        self._worker = helpers.spawn("worker", {
            "session": str(self.session.resolve()),
            "device": str(Path(opts.piscan_device).resolve()) if opts.piscan_device else None,
            "package": package, "body_cap": opts.piscan_body_cap,
            "workers": opts.piscan_analysis_workers if opts.piscan_analysis_workers > 0 else helpers.default_workers(),
            "control_fd": worker_control, "status_fd": worker_status, "lock_fd": self._lock.fd,
        }, (worker_control, worker_status, self._lock.fd))
        os.close(worker_control)
        os.close(worker_status)
        sealer_control, self._fds["sealer_control"] = helpers.pipe()
        self._fds["sealer_reply"], sealer_reply = helpers.pipe()
        self._sealer = helpers.spawn("seal", {
            "session": str(self.session.resolve()), "key": str(key_path), "interval": opts.piscan_seal_ms / 1000,
            "control_fd": sealer_control, "reply_fd": sealer_reply, "lock_fd": self._lock.fd,
            "worker_pid": self._worker.pid, "first_kind": "restart" if opts.piscan_resume else "start",
        }, (sealer_control, sealer_reply, self._lock.fd))
        os.close(sealer_control)
        os.close(sealer_reply)
        ready = self._read_line(self._fds["sealer_reply"], _START_TIMEOUT_S)
        if ready != b"ready":
            raise PiscanError(f"{self.session}: the sealer did not start (see the lines above)")
        for name in ("worker_status", "sealer_reply"):
            os.set_blocking(self._fds[name], False)

    @staticmethod
    def _read_line(fd: int, timeout: float) -> bytes | None:
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return data.strip() or None
            data += chunk
        return data.strip()

    def running(self) -> None:
        """The proxy is up: watch the helpers and the parent, stop cleanly on SIGHUP, show the CA."""
        if self.session is None:
            return
        confdir = Path(os.path.expanduser(ctx.options.confdir))
        log.info("piscan: recording into %s; mitmproxy's CA certificate for the phone: %s",
                 self.session, confdir / "mitmproxy-ca-cert.cer")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.add_reader(self._fds["worker_status"], self._on_worker_status)
        loop.add_reader(self._fds["sealer_reply"], self._on_sealer_reply)
        if "parent" in self._fds:
            loop.add_reader(self._fds["parent"], self._on_parent)
        try:
            loop.add_signal_handler(signal.SIGHUP, ctx.master.shutdown)
        except (RuntimeError, ValueError, NotImplementedError):
            pass

    # --- capture: the only per-flow work on the event loop --------------------------------------

    def response(self, flow: http.HTTPFlow) -> None:
        """Record the finished flow before mitmproxy sends the response on."""
        self._capture(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        """Record a flow that failed before it had a response."""
        if flow.response is None:
            self._capture(flow)

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        """Record each message the client sends on a WebSocket as its own flow record (with its
        own time, so its own phase); the handshake was recorded at ``response``."""
        if self._fd is None or flow.websocket is None or not flow.websocket.messages:
            return
        message = flow.websocket.messages[-1]
        if message.from_client:
            self._write(flowfile.dumps(message_record_state(self._flow_state(flow), len(flow.websocket.messages) - 1)), flow)

    def tls_failed_client(self, data: Any) -> None:
        """The client refused the handshake with the proxy (usually certificate pinning): its
        traffic to that host cannot be inspected; recorded so the result says so."""
        if self._connections is not None:
            self._connections.tls_failed("client", data.conn.sni, data.context.server.address, data.conn.error)

    def tls_failed_server(self, data: Any) -> None:
        """The proxy could not complete TLS with the server."""
        if self._connections is not None:
            self._connections.tls_failed("server", data.conn.sni, data.conn.address, data.conn.error)

    def tcp_start(self, flow: Any) -> None:
        """A connection passed through as raw TCP (ignored host, or not HTTP): not inspected."""
        if self._connections is not None:
            self._connections.not_intercepted("tcp", flow.server_conn.sni, flow.server_conn.address)

    def udp_start(self, flow: Any) -> None:
        """A UDP flow (e.g. QUIC) seen by the proxy: not inspected."""
        if self._connections is not None:
            self._connections.not_intercepted("udp", None, flow.server_conn.address)

    def client_disconnected(self, client: Any) -> None:
        """Forget a closed connection's encoded state."""
        self._conns.pop(client.id, None)

    def server_disconnected(self, data: Any) -> None:
        """Forget a closed connection's encoded state."""
        self._conns.pop(data.server.id, None)

    def _capture(self, flow: http.HTTPFlow) -> None:
        if self._fd is None:
            return
        self._write(flowfile.dumps(self._flow_state(flow)), flow)

    def _write(self, data: bytes, flow: http.HTTPFlow) -> None:
        assert self._fd is not None
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            os.ftruncate(self._fd, self._offset)  # no half record: the next one must start cleanly
            if flow.killable:
                flow.kill()
            self._failed_writes += 1
            if self._failed_writes == 1 or self._failed_writes % 1000 == 0:
                log.error("piscan: cannot write %s (%s): %d flow(s) refused so far, none passed unrecorded",
                          FLOWS_FILE, exc.strerror or exc, self._failed_writes)
            return
        self._offset += len(data)
        self.captured += 1

    def _conn(self, conn: Any) -> flowfile.Encoded:
        """A connection's state, encoded once (again only if its TLS or timing changed)."""
        key = (conn.timestamp_start, conn.timestamp_tls_setup, conn.timestamp_end, conn.sni, conn.alpn)
        cached = self._conns.get(conn.id)
        if cached is None or cached[0] != key:
            if len(self._conns) >= _CONN_CACHE_MAX:
                self._conns.pop(next(iter(self._conns)))
            cached = (key, flowfile.encode(conn.get_state()))
            self._conns[conn.id] = cached
        return cached[1]

    def _flow_state(self, flow: http.HTTPFlow) -> dict[str, Any]:
        """``flow.get_state()``, with each connection's state encoded once per connection."""
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
            "request": flow.request.get_state(),
            "response": flow.response.get_state() if flow.response else None,
            "websocket": flow.websocket.get_state() if flow.websocket else None,
        }

    # --- helpers' health -------------------------------------------------------------------------

    def _read_helper(self, name: str) -> bytes | None:
        """What a helper's pipe holds now: ``None`` when nothing is there, ``b""`` at end-of-file."""
        fd = self._fds.get(name)
        if fd is None:
            return None
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None

    def _on_worker_status(self) -> None:
        while True:
            data = self._read_helper("worker_status")
            if data is None:
                return
            if not data:
                break
            # the pipe may split a line: only whole lines count
            self._status_tail += data
            complete, _, self._status_tail = self._status_tail.rpartition(b"\n")
            lines = complete.split()
            if lines:
                self.analysed = int(lines[-1])
        self._forget_reader("worker_status")
        code = self._worker.wait(timeout=5) if self._worker is not None else None
        # A crash seen only after the stop began (the EOF was still queued) is reported all the same.
        if not self._finished or code:
            log.error("piscan: the analysis process has stopped (exit code %s); flows from #%d on are captured "
                      "but not analysed: `piscan traffic resume %s` analyses them", code, self.analysed + 1, self.session)
            self._event("analysis_stopped", {"exit_code": code, "analysed_up_to": self.analysed})

    def _on_sealer_reply(self) -> None:
        data = self._read_helper("sealer_reply")
        if data == b"":
            self._forget_reader("sealer_reply")
            if not self._finished:
                code = self._sealer.wait(timeout=5) if self._sealer is not None else None
                log.error("piscan: the sealer has stopped (exit code %s); what is recorded from now on is not "
                          "sealed (piscan verify reports it)", code)
                self._event("sealer_stopped", {"exit_code": code})
                self._sealer = None

    def _on_parent(self) -> None:
        """`piscan proxy` died: stop at once (the backlog stays on disk for `piscan traffic resume`)."""
        self._forget_reader("parent")
        self._parent_gone = self._skip_drain = True
        log.error("piscan: `piscan proxy` has gone; stopping")
        ctx.master.shutdown()

    def _forget_reader(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is None:
            return
        try:
            asyncio.get_running_loop().remove_reader(fd)
        except RuntimeError:
            pass
        os.close(fd)

    def _event(self, kind: str, fields: dict[str, Any]) -> None:
        if self.session is not None:
            try:
                append_event(self.session, kind, fields)
            except OSError as exc:
                log.error("piscan: cannot write the %s record: %s", kind, exc)

    # --- marks ---------------------------------------------------------------------------------

    @command.command("piscan.mark")
    def mark(self, name: str) -> None:
        """Switch the consent phase: consent, refuse, background or foreground."""
        self._mark(name, custom=False)

    @command.command("piscan.mark_custom")
    def mark_custom(self, name: str) -> None:
        """Switch to a custom phase NAME (lower-case letters, digits, '_', '.', '-')."""
        self._mark(name, custom=True)

    def _mark(self, name: str, custom: bool) -> None:
        try:
            phase = phase_for_mark(name, custom=custom)
            if self.session is None:
                raise exceptions.CommandError("piscan: no session is recording (set piscan_session)")
            append_mark(self.session, name, custom=custom, source="mitmproxy")
        except PiscanError as exc:
            raise exceptions.CommandError(exc.line()) from None
        log.info("piscan: phase is now %s", phase)

    # --- stop ----------------------------------------------------------------------------------

    async def done(self) -> None:
        """Stop capturing, let the analysis drain (with progress), write the stop record and the final seal."""
        if self.session is None or self._finished:
            return
        loop = asyncio.get_running_loop()
        skip_signals = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._on_second_stop)
                skip_signals.append(signum)
            except (RuntimeError, ValueError, NotImplementedError):
                pass
        try:
            self._stop_capture()
            last_report = 0.0
            while not self._worker_done():
                self._on_worker_status()
                if time.monotonic() - last_report >= 1.0:
                    last_report = time.monotonic()
                    self._progress()
                await asyncio.sleep(0.1)
        finally:
            for signum in skip_signals:
                loop.remove_signal_handler(signum)
        self._close()

    def finish(self) -> None:
        """:meth:`done` without an event loop (mitmproxy's test context, scripts)."""
        if self.session is None or self._finished:
            return
        self._stop_capture()
        while not self._worker_done():
            time.sleep(0.05)
        self._close()

    def _on_second_stop(self) -> None:
        if not self._skip_drain:
            self._skip_drain = True
            log.info("piscan: stopping the analysis now; `piscan traffic resume %s` analyses the rest later", self.session)

    def _stop_capture(self) -> None:
        self._finished = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._send("worker_control", b"S" if self._skip_drain else b"D")

    def _worker_done(self) -> bool:
        if self._skip_drain:
            self._send("worker_control", b"S")
        return self._worker is None or self._worker.poll() is not None

    def _progress(self) -> None:
        self._on_worker_status()
        total = self._total_flows()
        if total > self.analysed:
            log.info("piscan: analysing the backlog: %d of %d flows done (Ctrl-C again: stop now, "
                     "`piscan traffic resume` finishes later)", self.analysed, total)

    def _total_flows(self) -> int:
        index = ChainWriter(self.session / FLOW_INDEX_FILE) if self.session else None
        indexed = int(index.last_record["seq"]) if index and index.last_record else 0
        if index:
            index.close()
        return max(indexed, self.analysed)

    def _send(self, name: str, data: bytes) -> None:
        fd = self._fds.get(name)
        if fd is None:
            return
        try:
            os.write(fd, data)
        except OSError:
            pass

    def _close(self) -> None:
        """After the analysis process has exited: stop record, final seal, summary line."""
        self._on_worker_status()
        self._forget_reader("worker_status")
        self._forget_reader("worker_control")
        self._event("stop", {"captured_this_run": self.captured, "analysed_up_to": self.analysed,
                             "drained": not self._skip_drain, "refused_unrecorded": self._failed_writes,
                             "not_inspected": self._connections.totals() if self._connections else []})
        reply = None
        if self._sealer is not None and "sealer_control" in self._fds:
            self._send("sealer_control", b"F")
            fd = self._fds["sealer_reply"]
            os.set_blocking(fd, True)
            reply = self._read_line(fd, _START_TIMEOUT_S)
            self._sealer.wait(timeout=_START_TIMEOUT_S)
        self._forget_reader("sealer_reply")
        self._forget_reader("sealer_control")
        self._forget_reader("parent")
        if reply:
            final = json.loads(reply.splitlines()[-1])
            flows = final["files"][FLOWS_FILE]["records"]
            observed = final["files"]["observations.jsonl"]["records"]
            log.info("piscan: session %s sealed (seal #%d): %d flows, %d observations%s", self.session, final["seq"], flows,
                     observed, "" if observed >= flows else f"; {flows - observed} flows await `piscan traffic resume`")
            log.info("piscan: seal key %s", final["fingerprint"])
            log.info("piscan: seal head sha256 %s  (write both into the case record)", final["head"])
        else:
            log.error("piscan: no final seal was written; `piscan verify %s` reports what is not sealed", self.session)
        self._release()

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


addons = [PiscanAddon()]
