"""``piscan traffic resume SESSION``: analyse the captured flows a crash left without an observation.

Under the session lock (so never beside a running proxy): move a cut-off last flow record aside,
index and seal what the crash left unsealed (a ``restart`` seal, which ``piscan verify`` reports
as sealed late), write a ``resume`` record, analyse every flow without an observation with the
same :class:`~scanner.traffic.worker.SessionAnalyser` as the live analysis process (so the
phases and matches are the ones the live run would have written), sealing at least once a
second, and end with a ``resume`` seal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import safejson
from ..errors import UsageError
from ..keys import ExaminerKey
from . import lock
from .decoders import DEFAULT_BODY_CAP
from .device_profile import load_profile
from .records import recover_torn_flows
from .seal import Sealer
from .session import SEALS_FILE, append_event, load_session_meta
from .store import ChainWriter, line_sha256
from .worker import SessionAnalyser, make_analyzer


def resume_session(session_dir: str | Path, key: ExaminerKey, *, device: str | None, reason: str | None = None,
                   body_cap: int | None = None, workers: int = 1,
                   progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    """Analyse (with ``workers`` processes) and seal what a crash left; returns the final seal's
    payload and head."""
    root = Path(session_dir)
    meta = load_session_meta(root)
    profile = load_profile(device) if device else None
    recorded = meta.get("device_profile_sha256")
    if (profile.sha256 if profile else None) != recorded:
        raise UsageError(f"{root}: recorded with device profile sha256 {recorded}; give that profile with --device"
                         if recorded else f"{root}: recorded without a device profile; resume without --device")
    package = (meta.get("apk") or {}).get("package")
    held = lock.acquire(root)
    try:
        seals = ChainWriter(root / SEALS_FILE)
        last = seals.last_line
        seals.close()
        sealer = Sealer(root, key)
        start = sealer.indexer.end
        sealer.indexer.close()
        torn = recover_torn_flows(root / "flows.mitm", start, sealer.indexer.records)
        sealer = Sealer(root, key)
        previous = None
        if last:

            payload = safejson.loads(last)["payload"]
            previous = {"seq": payload["seq"], "time": payload["time"], "kind": payload["kind"], "sha256": line_sha256(last)}
        sealer.checkpoint("restart", force=True)
        args = (device, package, body_cap or DEFAULT_BODY_CAP)
        analyser = SessionAnalyser(root, make_analyzer(*args), workers=workers, analyzer_args=args)
        first = analyser.seq + 1
        append_event(root, "resume", {"reason": reason, "previous_seal": previous, "torn_tail": torn,
                                      "analyse_from": first})
        total = sealer.indexer.records
        next_seal = time.monotonic() + 1.0
        try:
            while analyser.step():
                if time.monotonic() >= next_seal:
                    analyser.observations.sync()
                    sealer.checkpoint()
                    next_seal = time.monotonic() + 1.0
                    progress(f"analysed {analyser.seq} of {total} flows")
        finally:
            analyser.close()
        final = sealer.checkpoint("resume", force=True)
        head = sealer.head
        sealer.close()
    finally:
        held.release()
    assert final is not None
    return {"payload": final, "head": head, "fingerprint": key.fingerprint, "analysed_from": first,
            "analysed_to": analyser.seq}
