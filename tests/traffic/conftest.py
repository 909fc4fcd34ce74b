"""Fixtures for the traffic tests: loopback HTTP/HTTPS servers and a real mitmdump with the addon."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


REPO = Path(__file__).resolve().parents[2]
MITMDUMP = Path(sys.executable).parent / "mitmdump"


@dataclass
class EchoServers:
    """An HTTP and an HTTPS server on loopback that record every request body they receive."""

    http_port: int
    https_port: int
    received: list[tuple[str, str, bytes]] = field(default_factory=list)


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "server.pem", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="session")
def echo_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EchoServers]:
    """Start the two servers for the whole test session."""
    servers = EchoServers(0, 0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            servers.received.append((self.command, self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: object) -> None:
            pass

    plain = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    servers.http_port, servers.https_port = plain.server_address[1], tls.server_address[1]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (plain, tls)]
    for thread in threads:
        thread.start()
    yield servers
    for server in (plain, tls):
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proxy:
    """A running mitmdump with the PIScan addon."""

    proc: subprocess.Popen[bytes]
    port: int
    confdir: Path
    session: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    def stop(self) -> None:
        """Ctrl-C, as a user would: the addon drains its queue in ``done``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(timeout=180)  # the drain runs at idle priority: a busy machine delays it

    def kill(self) -> None:
        """SIGKILL: no clean-up at all."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def examiner_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh examiner key, used by every proxy the test starts and expected by verify."""
    from scanner.keys import create_key

    key = create_key(tmp_path / "keys" / "examiner-key.pem")
    monkeypatch.setenv("PISCAN_KEY", str(key.path))
    monkeypatch.setenv("PISCAN_KEY_FINGERPRINT", key.fingerprint)
    return key.path


def children(pid: int) -> list[int]:
    """Child process ids of a process, from /proc."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(x) for x in (task / "children").read_text().split()]
    except OSError:
        pass
    return out


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float = 60) -> None:
    """Wait until none of the processes is alive; fail naming the survivors."""
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            raise AssertionError(f"still running after {timeout} s: {[p for p in pids if alive(p)]}")
        time.sleep(0.1)


@pytest.fixture
def start_proxy(tmp_path: Path, examiner_key: Path) -> Iterator:
    """Factory: start mitmdump with the addon on a free loopback port; stopped after the test."""
    import scanner.traffic.addon as addon_module

    started: list[Proxy] = []

    def start(session: Path, device: Path | None = None, extra: tuple[str, ...] = (), wait: bool = True) -> Proxy:
        if not MITMDUMP.is_file():
            pytest.fail(f"mitmdump is not installed next to {sys.executable}")
        port = free_port()
        confdir = tmp_path / f"conf-{port}"
        log = tmp_path / f"mitmdump-{port}.log"
        argv = [str(MITMDUMP), "--listen-host", "127.0.0.1", "--listen-port", str(port),
                "--set", f"confdir={confdir}", "--set", "ssl_insecure=true",
                "-s", addon_module.__file__, "--set", f"piscan_session={session}", *extra]
        if device is not None:
            argv += ["--set", f"piscan_device={device}"]
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        proxy = Proxy(proc, port, confdir, session, log)
        started.append(proxy)
        if not wait:
            return proxy
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"mitmdump exited with {proc.returncode}: {log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    if proxy.ca.exists():
                        return proxy
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"mitmdump did not start: {log.read_text(errors='replace')}")

    yield start
    for proxy in started:
        helpers = children(proxy.proc.pid)
        if proxy.proc.poll() is None:
            proxy.kill()
        for pid in helpers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@dataclass
class WssServer:
    """A WebSocket server over TLS on loopback (wsproto), recording every message it receives."""

    port: int
    cert: Path  #: its self-signed certificate: a pinning client trusts only this
    received: list[bytes | str] = field(default_factory=list)


@pytest.fixture(scope="session")
def wss_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WssServer]:
    """Accept WebSocket upgrades over TLS and read messages until the client closes."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage

    cert, key = _self_signed(tmp_path_factory.mktemp("wss"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = WssServer(int(listener.getsockname()[1]), cert)
    stopping = threading.Event()

    def serve(conn: socket.socket) -> None:
        try:
            with context.wrap_socket(conn, server_side=True) as tls:
                ws = WSConnection(ConnectionType.SERVER)
                while not stopping.is_set():
                    data = tls.recv(65536)
                    if not data:
                        return
                    ws.receive_data(data)
                    for event in ws.events():
                        if isinstance(event, Request):
                            tls.sendall(ws.send(AcceptConnection()))
                        elif isinstance(event, (TextMessage, BytesMessage)):
                            server.received.append(event.data)
                        elif isinstance(event, CloseConnection):
                            tls.sendall(ws.send(event.response()))
                            return
        except (OSError, ssl.SSLError):
            return

    def accept() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield server
    stopping.set()
    listener.close()


def tunnel(proxy_port: int, host: str, port: int, context: ssl.SSLContext, server_name: str = "localhost") -> ssl.SSLSocket:
    """A TLS connection to host:port through the proxy's CONNECT (the handshake may raise)."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=20)
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            raise OSError("proxy closed the CONNECT")
        reply += chunk
    if b" 200" not in reply.split(b"\r\n", 1)[0]:
        raise OSError(f"CONNECT refused: {reply[:80]!r}")
    return context.wrap_socket(sock, server_hostname=server_name)


def websocket_send(proxy_port: int, ws_port: int, ca: Path, path: str, messages: list[bytes | str]) -> None:
    """Open wss://localhost:ws_port/path through the proxy, send the messages, close cleanly."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, CloseConnection, Message, Request

    context = ssl.create_default_context(cafile=str(ca))
    with tunnel(proxy_port, "127.0.0.1", ws_port, context) as tls:
        ws = WSConnection(ConnectionType.CLIENT)
        tls.sendall(ws.send(Request(host=f"localhost:{ws_port}", target=path)))
        accepted = False
        while not accepted:
            data = tls.recv(65536)
            if not data:
                raise OSError("the WebSocket upgrade was not answered")
            ws.receive_data(data)
            accepted = any(isinstance(e, AcceptConnection) for e in ws.events())
        for message in messages:
            tls.sendall(ws.send(Message(data=message)))
        tls.sendall(ws.send(CloseConnection(code=1000)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            data = tls.recv(65536)
            if not data:
                break
            ws.receive_data(data)
            if any(isinstance(e, CloseConnection) for e in ws.events()):
                break


def h2_request(proxy_port: int, port: int, ca: Path, method: str, path: str, headers: dict[str, str],
               body: bytes = b"") -> tuple[int, str | None]:
    """One HTTP/2 request to 127.0.0.1:port through the proxy, offering only h2 in ALPN (httpx
    offers http/1.1 first, and mitmproxy keeps the client's preference); (status, ALPN)."""
    import h2.config
    import h2.connection
    import h2.events

    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["h2"])
    with tunnel(proxy_port, "127.0.0.1", port, context) as tls:
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        request_headers = [(":method", method), (":path", path), (":scheme", "https"), (":authority", f"localhost:{port}"),
                           *((k.lower(), v) for k, v in headers.items())]
        if body:
            request_headers.append(("content-length", str(len(body))))
        conn.send_headers(1, request_headers, end_stream=not body)
        if body:
            conn.send_data(1, body, end_stream=True)
        tls.sendall(conn.data_to_send())
        status = 0
        while True:
            data = tls.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    return status, tls.selected_alpn_protocol()
            tls.sendall(conn.data_to_send())
        return status, tls.selected_alpn_protocol()
