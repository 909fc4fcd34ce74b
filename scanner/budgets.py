"""Budgets for hostile inputs: how much a scan reads, inflates, nests and parses.

Every input comes from a suspect who may want the scan to fail. Each reader checks its budget
*while* it reads (never "read it all, then look"), and a part over budget becomes a limitation
naming the part and the budget, so the result is marked incomplete, never silently clean.

The defaults are far above any real app (the largest DEX files of real apps are about 12 MiB,
the largest APKs about 300 MiB) and far below what takes a machine down. They can be raised
with ``PISCAN_MAX_<NAME>`` environment variables (bytes or counts), which batch drivers and
CI can set; the result records the budgets in force (``docs/result-format.md``).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

MiB = 1 << 20


@dataclass(frozen=True)
class Budgets:
    """Limits on one scan; each field can be overridden by ``PISCAN_MAX_<FIELD>``."""

    entry_bytes: int = 256 * MiB  #: inflated size of one archive entry (DEX, base.apk, wxapkg file)
    total_bytes: int = 2048 * MiB  #: inflated bytes read from one archive in all
    ratio: int = 1000  #: inflated / compressed size of one entry (a zip bomb exceeds it)
    entries: int = 100_000  #: entries in one archive (zip or wxapkg)
    file_bytes: int = 64 * MiB  #: one source file of a folder, a JSON or YAML document, a HAR
    tree_bytes: int = 1024 * MiB  #: all files of a mini-program source folder
    depth: int = 200  #: nesting of JSON, YAML, tnetstring, XML and JS
    yaml_nodes: int = 1_000_000  #: nodes of a YAML document after alias expansion
    memory_bytes: int = 16384 * MiB  #: address space of a scan (RLIMIT_AS soft limit; --deep on a large app needs GBs)
    seconds: float = 3600.0  #: wall time of a whole scan

    def as_dict(self) -> dict[str, float]:
        """The budgets in force, for the result's provenance."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _from_env() -> Budgets:
    values: dict[str, float] = {}
    for item in fields(Budgets):
        raw = os.environ.get(f"PISCAN_MAX_{item.name.upper()}")
        if raw is None:
            continue
        try:
            value = float(raw) if item.name == "seconds" else int(raw)
        except ValueError:
            continue
        if value > 0:
            values[item.name] = value
    return Budgets(**values)  # type: ignore[arg-type]


def budgets() -> Budgets:
    """The budgets of this process (defaults, raised or lowered by ``PISCAN_MAX_*``)."""
    return _from_env()


def size_text(n: int) -> str:
    """``256 MiB`` / ``4,016 bytes``: a size for a one-line message."""
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB:,} MiB"
    return f"{n:,} bytes"


class ScanTimeout(BaseException):
    """The scan ran past its time budget (a BaseException, so no parser's ``except`` eats it)."""


@contextmanager
def scan_limits(limits: Budgets | None = None) -> Iterator[None]:
    """Run a scan under the memory budget (the soft ``RLIMIT_AS``, so a ``MemoryError`` instead
    of the machine swapping; children such as Chromium may raise it back to the hard limit) and
    the time budget (``SIGALRM`` -> :class:`ScanTimeout`, main thread only). Both are restored."""
    limits = limits or budgets()
    try:
        import resource
    except ImportError:  # not POSIX
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = limits.memory_bytes if hard == resource.RLIM_INFINITY else min(limits.memory_bytes, hard)
    lowered = soft == resource.RLIM_INFINITY or soft > wanted
    if lowered:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    timed = threading.current_thread() is threading.main_thread()
    previous = None
    if timed:
        def _expire(_signum: int, _frame: object) -> None:
            raise ScanTimeout(f"the scan took longer than its budget of {limits.seconds:g} s (PISCAN_MAX_SECONDS); "
                              "nothing was written")

        previous = signal.signal(signal.SIGALRM, _expire)
        signal.setitimer(signal.ITIMER_REAL, limits.seconds)
    try:
        yield
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if lowered:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def lift_memory_limit() -> None:
    """In a child process (before exec): give it back the hard address-space limit; Chromium
    reserves far more address space than it uses."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (resource.getrlimit(resource.RLIMIT_AS)[1],) * 2)
    except (ImportError, ValueError, OSError):
        pass
