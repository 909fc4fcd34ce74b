"""A proxy session directory and its files.

| file | written by | content |
| --- | --- | --- |
| ``session.json`` | the proxy, once | start time, versions, device-profile hash, the APK |
| ``flows.mitm`` | the proxy's event loop, one record per flow as it completes | mitmproxy's own format |
| ``flows.index.jsonl`` | the sealer | one chained line per flow record: offset, length, sha256 |
| ``observations.jsonl`` | the analysis process | one chained line per flow, same numbering |
| ``marks.jsonl`` | ``piscan mark`` | phase marks |
| ``events.jsonl`` | the proxy | start, restart, stop, analysis stopped or resumed |
| ``seals.jsonl`` | the sealer | signed checkpoints over all of the above |

``session.lock`` only holds the one-writer lock and is not evidence.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from .. import safejson
from .. import __version__
from ..errors import InputError, UsageError
from ..hashing import digest_file
from ..result import package_version, write_atomic
from .observation import iso_time
from .device_profile import DeviceProfile

SESSION_FORMAT = "piscan-session/1"
SESSION_FILE = "session.json"
OBSERVATIONS_FILE = "observations.jsonl"
MARKS_FILE = "marks.jsonl"
FLOWS_FILE = "flows.mitm"
FLOW_INDEX_FILE = "flows.index.jsonl"
EVENTS_FILE = "events.jsonl"
SEALS_FILE = "seals.jsonl"
LOCK_FILE = "session.lock"
#: the hash-chained logs a seal covers, in the order seals list them
CHAINED_FILES = (EVENTS_FILE, MARKS_FILE, FLOW_INDEX_FILE, OBSERVATIONS_FILE)
#: every evidence file of a session (the lock file is not one)
SESSION_FILES = (SESSION_FILE, EVENTS_FILE, MARKS_FILE, FLOWS_FILE, FLOW_INDEX_FILE, OBSERVATIONS_FILE, SEALS_FILE)


def init_session(
    session_dir: str | Path,
    *,
    profile: DeviceProfile | None,
    apk: str | Path | None = None,
    package: str | None = None,
    capture_scope: str = "device",
    now: float | None = None,
    versions: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Create (or reopen) a session directory and return its metadata.

    ``versions`` overrides the recorded ``mitmproxy_version`` / ``python_version`` (only for the
    committed sample session, whose bytes must not depend on the environment that rebuilt it).

    Reopening is allowed only with the same device profile, so one session's observations are
    all matched against the same values.

    ``package`` is the app the session is recorded for (from ``--apk`` or ``--package``; a
    mini-program's AppID for one); ``capture_scope`` is ``app`` when the examiner states that the
    capture carries only that app's traffic (per-app VPN), else ``device``.
    """
    root = Path(session_dir)
    meta_path = root / SESSION_FILE
    profile_sha = profile.sha256 if profile else None
    if meta_path.exists():
        meta = load_session_meta(root)
        if meta.get("device_profile_sha256") != profile_sha:
            raise UsageError(
                f"{root}: this session was recorded with device profile sha256 "
                f"{meta.get('device_profile_sha256')}; start a new session for a different profile"
            )
        return meta
    root.mkdir(parents=True, exist_ok=True)
    apk_row = None
    if apk is not None:
        digest = digest_file(apk)
        apk_row = {"name": Path(apk).name, "sha256": digest["sha256"], "package": package}
    meta = {
        "format": SESSION_FORMAT,
        "started_at": iso_time(time.time() if now is None else now),
        "tool_version": __version__,
        "mitmproxy_version": package_version("mitmproxy"),
        "python_version": platform.python_version(),
        "device_profile_sha256": profile_sha,
        "device_label": profile.label if profile else None,
        "device_model": profile.model if profile else None,
        "device_os": profile.os if profile else None,
        "apk": apk_row,
        "app_package": package,
        "capture_scope": capture_scope,
    }
    meta.update(versions or {})
    write_atomic(meta_path, json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    return meta


def load_session_meta(session_dir: str | Path) -> dict[str, Any]:
    """Read ``session.json``; ``InputError`` if the folder is not a session."""
    path = Path(session_dir) / SESSION_FILE
    try:
        meta = safejson.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("not a PIScan session (no session.json)", Path(session_dir)) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable session.json: {exc}", path) from None
    if not isinstance(meta, dict) or meta.get("format") != SESSION_FORMAT:
        raise InputError(f"not a PIScan session file (expected format {SESSION_FORMAT!r})", path)
    return meta


def has_recording(session_dir: str | Path) -> bool:
    """Whether a session folder already holds recorded evidence (so a new proxy must ``--resume``)."""
    root = Path(session_dir)
    return any((root / name).is_file() and (root / name).stat().st_size > 0
               for name in (FLOWS_FILE, EVENTS_FILE, SEALS_FILE, OBSERVATIONS_FILE))


def append_event(session_dir: str | Path, event: str, fields: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """Append one lifecycle record to ``events.jsonl`` (chained, fsynced) and return it."""
    from .store import ChainWriter

    stamp = time.time() if now is None else now
    writer = ChainWriter(Path(session_dir) / EVENTS_FILE, locked=True)
    try:
        line = writer.append_with(lambda last: {
            "seq": (last["seq"] + 1) if last else 1, "time": iso_time(stamp), "ts": round(stamp, 6),
            "event": event, **fields})
    finally:
        writer.close()
    return safejson.loads(line)
