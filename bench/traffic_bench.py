"""Traffic benchmark: proxy overhead of the addon, offline analysis speed, false positives.

    python bench/traffic_bench.py [--flows 3000] [--round-flows 1000] [--rounds 16] [--noise]

1. Two mitmdumps run side by side on loopback, one plain and one with the PIScan addon (session
   store, device profile). In each of ``--rounds`` rounds both get the same load in turn (ABBA
   order): ``--round-flows`` requests of realistic SDK shapes (gzip JSON, forms, base64 JSON,
   opaque envelopes, query strings) from ``--clients`` keep-alive clients. The addon's round
   ends only when its analysis process has written every observation, so that work never
   spills into the plain proxy's turn. Printed: the median over the rounds of the addon side's
   wall time and CPU time of the mitmdump process relative to the plain side, with the spread.
   Target: overhead <= 10 %. Run-to-run noise on a small shared VM is large (whole rounds
   differ by 10-20 %), hence many short paired rounds, their median and its confidence
   interval; ``--noise`` repeats the comparison with two plain mitmdumps, which shows the noise
   floor of the figure.
   The load generator writes prepared requests on raw sockets and the origin is a small asyncio
   server, so that nearly all CPU goes to the proxies being compared.
2. Offline analysis of a capture of ``--flows`` SDK flows on one core, and of the mixed
   detection set (scanner/testing/detection_set.py: every encoding the decoder reads, nested
   base64/gzip/hex/XML/protobuf, WebSocket messages, encrypted controls). Target: >= 2,000 flows/s.
3. False positives: profile matches on a capture of ``--flows`` requests holding no profile
   value. Target: 0.
4. Analysis lag (``--lag``): one mitmdump with the addon gets ``--lag-rate`` requests/s with
   ``--lag-body``-byte bodies (an analytics-style JSON event batch holding the profile's OAID) for
   ``--lag-seconds``, once per ``--lag-workers`` analysis process count (0: the default).
   Printed every second: flows on disk, observations written, the backlog in flows and in
   seconds, the RSS of mitmdump and of the analysis process; then how long the backlog takes to
   drain. Target: under 1 s behind, memory bounded.
5. Loss per SIGKILL (``--lag``): the same load, mitmdump killed mid-burst; printed: responses the
   clients saw, flows in flows.mitm, answered flows missing from it (target 0).

Figures, not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mitmproxy import io

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scanner.traffic import addon as addon_module  # noqa: E402
from scanner.traffic.analyze import Analyzer  # noqa: E402
from scanner.traffic.offline import analyze_capture  # noqa: E402
from scanner.traffic.party import PartyResolver  # noqa: E402
from scanner.traffic.device_profile import load_profile  # noqa: E402
from scanner.traffic.synthetic import clean_flows, sdk_flows, sdk_requests  # noqa: E402
from scanner.testing.detection_set import CASES, request_data  # noqa: E402

PROFILE = REPO / "samples" / "device-profile.yaml"
MITMDUMP = Path(sys.executable).parent / "mitmdump"


_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _serve_origin(sock: socket.socket) -> None:
    """A minimal keep-alive HTTP/1.1 origin (its own process): it reads each request and answers
    ``200 ok``. It costs far less CPU than ``http.server``, so the machine's cores go to mitmdump."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length = _content_length(await reader.readuntil(b"\r\n\r\n"))
                if length:
                    await reader.readexactly(length)
                writer.write(_RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            return int(line[15:])
    return 0


def _raw_requests(origin_port: int) -> list[bytes]:
    """Each SDK request shape as bytes in proxy form (absolute URL), ready to send."""
    out = []
    for method, url, headers, body in sdk_requests():
        path = url.split("/", 3)[3]
        lines = [f"{method} http://127.0.0.1:{origin_port}/{path} HTTP/1.1", f"Host: 127.0.0.1:{origin_port}"]
        lines += [f"{name}: {value}" for name, value in headers if name.lower() not in ("host", "content-length")]
        lines.append(f"Content-Length: {len(body)}")
        out.append("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_mitmdump(port: int, tmp: Path, with_addon: bool, session: Path, workers: int = 0) -> subprocess.Popen[bytes]:
    if with_addon and not os.environ.get("PISCAN_KEY"):
        from scanner.keys import create_key

        os.environ["PISCAN_KEY"] = str(create_key(tmp / "bench-key.pem").path)  # seals need a key
    argv = [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
            "--set", f"confdir={tmp / 'conf'}"]
    if with_addon:
        argv += ["-s", addon_module.__file__, "--set", f"piscan_session={session}", "--set", f"piscan_device={PROFILE}",
                 "--set", f"piscan_analysis_workers={workers}"]
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


def _load(proxy_port: int, origin_port: int, flows: int, clients: int) -> float:
    """Send ``flows`` requests through the proxy from ``clients`` keep-alive connections; seconds.

    The clients write prepared bytes and read each response on plain sockets (one thread each,
    the GIL released while they wait), so the load generator takes little of the CPU it measures.
    """
    shapes = _raw_requests(origin_port)
    per_client = flows // clients

    def run(offset: int) -> None:
        with socket.create_connection(("127.0.0.1", proxy_port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pending = b""
            for i in range(per_client):
                sock.sendall(shapes[(offset + i) % len(shapes)])
                while b"\r\n\r\n" not in pending:
                    pending += _recv(sock)
                head, _, pending = pending.partition(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"unexpected response through the proxy: {head[:80]!r}")
                length = _content_length(head)
                while len(pending) < length:
                    pending += _recv(sock)
                pending = pending[length:]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def _recv(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    if not data:
        raise SystemExit("the proxy closed a connection during the load")
    return data


def _children(pid: int) -> list[int]:
    """Child process ids of a process (the addon's analysis process), from /proc."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(x) for x in (task / "children").read_text().split()]
    return out


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the analysis process and its pool)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += _rss_mb(current)
        try:
            todo += _children(current)
        except OSError:
            continue
    return total


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _median_interval(values: list[float]) -> tuple[float, float]:
    """Distribution-free 95 % confidence interval of the median (order statistics, normal
    approximation of the binomial): no assumption about the shape of the noise."""
    n = len(values)
    k = max(0, int(n / 2 - 0.98 * n ** 0.5))
    return values[k], values[min(n - 1, n - 1 - k)]


def proxy_overhead(flows: int, clients: int, rounds: int, same: bool = False) -> None:
    """Section 1: two mitmdumps run side by side, one with the addon (``same``: both without,
    which measures the noise floor of this comparison on this machine)."""
    origin = socket.create_server(("127.0.0.1", 0))
    origin_port = origin.getsockname()[1]
    # the origin server runs in its own process so that it does not share a GIL with the clients
    server_proc = multiprocessing.get_context("fork").Process(target=_serve_origin, args=(origin,), daemon=True)
    server_proc.start()
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    drains: list[float] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        session = tmp / "session"
        ports = {False: _free_port(), True: _free_port()}
        procs = {False: _start_mitmdump(ports[False], tmp, False, session),
                 True: _start_mitmdump(ports[True], tmp, not same, session)}
        sent = 0
        try:
            for with_addon in (False, True):  # warm-up: connections, caches, the worker's imports
                _load(ports[with_addon], origin_port, min(400, flows), clients)
            sent = (min(400, flows) // clients) * clients
            worker = _children(procs[True].pid) if not same else []
            worker_cpu0 = sum(_cpu_seconds(pid) for pid in worker)
            for round_ in range(rounds):
                # ABBA order: a drift in the machine's speed hits both sides alike
                for with_addon in ((False, True) if round_ % 2 == 0 else (True, False)):
                    pid = procs[with_addon].pid
                    cpu0 = _cpu_seconds(pid)
                    wall[with_addon].append(_load(ports[with_addon], origin_port, flows, clients))
                    cpu[with_addon].append(_cpu_seconds(pid) - cpu0)
                    if with_addon and not same:
                        # the analysis must not spill into the other proxy's turn
                        sent += (flows // clients) * clients
                        start = time.perf_counter()
                        while _lines(session / "observations.jsonl") < sent:
                            time.sleep(0.005)
                        drains.append(time.perf_counter() - start)
            worker_cpu = sum(_cpu_seconds(pid) for pid in worker) - worker_cpu0
        finally:
            for proc in procs.values():
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=120)
            server_proc.terminate()
            server_proc.join()
    label = "mitmdump (second)" if same else "mitmdump + addon"
    n = (flows // clients) * clients
    print(f"[proxy] {rounds} rounds of {n} requests from {clients} keep-alive clients, two mitmdumps in turn "
          f"(load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs):")
    for with_addon, name in ((False, "mitmdump alone"), (True, label)):
        w, c = statistics.median(wall[with_addon]), statistics.median(cpu[with_addon])
        print(f"  {name:20s} median {w:6.3f} s wall ({n / w:5.0f} req/s), {c:6.3f} s CPU of its own process")
    for name, series in (("wall", wall), ("CPU", cpu)):
        ratios = sorted(100 * (a / b - 1) for a, b in zip(series[True], series[False]))
        low, high = _median_interval(ratios)
        print(f"  overhead, {name:4s}       median {statistics.median(ratios):+6.1f} % of mitmdump's own "
              f"(95 % confidence interval of the median {low:+.1f} .. {high:+.1f} %)"
              + ("" if same else "; target <= 10 %"))
    if not same:
        print(f"  analysis process: {1e6 * worker_cpu / (rounds * n):.0f} us CPU per flow, at idle priority; "
              f"it finished {statistics.median(drains):.2f} s (median) after a round's last response")


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
        mixed = [request_data(case) for case in CASES]
        repeat = max(1, flows // len(mixed))
        for req in mixed:  # warm the party cache
            analyzer.observe(req, 1, "unmarked")
        start = time.process_time()
        claims = opaque = 0
        for seq in range(repeat):
            for req in mixed:
                obs = analyzer.observe(req, seq, "unmarked")
                claims += len(obs.matches)
                opaque += len(obs.opaque_items)
        cpu = time.process_time() - start
        total = repeat * len(mixed)
        print(f"[offline mixed] the detection set ({len(mixed)} requests and WebSocket messages in every encoding the "
              f"decoder reads) x{repeat}: {total / cpu:,.0f} flows/s on one core (target >= 2,000); "
              f"{claims // repeat} claims and {opaque // repeat} opaque items per pass")
        clean_obs = analyze_capture(clean, analyzer)
        false_profile = sum(1 for o in clean_obs for m in o.matches if m.detector == "profile")
        false_pattern = sum(1 for o in clean_obs for m in o.matches if m.detector == "pattern")
        print(f"[false positives] {len(clean_obs)} flows holding no profile value: {false_profile} profile matches "
              f"(target 0), {false_pattern} pattern matches")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _lag_body(size: int) -> bytes:
    """An analytics-style JSON batch of events, ``size`` bytes, with the profile's OAID in it."""
    oaid = next(v.value for v in load_profile(PROFILE).values if v.key == "oaid")
    events, n = [], 0
    while True:
        event = {"event": f"page_view_{n}", "ts": 1733280000000 + n, "props": {"page": f"/home/item/{n}",
                 "dur": n % 97, "ref": "search"}, "oaid": oaid if n == 0 else None}
        candidate = json.dumps({"events": [*events, event]}).encode()
        if len(candidate) > size:
            return json.dumps({"events": events}).encode()
        events.append(event)
        n += 1


def _paced_load(proxy_port: int, origin_port: int, rate: float, seconds: float, body: bytes, clients: int,
                answered: list[int], stop: threading.Event) -> None:
    """``rate`` requests/s for ``seconds`` from ``clients`` keep-alive connections; each answered
    request is counted in ``answered`` (one counter per client)."""
    request = (f"POST http://127.0.0.1:{origin_port}/sa?project=bench HTTP/1.1\r\nHost: 127.0.0.1:{origin_port}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    per_client = rate / clients
    start = time.monotonic()

    def run(index: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", proxy_port)) as sock:
                pending = b""
                sent = 0
                while not stop.is_set() and time.monotonic() - start < seconds:
                    due = start + sent / per_client
                    if due > time.monotonic():
                        time.sleep(due - time.monotonic())
                    sock.sendall(request)
                    sent += 1
                    while b"\r\n\r\n" not in pending:
                        pending += _recv(sock)
                    head, _, pending = pending.partition(b"\r\n\r\n")
                    pending = pending[_content_length(head):]
                    answered[index] += 1
        except (OSError, SystemExit):
            return  # the proxy was killed

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def analysis_lag(rate: float, body_size: int, seconds: float, clients: int, worker_counts: list[int]) -> None:
    """Sections 4 (once per analysis worker count; 0: the default) and 5 (see the module docstring)."""
    origin = socket.create_server(("127.0.0.1", 0))
    origin_port = origin.getsockname()[1]
    server_proc = multiprocessing.get_context("fork").Process(target=_serve_origin, args=(origin,), daemon=True)
    server_proc.start()
    body = _lag_body(body_size)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        from scanner.traffic.helpers import default_workers

        for workers in dict.fromkeys(count or default_workers() for count in worker_counts):
            _lag_run(tmp, origin_port, rate, body, seconds, clients, workers, server_proc.pid or 0)
        _kill_run(tmp, origin_port, rate, body, clients)
    server_proc.terminate()


def _tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live descendants."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += _cpu_seconds(current)
            todo += _children(current)
        except OSError:
            continue
    return total


def _lag_run(tmp: Path, origin_port: int, rate: float, body: bytes, seconds: float, clients: int, workers: int,
             origin_pid: int) -> None:
    """Section 4 with ``workers`` analysis processes; where the CPUs went while the load ran."""
    from scanner.traffic.helpers import default_workers

    default = " (the default here)" if workers == default_workers() else ""
    print(f"\n4. analysis lag: {rate:g} requests/s, {len(body):,}-byte JSON bodies, {seconds:g} s, {clients} clients, "
          f"{workers} analysis process(es){default}, {os.cpu_count()} CPUs")
    print(f"{'t s':>5} {'on disk':>8} {'analysed':>9} {'behind':>7} {'behind s':>9} {'mitmdump MB':>12} {'analysis MB':>12}")
    session = tmp / f"lag-session-{workers}"
    port = _free_port()
    proc = _start_mitmdump(port, tmp, True, session, workers)
    answered = [0] * clients
    stop = threading.Event()
    loader = threading.Thread(target=_paced_load, args=(port, origin_port, rate, seconds, body, clients, answered, stop))
    started = time.monotonic()
    own = os.times()
    cpu_start = {"proxy": _cpu_seconds(proc.pid), "load": own.user + own.system + _cpu_seconds(origin_pid),
                 "analysis": sum(_tree_cpu_seconds(k) for k in _children(proc.pid))}
    cpu_load: dict[str, float] = {}
    load_wall = seconds
    loader.start()
    peak = {"proxy": 0.0, "analysis": 0.0}
    rate_seen: list[float] = []
    last_obs, last_t = 0, started
    worst_behind_s = 0.0
    while True:
        time.sleep(1.0)
        now = time.monotonic()
        on_disk = _lines(session / "flows.index.jsonl")
        analysed = _lines(session / "observations.jsonl")
        kids = _children(proc.pid)
        proxy_mb = _rss_mb(proc.pid)
        analysis_mb = max((_tree_rss_mb(k) for k in kids), default=0.0)
        peak = {"proxy": max(peak["proxy"], proxy_mb), "analysis": max(peak["analysis"], analysis_mb)}
        speed = (analysed - last_obs) / (now - last_t)
        last_obs, last_t = analysed, now
        if speed > 0:
            rate_seen.append(speed)
        behind = max(on_disk - analysed, 0)
        # seconds of analysis the backlog holds, at the median analysis speed seen so far
        behind_s = behind / sorted(rate_seen)[len(rate_seen) // 2] if rate_seen else float("nan")
        if rate_seen:
            worst_behind_s = max(worst_behind_s, behind_s)
        print(f"{now - started:5.0f} {on_disk:8} {analysed:9} {behind:7} {behind_s:9.1f} {proxy_mb:12.0f} {analysis_mb:12.0f}",
              flush=True)
        if not loader.is_alive() and not cpu_load:
            own = os.times()
            load_wall = now - started
            cpu_load = {"proxy": _cpu_seconds(proc.pid) - cpu_start["proxy"],
                        "load": own.user + own.system + _cpu_seconds(origin_pid) - cpu_start["load"],
                        "analysis": sum(_tree_cpu_seconds(k) for k in kids) - cpu_start["analysis"]}
        if not loader.is_alive() and behind == 0 and on_disk >= sum(answered):
            break
        if now - started > seconds + 600:
            print("  gave up waiting for the analysis after 10 minutes")
            break
    drain = time.monotonic() - started - seconds
    print(f"  sent and answered {sum(answered):,} in {seconds:g} s ({sum(answered) / seconds:.0f}/s); analysis "
          f"{statistics.median(rate_seen) if rate_seen else 0:.0f} flows/s; worst backlog {worst_behind_s:.1f} s; "
          f"drained {max(drain, 0):.1f} s after the load; peak RSS mitmdump {peak['proxy']:.0f} MB, analysis "
          f"{peak['analysis']:.0f} MB")
    if cpu_load:
        print(f"  CPU while the load ran ({load_wall:.0f} s, {os.cpu_count()} CPUs): mitmdump with the addon "
              f"{cpu_load['proxy'] / load_wall:.0%}, this load generator and the origin {cpu_load['load'] / load_wall:.0%}, "
              f"analysis {cpu_load['analysis'] / load_wall:.0%} (of one CPU each)")
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)


def _kill_run(tmp: Path, origin_port: int, rate: float, body: bytes, clients: int) -> None:
    """Section 5: SIGKILL mid-burst; every answered flow must be in flows.mitm."""
    from mitmproxy.io import FlowReader

    session2 = tmp / "kill-session"
    port = _free_port()
    proc = _start_mitmdump(port, tmp, True, session2)
    answered = [0] * clients
    stop = threading.Event()
    loader = threading.Thread(target=_paced_load, args=(port, origin_port, rate, 4.0, body, clients, answered, stop))
    loader.start()
    time.sleep(2.0)
    proc.kill()
    proc.wait()
    stop.set()
    loader.join()
    with open(session2 / "flows.mitm", "rb") as handle:
        on_disk = 0
        try:
            for _flow in FlowReader(handle).stream():
                on_disk += 1
        except Exception:  # noqa: BLE001 - a record cut by the kill ends the count
            pass
    print(f"\n5. SIGKILL of mitmdump mid-burst: {sum(answered)} responses seen by the clients, {on_disk} flows in "
          f"flows.mitm, answered but missing: {max(sum(answered) - on_disk, 0)} (target 0)")


def main() -> None:
    """Run the three sections."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flows", type=int, default=3000, help="flows of the offline sections")
    parser.add_argument("--round-flows", type=int, default=1000, help="requests per proxy round")
    parser.add_argument("--rounds", type=int, default=16, help="proxy rounds (each: both mitmdumps)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--skip-proxy", action="store_true", help="only the offline sections")
    parser.add_argument("--skip-offline", action="store_true", help="only the proxy section")
    parser.add_argument("--lag", action="store_true", help="run sections 4 and 5 (analysis lag, loss per SIGKILL)")
    parser.add_argument("--lag-rate", type=float, default=400.0)
    parser.add_argument("--lag-body", type=int, default=65536)
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--lag-workers", default="0,2",
                        help="analysis process counts to run section 4 with (0: the default; a count given twice runs once)")
    parser.add_argument("--noise", action="store_true",
                        help="also run section 1 with two plain mitmdumps: the noise floor of the comparison")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, pid {os.getpid()}")
    if not args.skip_offline:
        offline_speed(args.flows)
    if not args.skip_proxy:
        if not MITMDUMP.is_file():
            raise SystemExit(f"mitmdump not found at {MITMDUMP}")
        proxy_overhead(args.round_flows, args.clients, args.rounds)
        if args.noise:
            proxy_overhead(args.round_flows, args.clients, args.rounds, same=True)
    if args.lag:
        analysis_lag(args.lag_rate, args.lag_body, args.lag_seconds, args.clients, [int(n) for n in args.lag_workers.split(",")])


if __name__ == "__main__":
    main()
