"""Rebuild samples/session: a small proxy session recorded by PIScan's own store and analyser.

    python samples/session/build_sample_session.py [OUT_DIR]

The flows are scanner.traffic.synthetic.sdk_flows (realistic Umeng, Bugly, DCloud, Alibaba,
JPush and Getui requests carrying the identifiers of samples/device-profile.yaml) at fixed times;
the phase marks are written with the same ``append_mark`` that ``piscan mark`` uses and the
phases are read back with the addon's ``PhaseTracker``, so the files have exactly the layout of
a live session. Times and versions are pinned, so the output is byte-identical on every run
(flows.mitm follows the installed mitmproxy's flow format version).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mitmproxy import io

from scanner.traffic.analyze import Analyzer
from scanner.traffic.flowdata import request_data
from scanner.traffic.party import PartyResolver
from scanner.traffic.phases import PhaseTracker, append_mark
from scanner.traffic.device_profile import load_profile
from scanner.traffic.session import FLOWS_FILE, MARKS_FILE, OBSERVATIONS_FILE, SESSION_FILE, init_session
from scanner.traffic.store import ChainWriter
from scanner.traffic.synthetic import T0, sdk_flows

HERE = Path(__file__).resolve().parent
PROFILE = HERE.parent / "device-profile.yaml"
MARKS = {10: "consent", 18: "background"}  #: before the request with this index
PINNED = {"mitmproxy_version": "reproducible", "python_version": "reproducible"}


def build(out: Path) -> None:
    """Write the sample session into ``out`` (its four files are replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (SESSION_FILE, OBSERVATIONS_FILE, MARKS_FILE, FLOWS_FILE):
        (out / name).unlink(missing_ok=True)
    profile = load_profile(PROFILE)
    init_session(out, profile=profile, now=T0 - 5, versions=PINNED)
    analyzer = Analyzer(profile, PartyResolver("com.example.shop"))
    tracker = PhaseTracker(out / MARKS_FILE)
    observations = ChainWriter(out / OBSERVATIONS_FILE)
    with open(out / FLOWS_FILE, "wb") as handle:
        writer = io.FlowWriter(handle)
        for index, flow in enumerate(sdk_flows(rounds=3, step=20.0)):
            if index in MARKS:
                append_mark(out, MARKS[index], now=flow.request.timestamp_start - 1)
            observations.append(analyzer.observe(request_data(flow), index + 1, tracker.current()).to_json())
            writer.add(flow)
    observations.close()


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
