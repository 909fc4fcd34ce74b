"""Build, finish, validate and write the canonical result (``result.json``).

The layout is documented in docs/result-format.md. Collectors fill ``result["facts"]``; the rule
engine fills ``findings``, ``manual_checks`` and ``summary``; renderers only read.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import socket
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from . import safejson
from . import __version__
from .model.records import Limitation

SCHEMA_ID = "piscan-result/1"
REPRODUCIBLE_TIME = "2000-01-01T00:00:00Z"
REPRODUCIBLE_HOST = "reproducible"


def utc_now() -> str:
    """Current UTC time, ISO 8601 with millisecond precision and a ``Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def new_result(
    *,
    command: list[str],
    inputs: list[dict[str, Any]],
    case_id: str | None = None,
    examiner: str | None = None,
    source: str | None = None,
    category: dict[str, Any] | None = None,
    reproducible: bool = False,
) -> dict[str, Any]:
    """A fresh result with provenance filled in and empty fact, finding and limitation lists."""
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "piscan", "version": __version__},
        "provenance": {
            "tool_version": __version__,
            "python_version": platform.python_version(),
            "androguard_version": package_version("androguard"),
            "mitmproxy_version": package_version("mitmproxy"),
            "host": REPRODUCIBLE_HOST if reproducible else socket.gethostname(),
            "started_at": REPRODUCIBLE_TIME if reproducible else utc_now(),
            "finished_at": None,
            "command": list(command),
            "reproduce": shlex.join(command),
            "inputs": inputs,
            "packs": [],
        },
        "case": {"case_id": case_id, "examiner": examiner, "category": category, "source": source},
        "app": {},
        "complete": True,
        "limitations": [],
        "facts": {},
        "findings": [],
        "manual_checks": [],
        "summary": {},
    }


def add_limitation(result: dict[str, Any], limitation: Limitation) -> None:
    """Record a limitation (once) and mark the result incomplete."""
    row = limitation.to_json()
    if row not in result["limitations"]:
        result["limitations"].append(row)
    result["complete"] = False


def add_pack(result: dict[str, Any], *, pack_id: str, kind: str, version: str, sha256: str) -> None:
    """Record a data or rule pack used by the scan (once)."""
    row = {"id": pack_id, "kind": kind, "version": version, "sha256": sha256}
    if row not in result["provenance"]["packs"]:
        result["provenance"]["packs"].append(row)


def finish_result(result: dict[str, Any], *, reproducible: bool = False) -> dict[str, Any]:
    """Stamp the end time and sort the lists whose order the format fixes."""
    result["provenance"]["finished_at"] = REPRODUCIBLE_TIME if reproducible else utc_now()
    result["provenance"]["packs"].sort(key=lambda p: (p["kind"], p["id"]))
    result["limitations"].sort(key=lambda lim: (lim["kind"], lim.get("where") or "", lim["detail"]))
    return result


def dumps(result: dict[str, Any]) -> str:
    """Serialise a result the one canonical way."""
    return json.dumps(result, ensure_ascii=False, indent=2) + "\n"


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a file through a temporary name in the same folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_result(path: str | Path) -> dict[str, Any]:
    """Read a result.json written by PIScan; ``InputError`` if it is not one."""
    from .errors import InputError

    try:
        data = safejson.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a PIScan result: {exc}", path) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_ID:
        raise InputError(f"not a PIScan result (expected schema {SCHEMA_ID!r})", path)
    return data
