"""Rebuild samples/session: a small proxy session recorded by PIScan's own store, analyser and sealer.

    python samples/session/build_sample_session.py [OUT_DIR]             # samples/session
    python samples/session/build_sample_session.py --unbound [OUT_DIR]   # tests/data/session-unbound

``samples/session`` is recorded for the demo APK (``piscan proxy --apk samples/piscan-demo.apk``):
its flows are scanner.traffic.synthetic.demo_session_flows, the demo app's own requests (tied to
it by host, package and Umeng app key) mixed with another app's Getui, DCloud, JPush and Bugly
requests, which a scan of the demo APK lists as unattributed. ``tests/data/session-unbound`` is
recorded for no app (the shape of a session from before sessions named their app): 24 realistic
Umeng, Bugly, DCloud, Alibaba, JPush and Getui requests (scanner.traffic.synthetic.sdk_flows);
``piscan scan --session`` refuses it without ``--session-app-unverified``. Both carry the
identifiers of samples/device-profile.yaml at fixed times.
The files are written by the code a live session uses: ``init_session`` and ``append_event``,
``append_mark`` (what ``piscan mark`` calls), the analysis process's ``SessionAnalyser`` reading
``flows.mitm`` (so phases come from the request start times exactly as live), and the sealer,
signing with ``samples/examiner-demo-key.pem`` (a demonstration key, public on purpose: never
use it for a case). Times and versions are pinned and Ed25519 signatures are deterministic, so
the output is byte-identical on every run with the same mitmproxy flow format (flows.mitm, and
so the flow index and the seals, follow the installed mitmproxy's format).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mitmproxy import io

from scanner.keys import load_key
from scanner.traffic.device_profile import load_profile
from scanner.traffic.phases import append_mark
from scanner.traffic.seal import Sealer
from scanner.traffic.session import FLOWS_FILE, SESSION_FILES, append_event, init_session
from scanner.traffic.synthetic import DEMO_PACKAGE, T0, demo_session_flows, sdk_flows
from scanner.traffic.worker import SessionAnalyser, make_analyzer

HERE = Path(__file__).resolve().parent
PROFILE = HERE.parent / "device-profile.yaml"
DEMO_KEY = HERE.parent / "examiner-demo-key.pem"
DEMO_APK = HERE.parent / "piscan-demo.apk"
UNBOUND = HERE.parents[1] / "tests" / "data" / "session-unbound"
#: marks before the request with this index, per variant
MARKS = {"demo": {5: "consent", 9: "background"}, "unbound": {10: "consent", 18: "background"}}
PINNED = {"mitmproxy_version": "reproducible", "python_version": "reproducible"}


def build(out: Path, variant: str = "demo") -> None:
    """Write the ``demo`` (bound to the demo APK) or ``unbound`` session into ``out`` (its files are replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in SESSION_FILES:
        (out / name).unlink(missing_ok=True)
    profile = load_profile(PROFILE)
    demo = variant == "demo"
    meta = init_session(out, profile=profile, now=T0 - 5, versions=PINNED,
                        apk=DEMO_APK if demo else None, package=DEMO_PACKAGE if demo else None)
    append_event(out, "start", {"session": meta, "pid": 0, "mitmproxy_version": "reproducible"}, now=T0 - 5)
    sealer = Sealer(out, load_key(DEMO_KEY))
    sealer.checkpoint("start", force=True, now=T0 - 4)
    flows = list(demo_session_flows() if demo else sdk_flows(rounds=3, step=20.0))
    for index, flow in enumerate(flows):  # mitmproxy's test connections get random ids: pin them
        flow.client_conn.id = f"00000000-0000-0000-0000-1{index:011d}"
        flow.server_conn.id = f"00000000-0000-0000-0000-2{index:011d}"
    with open(out / FLOWS_FILE, "wb") as handle:
        writer = io.FlowWriter(handle)
        for index, flow in enumerate(flows):
            if index in MARKS[variant]:
                append_mark(out, MARKS[variant][index], now=flow.request.timestamp_start - 1)
            writer.add(flow)
    analyser = SessionAnalyser(out, make_analyzer(str(PROFILE), DEMO_PACKAGE if demo else "com.example.shop", 1 << 20))
    while analyser.step():
        pass
    analyser.close()
    end = flows[-1].request.timestamp_start + 5
    append_event(out, "stop", {"captured_this_run": len(flows), "analysed_up_to": len(flows), "drained": True,
                               "refused_unrecorded": 0}, now=end)
    sealer.checkpoint("close", force=True, now=end + 1)
    sealer.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    kind = "unbound" if "--unbound" in args else "demo"
    rest = [a for a in args if a != "--unbound"]
    build(Path(rest[0]) if rest else (UNBOUND if kind == "unbound" else HERE), kind)
