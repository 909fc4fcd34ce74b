"""The traffic commands through ``main(argv)``: device init, mark, verify, traffic analyze, proxy."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from mitmproxy import io

from scanner.cli import main
from scanner.traffic.device_profile import PROFILE_TEMPLATE
from scanner.traffic.synthetic import sdk_flows

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "samples" / "device-profile.yaml"
SAMPLE = REPO / "samples" / "session"


def test_device_init_writes_the_template_once(tmp_path: Path, capsys) -> None:
    target = tmp_path / "phone.yaml"
    assert main(["device", "init", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == PROFILE_TEMPLATE
    assert main(["device", "init", str(target)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["device", "init", str(target), "--force"]) == 0


def test_mark_outside_a_session_and_bad_names(tmp_path: Path, capsys) -> None:
    assert main(["mark", "consent", "--session", str(tmp_path)]) == 2
    assert "not a PIScan session" in capsys.readouterr().err
    session = tmp_path / "s"
    session.mkdir()
    (session / "session.json").write_bytes((SAMPLE / "session.json").read_bytes())
    assert main(["mark", "Not Valid", "--session", str(session)]) == 2
    assert "unknown mark 'Not Valid'" in capsys.readouterr().err
    assert main(["mark", "refuse", "--session", str(session)]) == 0
    assert "phase -> after_refusal (mark #1)" in capsys.readouterr().out


def test_verify_detects_an_edited_observation(tmp_path: Path, capsys) -> None:
    session = tmp_path / "s"
    session.mkdir()
    for name in ("session.json", "observations.jsonl", "marks.jsonl", "flows.mitm", "flows.index.jsonl",
                 "events.jsonl", "seals.jsonl"):
        (session / name).write_bytes((SAMPLE / name).read_bytes())
    text = (session / "observations.jsonl").read_text(encoding="utf-8")
    (session / "observations.jsonl").write_text(text.replace('"phase":"before_consent"', '"phase":"after_consent"', 1),
                                                encoding="utf-8")
    assert main(["verify", str(session)]) == 3
    assert "CHANGED: observations.jsonl line 1: changed: line 2 no longer links to it" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "nothing")]) == 3
    assert "not a PIScan session (no session.json)" in capsys.readouterr().err


def test_traffic_analyze_writes_json(tmp_path: Path) -> None:
    capture = tmp_path / "c.mitm"
    with open(capture, "wb") as handle:
        writer = io.FlowWriter(handle)
        for flow in sdk_flows():
            writer.add(flow)
    out = tmp_path / "out.json"
    assert main(["traffic", "analyze", str(capture), "--device", str(PROFILE), "--marks",
                 str(SAMPLE / "marks.jsonl"), "-o", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["complete"] is False and doc["capture"]["name"] == "c.mitm"
    assert [lim["where"] for lim in doc["limitations"]] == ["traffic:android.bugly.qq.com", "traffic:ulogs.umeng.com"]
    dcloud = next(o for o in doc["traffic"]["observations"] if o["host"] == "stream.dcloud.net.cn")
    assert dcloud["phase"] == "before_consent" and dcloud["matches"][0]["location"] == "query:imei"
    assert main(["traffic", "analyze", str(tmp_path / "missing.mitm")]) == 3


def test_proxy_without_mitmdump_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    assert main(["proxy", "--session", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("piscan: mitmdump not found at ") and err.count("\n") == 1


def test_proxy_with_a_bad_profile_is_one_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("imei: ['123']\n")
    assert main(["proxy", "--device", str(bad), "--session", str(tmp_path / "s")]) == 3
    assert capsys.readouterr().err == f"piscan: {bad}:1: imei[0]: value '123' is too short to match reliably (at least 4 characters)\n"


def test_piscan_proxy_mark_verify_as_documented(tmp_path: Path, echo_servers, examiner_key) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    session = tmp_path / "session"
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "proxy", "--listen-host", "127.0.0.1", "--listen-port", str(port),
         "--device", str(PROFILE), "--session", str(session), "--seal-interval", "0.5",
         "--", "--set", f"confdir={tmp_path / 'conf'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{echo_servers.http_port}/collect/startup?appid=x&imei=861234567890127&s=0"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, proxy=f"http://127.0.0.1:{port}", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert main(["mark", "consent", "--session", str(session)]) == 0
        httpx.get(url, proxy=f"http://127.0.0.1:{port}", timeout=10).raise_for_status()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        proc.wait(timeout=30)
    out = proc.stdout.read().decode(errors="replace")
    rows = [json.loads(line) for line in (session / "observations.jsonl").read_text().splitlines()]
    assert rows, out
    first_ok = [r for r in rows if r["matches"]]
    assert [r["phase"] for r in first_ok][-2:] == ["before_consent", "after_consent"]
    assert first_ok[-1]["matches"][0]["pi_type"] == "imei" and first_ok[-1]["matches"][0]["location"] == "query:imei"
    assert main(["verify", str(session)]) == 0
