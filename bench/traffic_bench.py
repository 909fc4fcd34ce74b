"""Traffic benchmark: proxy overhead of the addon, offline analysis speed, false positives.

    python bench/traffic_bench.py [--flows 3000] [--clients 8] [--repeat 2]

1. The same load (``--flows`` requests of realistic SDK shapes: gzip JSON, forms, base64 JSON,
   opaque envelopes, query strings) from ``--clients`` keep-alive clients through mitmdump on
   loopback, without and with the PIScan addon (session store, device profile), alternating
   ``--repeat`` times; the best of each is compared, as wall time and as CPU time of the mitmdump
   process itself (the analysis runs in a separate, lower-priority process whose drain time is
   printed too; on a shared, loaded machine the CPU figure is the stable one).
   Target: overhead <= 10 %.
2. Offline analysis of a capture of ``--flows`` SDK flows on one core. Target: >= 2,000 flows/s.
3. False positives: profile matches on a capture of ``--flows`` requests holding no profile
   value. Target: 0.

Figures, not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from mitmproxy import io

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scanner.traffic import addon as addon_module  # noqa: E402
from scanner.traffic.analyze import Analyzer  # noqa: E402
from scanner.traffic.offline import analyze_capture  # noqa: E402
from scanner.traffic.party import PartyResolver  # noqa: E402
from scanner.traffic.profile import load_profile  # noqa: E402
from scanner.traffic.synthetic import clean_flows, sdk_flows, sdk_requests  # noqa: E402

PROFILE = REPO / "samples" / "device-profile.yaml"
MITMDUMP = Path(sys.executable).parent / "mitmdump"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one RTT per request, not a 40 ms delayed ACK

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _serve

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_mitmdump(port: int, tmp: Path, with_addon: bool, session: Path) -> subprocess.Popen[bytes]:
    argv = [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
            "--set", f"confdir={tmp / 'conf'}"]
    if with_addon:
        argv += ["-s", addon_module.__file__, "--set", f"piscan_session={session}", "--set", f"piscan_device={PROFILE}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("mitmdump did not start")


def _cpu_seconds(pid: int) -> float:
    """user + system CPU time of one process (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load(proxy_port: int, server_port: int, flows: int, clients: int) -> float:
    shapes = sdk_requests()
    base = f"http://127.0.0.1:{server_port}"
    per_client = flows // clients

    def run(offset: int) -> None:
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}", timeout=30) as client:
            for i in range(per_client):
                method, url, headers, body = shapes[(offset + i) % len(shapes)]
                path = url.split("/", 3)[3]
                client.request(method, f"{base}/{path}", headers=dict(headers), content=body or None)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def proxy_overhead(flows: int, clients: int, repeat: int) -> None:
    """Section 1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    # the origin server runs in its own process so that it does not share a GIL with the clients
    server_proc = multiprocessing.get_context("fork").Process(target=server.serve_forever, daemon=True)
    server_proc.start()
    times: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    drain: list[float] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for run in range(repeat):
            for with_addon in (False, True):
                port = _free_port()
                session = tmp / f"session-{run}"
                proc = _start_mitmdump(port, tmp, with_addon, session)
                _load(port, server.server_address[1], min(200, flows), clients)  # warm-up
                cpu0 = _cpu_seconds(proc.pid)
                elapsed = _load(port, server.server_address[1], flows, clients)
                cpu[with_addon].append(_cpu_seconds(proc.pid) - cpu0)
                times[with_addon].append(elapsed)
                if with_addon:
                    target = min(200, flows) + (flows // clients) * clients
                    obs = session / "observations.jsonl"
                    t0 = time.perf_counter()
                    while obs.read_bytes().count(b"\n") < target:
                        time.sleep(0.01)
                    drain.append(time.perf_counter() - t0)
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=60)
    server_proc.terminate()
    server_proc.join()
    base, addon = min(times[False]), min(times[True])
    cbase, caddon = min(cpu[False]), min(cpu[True])
    print(f"[proxy] {flows} requests, {clients} clients, best of {repeat} (load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs):")
    print(f"  mitmdump alone        {base:7.2f} s wall ({flows / base:5.0f} req/s), {cbase:6.2f} s CPU of the mitmdump process")
    print(f"  mitmdump + addon      {addon:7.2f} s wall ({flows / addon:5.0f} req/s), {caddon:6.2f} s CPU of the mitmdump process")
    print(f"  overhead              {100 * (addon - base) / base:+7.1f} % wall, {100 * (caddon - cbase) / cbase:+.1f} % CPU "
          "of mitmdump's own process (target <= 10 %)")
    print(f"  worker drain after last response: {max(drain):.2f} s (observations written off the event loop)")


def offline_speed(flows: int) -> None:
    """Section 2 and 3."""
    analyzer = Analyzer(load_profile(PROFILE), PartyResolver("com.example.shop"))
    with tempfile.TemporaryDirectory() as tmpdir:
        capture = Path(tmpdir) / "sdk.mitm"
        clean = Path(tmpdir) / "clean.mitm"
        rounds = max(1, flows // len(sdk_requests()))
        for path, source in ((capture, sdk_flows(rounds=rounds)), (clean, clean_flows(flows))):
            with open(path, "wb") as handle:
                writer = io.FlowWriter(handle)
                for flow in source:
                    writer.add(flow)
        analyze_capture(capture, analyzer)  # warm the per-host party cache like a live session
        start = time.process_time()
        observations = analyze_capture(capture, analyzer)
        cpu = time.process_time() - start
        print(f"[offline] {len(observations)} SDK flows analysed in {cpu:.2f} s CPU: "
              f"{len(observations) / cpu:,.0f} flows/s on one core (target >= 2,000), "
              f"{sum(len(o.matches) for o in observations)} matches")
        clean_obs = analyze_capture(clean, analyzer)
        false_profile = sum(1 for o in clean_obs for m in o.matches if m.detector == "profile")
        false_pattern = sum(1 for o in clean_obs for m in o.matches if m.detector == "pattern")
        print(f"[false positives] {len(clean_obs)} flows holding no profile value: {false_profile} profile matches "
              f"(target 0), {false_pattern} pattern matches")


def main() -> None:
    """Run the three sections."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-proxy", action="store_true", help="only the offline sections")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, pid {os.getpid()}")
    offline_speed(args.flows)
    if not args.skip_proxy:
        if not MITMDUMP.is_file():
            raise SystemExit(f"mitmdump not found at {MITMDUMP}")
        proxy_overhead(args.flows, args.clients, args.repeat)


if __name__ == "__main__":
    main()
