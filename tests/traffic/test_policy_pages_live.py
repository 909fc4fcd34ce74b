"""A policy page the phone received during a proxy session is read as the declared side, with
its URL, time, phase and sha256. A real session through mitmdump on loopback: the "phone" (an
HTTP client through the proxy) fetches the app's policy page from a local origin before consent."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from scanner.cli import main
from scanner.testing.builders import sample_policy_html
from scanner.testing.corpus import REPO

SAMPLE_APK = REPO / "samples" / "piscan-demo.apk"
PROFILE = REPO / "samples" / "device-profile.yaml"


def _scan(tmp_path: Path, target: Path, *extra: str) -> dict:
    out = tmp_path / "out"
    assert main(["scan", str(target), "-o", str(out), "-f", "json", "-q", *extra]) == 0
    return json.loads((out / "result.json").read_text())


@pytest.fixture
def policy_origin() -> tuple[str, bytes]:
    page = sample_policy_html()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = page if self.path.startswith("/privacy") else b"ok"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8" if body is page else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", page
    server.shutdown()
    server.server_close()


def test_a_policy_page_received_in_the_session_is_recorded_as_evidence(tmp_path: Path, policy_origin, start_proxy) -> None:
    origin, page = policy_origin
    session = tmp_path / "session"
    proxy = start_proxy(session, PROFILE, ("--set", f"piscan_apk={SAMPLE_APK}"))
    httpx.get(f"{origin}/privacy.html", proxy=proxy.url, timeout=10).raise_for_status()
    assert main(["mark", "consent", "--session", str(session)]) == 0
    httpx.get(f"{origin}/ping", proxy=proxy.url, timeout=10).raise_for_status()
    proxy.stop()
    result = _scan(tmp_path, SAMPLE_APK, "--session", str(session))
    (doc,) = result["facts"]["policy"]["documents"]
    source = doc["source"]
    assert (source["kind"], source["url"], source["phase"]) == ("traffic", f"{origin}/privacy.html", "before_consent")
    assert source["time"].endswith("Z")
    assert doc["sha256"] == hashlib.sha256(page).hexdigest()
    assert doc["role"] == "privacy_policy"


