"""The addon inside mitmproxy's own test context: options, the piscan.mark command, no changes to flows."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from scanner.traffic.addon import PiscanAddon
from scanner.traffic.synthetic import sdk_flows

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "samples" / "device-profile.yaml"


@pytest.mark.parametrize("options,message", [
    ({"piscan_body_cap": 0}, "piscan_body_cap must be a positive number of bytes, got 0"),
    ({"piscan_sync_ms": -1}, "piscan_sync_ms must be between 0 and 60000 milliseconds, got -1"),
    ({"piscan_device": "/nonexistent/phone.yaml"}, "piscan: /nonexistent/phone.yaml: no such device profile"),
    ({"piscan_apk": "/nonexistent/app.apk"}, "piscan: /nonexistent/app.apk: no such APK"),
])
def test_bad_options_raise_options_error(options, message) -> None:
    addon = PiscanAddon()
    with taddons.context(addon) as tctx:
        with pytest.raises(exceptions.OptionsError, match=message):
            tctx.configure(addon, **options)
    addon.done()


def test_mark_command_and_observations_without_altering_flows(tmp_path: Path) -> None:
    addon = PiscanAddon()
    session = tmp_path / "session"
    flows = list(sdk_flows())
    with taddons.context(addon) as tctx:
        tctx.configure(addon, piscan_session=str(session), piscan_device=str(PROFILE))
        before = [f.get_state() for f in flows]
        addon.request(flows[0])
        tctx.command(addon.mark, "consent")
        with pytest.raises(exceptions.CommandError, match="bad mark name"):
            tctx.command(addon.mark, "Bad Name")
        addon.request(flows[2])
        for flow in flows[:3]:
            addon.response(flow)
        addon.done()
        assert [f.get_state() for f in flows] == before
    rows = [json.loads(line) for line in (session / "observations.jsonl").read_text().splitlines()]
    assert [(r["seq"], r["host"], r["phase"]) for r in rows] == [
        (1, "ulogs.umeng.com", "before_consent"), (2, "stream.dcloud.net.cn", "after_consent")]
    marks = [json.loads(line) for line in (session / "marks.jsonl").read_text().splitlines()]
    assert [(m["mark"], m["phase"], m["source"]) for m in marks] == [("consent", "after_consent", "mitmproxy")]
    assert (session / "flows.mitm").stat().st_size > 0


def test_without_a_session_the_command_switches_the_in_memory_phase() -> None:
    addon = PiscanAddon()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, piscan_body_cap=4096)
        tctx.command(addon.mark, "background")
        assert addon.phase == "background"
        addon.done()


def test_a_dead_analysis_process_is_reported_and_does_not_hang_the_proxy(tmp_path: Path, caplog) -> None:
    addon = PiscanAddon()
    session = tmp_path / "session"
    flows = list(sdk_flows())
    with taddons.context(addon) as tctx:
        tctx.configure(addon, piscan_session=str(session), piscan_device=str(PROFILE))
        addon.request(flows[0])
        observations = session / "observations.jsonl"
        deadline = time.monotonic() + 60
        while not observations.exists() or observations.read_bytes().count(b"\n") < 1:
            assert time.monotonic() < deadline, "the analysis process wrote nothing"
            time.sleep(0.02)
        os.kill(addon._process.pid, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
        addon._process.join(timeout=30)
        with caplog.at_level(logging.ERROR, logger="piscan"):
            addon.request(flows[1])
            addon.request(flows[2])  # no second report, no pile-up
        start = time.monotonic()
        addon.done()
        assert time.monotonic() - start < 30
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["piscan: the analysis process has stopped (exit code -9); flows from #2 on are "
                      "neither analysed nor recorded"]
    assert observations.read_bytes().count(b"\n") == 1
