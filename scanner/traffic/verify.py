"""``piscan verify SESSION``: check every hash chain and that the flows file reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .session import FLOWS_FILE, MARKS_FILE, OBSERVATIONS_FILE, load_session_meta
from .store import ChainReport, verify_chain


@dataclass(frozen=True)
class FlowsReport:
    """Outcome of reading the flows file."""

    path: str
    flows: int
    ok: bool
    torn_tail: bool  #: the last flow is incomplete (proxy killed mid-write); not an error
    error: str | None


@dataclass(frozen=True)
class SessionReport:
    """Outcome of verifying a session directory."""

    chains: tuple[ChainReport, ...]
    flows: FlowsReport | None

    @property
    def ok(self) -> bool:
        """True when every chain verifies and the flows file reads (torn tails allowed)."""
        return all(c.ok for c in self.chains) and (self.flows is None or self.flows.ok)


def read_flows(path: Path) -> FlowsReport:
    """Count the flows of a mitmproxy dump; a truncated last record is a torn tail."""
    from mitmproxy import io
    from mitmproxy.exceptions import FlowReadException

    size = path.stat().st_size
    count = 0
    with open(path, "rb") as handle:
        reader = io.FlowReader(handle)
        try:
            for _flow in reader.stream():
                count += 1
        except FlowReadException as exc:
            position = handle.tell()
            # tnetstring reports a short read at the end of the file as an invalid record
            if position >= size:
                return FlowsReport(str(path), count, True, True, None)
            return FlowsReport(str(path), count, False, False, f"flow {count + 1}: {exc}")
    return FlowsReport(str(path), count, True, False, None)


def verify_session(session_dir: str | Path) -> SessionReport:
    """Verify a session's chains and flows file; ``InputError`` if it is not a session."""
    root = Path(session_dir)
    load_session_meta(root)
    chains = tuple(verify_chain(root / name) for name in (OBSERVATIONS_FILE, MARKS_FILE) if (root / name).exists())
    flows_path = root / FLOWS_FILE
    flows = read_flows(flows_path) if flows_path.exists() else None
    return SessionReport(chains, flows)
