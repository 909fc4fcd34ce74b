"""The addon inside mitmproxy's own test context: options, the piscan.mark command, no changes to flows."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from scanner.traffic.addon import PiscanAddon
from scanner.traffic.verify import verify_session
from scanner.traffic.synthetic import sdk_flows

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "samples" / "device-profile.yaml"


@pytest.mark.parametrize("options,message", [
    ({"piscan_body_cap": 0}, "piscan_body_cap must be a positive number of bytes, got 0"),
    ({"piscan_seal_ms": 5000}, "piscan_seal_ms must be between 100 and 1000 milliseconds, got 5000"),
    ({"piscan_device": "/nonexistent/phone.yaml"}, "piscan: /nonexistent/phone.yaml: no such device profile"),
    ({"piscan_apk": "/nonexistent/app.apk"}, "piscan: /nonexistent/app.apk: no such file"),
])
def test_bad_options_raise_options_error(options, message) -> None:
    addon = PiscanAddon()
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match=message):
            tctx.configure(addon, **options)
    addon.finish()


def test_recording_needs_an_examiner_key(tmp_path: Path) -> None:
    addon = PiscanAddon()
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match="no examiner key here; create one with `piscan key init`"):
            tctx.configure(addon, piscan_session=str(tmp_path / "s"), piscan_key=str(tmp_path / "none.pem"))


def test_flows_are_captured_analysed_and_sealed_without_being_altered(tmp_path: Path, examiner_key: Path) -> None:
    addon = PiscanAddon()
    session = tmp_path / "session"
    flows = list(sdk_flows())
    with taddons.context(addon) as tctx:
        tctx.configure(addon, piscan_session=str(session), piscan_device=str(PROFILE))
        before = [f.get_state() for f in flows]
        with pytest.raises(exceptions.CommandError, match="unknown mark 'Bad Name'"):
            tctx.command(addon.mark, "Bad Name")
        for flow in flows[:3]:
            addon.response(flow)
        addon.finish()
        assert [f.get_state() for f in flows] == before
    rows = [json.loads(line) for line in (session / "observations.jsonl").read_text().splitlines()]
    assert [(r["seq"], r["host"]) for r in rows] == [
        (1, "ulogs.umeng.com"), (2, "android.bugly.qq.com"), (3, "stream.dcloud.net.cn")]
    # flows.mitm holds exactly what mitmproxy's own writer would have written
    from mitmproxy.io import tnetstring

    assert (session / "flows.mitm").read_bytes() == b"".join(tnetstring.dumps(f.get_state()) for f in flows[:3])
    report = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
    assert report.ok and report.closed, [p.text() for p in report.problems]


def test_a_dead_analysis_process_leaves_capture_going(tmp_path: Path, examiner_key: Path) -> None:
    addon = PiscanAddon()
    session = tmp_path / "session"
    flows = list(sdk_flows())
    with taddons.context(addon) as tctx:
        tctx.configure(addon, piscan_session=str(session), piscan_device=str(PROFILE))
        addon.response(flows[0])
        observations = session / "observations.jsonl"
        deadline = time.monotonic() + 180  # idle priority: a busy machine delays the first observation
        while not observations.exists() or observations.read_bytes().count(b"\n") < 1:
            assert time.monotonic() < deadline, "the analysis process wrote nothing"
            time.sleep(0.02)
        os.kill(addon._worker.pid, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
        addon._worker.wait(timeout=30)
        addon.response(flows[1])
        addon.response(flows[2])
        start = time.monotonic()
        addon.finish()
        assert time.monotonic() - start < 60
    report = verify_session(session, expected_fingerprint=os.environ["PISCAN_KEY_FINGERPRINT"])
    assert report.flows == 3 and report.observations == 1
    assert report.unanalysed == ((2, 3),)
