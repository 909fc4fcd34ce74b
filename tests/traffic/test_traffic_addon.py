"""The addon inside mitmproxy's own test context: options, the piscan.mark command, no changes to flows."""

from __future__ import annotations

import json
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
