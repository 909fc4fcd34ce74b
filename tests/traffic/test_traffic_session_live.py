"""Sessions as evidence, end to end: a real mitmdump on loopback, real clients, real crashes.

Crash tests SIGKILL the proxy or the analysis process mid-burst, with small and 64 KiB bodies:
every flow the client saw answered must be in flows.mitm (or reported by verify as lost after the
last seal), and after `piscan traffic resume` the analysis covers every captured flow. Then the
lifecycle: one writer, no orphan, --resume, a request spanning a mark.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from mitmproxy import http

from scanner.cli import main
from scanner.traffic.lock import is_locked
from scanner.traffic.verify import verify_session

from conftest import children, free_port, wait_gone  # tests/traffic/conftest.py

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "samples" / "device-profile.yaml"
IMEI = "861234567890127"


def _captured(session: Path) -> list[str]:
    """The ``n`` of every complete flow record. A SIGKILL can land inside the write of the last
    record (a 64 KiB body); that flow was never answered, since capture precedes the response,
    and `traffic resume` moves such a tail aside. Complete records are read with mitmproxy."""
    from mitmproxy.io import compat, tnetstring

    from scanner.traffic.flowfile import split_records

    data = (session / "flows.mitm").read_bytes()
    spans, _end = split_records(data)
    out = []
    for offset, length in spans:
        state = compat.migrate_flow(tnetstring.loads(data[offset:offset + length]))
        out.append(http.HTTPFlow.from_state(state).request.query.get("n", ""))
    return out


def _wait(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _worker_pid(mitmdump_pid: int) -> int:
    for pid in children(mitmdump_pid):
        if b"scanner.traffic.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no analysis process")


class Load:
    """Clients posting numbered requests until stopped; remembers which ones were answered."""

    def __init__(self, proxy_url: str, target: str, body_size: int, clients: int = 4) -> None:
        self.answered: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        pad = "x" * body_size
        self.threads = [threading.Thread(target=self._run, args=(c, proxy_url, target, pad)) for c in range(clients)]
        for thread in self.threads:
            thread.start()

    def _run(self, client: int, proxy_url: str, target: str, pad: str) -> None:
        with httpx.Client(proxy=proxy_url, timeout=10) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                tag = f"{client}-{n}"
                try:
                    reply = http.post(f"{target}?n={tag}", json={"imei": IMEI, "pad": pad})
                except httpx.HTTPError:
                    return
                if reply.status_code == 200:
                    with self._lock:
                        self.answered.append(tag)

    def count(self) -> int:
        with self._lock:
            return len(self.answered)

    def finish(self) -> list[str]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        return list(self.answered)


@pytest.mark.parametrize("body_size", [200, 64 * 1024], ids=["small", "64KiB"])
@pytest.mark.parametrize("victim", ["proxy", "analysis"])
def test_sigkill_mid_burst_loses_no_answered_flow_and_resume_completes_the_analysis(
        tmp_path, echo_servers, start_proxy, victim: str, body_size: int) -> None:
    session = tmp_path / "session"
    proxy = start_proxy(session, PROFILE)
    load = Load(proxy.url, f"http://127.0.0.1:{echo_servers.http_port}/load", body_size)
    try:
        _wait(lambda: load.count() >= 80, what="80 answered requests")
        helpers = children(proxy.proc.pid)
        if victim == "proxy":
            proxy.kill()
            answered = load.finish()
            wait_gone(helpers)  # the sealer seals what reached the disk, then exits
        else:
            os.kill(_worker_pid(proxy.proc.pid), signal.SIGKILL)
            before = load.count()
            _wait(lambda: load.count() >= before + 60, what="traffic to go on without the analysis")
            answered = load.finish()
            proxy.stop()
            wait_gone(helpers)
    finally:
        load.stop.set()
    captured = _captured(session)
    missing = set(answered) - set(captured)
    report = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
    # each flow the client saw answered is in flows.mitm (nothing was after the last seal here)
    assert not missing, (len(missing), [p.text() for p in report.problems][:5])
    assert len(captured) == report.flows
    if victim == "analysis":
        assert "the analysis process has stopped (exit code -9)" in proxy.log.read_text(errors="replace")
        assert report.unanalysed and not report.ok
        assert {p.kind for p in report.problems} == {"unanalysed"}
    assert main(["traffic", "resume", str(session), "--device", str(PROFILE), "--reason", "crash test"]) == 0
    after = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
    assert after.ok, [p.text() for p in after.problems][:5]
    assert after.observations == after.flows == len(captured)
    assert after.last_seal["kind"] == "resume"
    if victim == "proxy":
        assert any("stopped abnormally" in note for note in after.notes)


def test_a_second_writer_is_refused_in_one_line(tmp_path, echo_servers, start_proxy, capsys) -> None:
    session = tmp_path / "session"
    first = start_proxy(session, PROFILE)
    httpx.get(f"http://127.0.0.1:{echo_servers.http_port}/a", proxy=first.url, timeout=10).raise_for_status()
    second = start_proxy(session, PROFILE, wait=False)
    assert second.proc.wait(timeout=120) != 0
    assert "another proxy is recording into this session" in second.log.read_text(errors="replace")
    port = str(free_port())
    assert main(["proxy", "--session", str(session), "--device", str(PROFILE), "--resume", "--listen-port", port]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another proxy is recording into this session (pid " in err
    first.stop()
    assert main(["verify", str(session)]) == 0


def _piscan_proxy(tmp_path: Path, session: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "proxy", "--listen-host", "127.0.0.1", "--listen-port", str(port),
         "--device", str(PROFILE), "--session", str(session), *extra, "--", "--set", f"confdir={tmp_path / 'conf'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port
        except OSError:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "piscan proxy did not start"
            time.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_orphan_when_piscan_proxy_is_stopped_or_killed(tmp_path, echo_servers, examiner_key, signum) -> None:
    session = tmp_path / "session"
    proc, port = _piscan_proxy(tmp_path, session)
    try:
        httpx.get(f"http://127.0.0.1:{echo_servers.http_port}/a?imei={IMEI}", proxy=f"http://127.0.0.1:{port}",
                  timeout=10).raise_for_status()
        mitmdump = children(proc.pid)
        everything = mitmdump + [h for pid in mitmdump for h in children(pid)]
        assert len(everything) == 3  # mitmdump, the analysis process, the sealer
        proc.send_signal(signum)
        proc.wait(timeout=120)
        wait_gone(everything)
    finally:
        if proc.poll() is None:
            proc.kill()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # the port is free again
    assert not is_locked(session)
    out = proc.stdout.read().decode(errors="replace")
    if signum == signal.SIGTERM:
        assert "piscan: seal head sha256 " in out and "mitmproxy-ca-cert" in out
        assert main(["verify", str(session)]) == 0
    else:
        assert verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"]).last_seal["kind"] in ("close", "proxy_died")


def test_resume_needs_the_flag_and_writes_a_restart_record(tmp_path, echo_servers, examiner_key, capsys) -> None:
    session = tmp_path / "session"
    target = f"http://127.0.0.1:{echo_servers.http_port}/a?imei={IMEI}"
    for run in range(2):
        extra = ("--resume", "--reason", "phone rebooted") if run else ()
        proc, port = _piscan_proxy(tmp_path, session, *extra)
        httpx.get(target, proxy=f"http://127.0.0.1:{port}", timeout=10).raise_for_status()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        if not run:
            first = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
            assert main(["proxy", "--session", str(session), "--device", str(PROFILE)]) == 2
            assert "already holds a recording; continue it with --resume" in capsys.readouterr().err
    report = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
    assert report.ok and report.restarts == 1 and report.flows == report.observations == 2
    from scanner.traffic.offline import session_facts

    facts, _ = session_facts(session)
    restart = facts["session"]["restarts"][0]
    assert restart["reason"] == "phone rebooted"
    assert restart["previous_seal"]["sha256"] == first.last_seal["head"]


def test_a_request_spanning_a_mark_keeps_the_phase_of_its_start(tmp_path, echo_servers, start_proxy) -> None:
    session = tmp_path / "session"
    proxy = start_proxy(session, PROFILE)
    body = b'{"imei": "' + IMEI.encode() + b'"}'
    with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
        head = (f"POST http://127.0.0.1:{echo_servers.http_port}/slow?n=span HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{echo_servers.http_port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        sock.sendall(head + body[:5])
        time.sleep(1.5)  # the request has started: its first byte reached the proxy (generous: CI machines are slow)
        assert main(["mark", "consent", "--session", str(session)]) == 0
        sock.sendall(body[5:])
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    httpx.get(f"http://127.0.0.1:{echo_servers.http_port}/after?n=after", proxy=proxy.url, timeout=10).raise_for_status()
    proxy.stop()
    from scanner.traffic.store import read_chain

    live = {r["url"].split("n=")[1]: r for r in read_chain(session / "observations.jsonl")[0]}
    assert live["span"]["phase"] == "before_consent" and live["after"]["phase"] == "after_consent"
    assert live["span"]["time"] < live["span"]["time_end"]
    out = tmp_path / "offline.json"
    assert main(["traffic", "analyze", str(session / "flows.mitm"), "--marks", str(session / "marks.jsonl"),
                 "--device", str(PROFILE), "-o", str(out)]) == 0
    import json

    offline = {o["url"].split("n=")[1]: o["phase"] for o in json.loads(out.read_text())["traffic"]["observations"]}
    assert offline == {name: obs["phase"] for name, obs in live.items()}
