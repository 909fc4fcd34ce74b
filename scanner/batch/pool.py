"""Isolated scans: one forked child per scan, with a time and a memory limit.

The process that runs the batch (or a Dask worker) loads the packs and collectors once
(:func:`scan_setup`); every scan then runs in a child forked from it, which inherits them at no
cost (copy-on-write). The child gets an address-space limit (``RLIMIT_AS``: what it holds at the
fork plus ``memory_limit``) and is killed (SIGKILL) at its time limit. A child that runs out of
memory, crashes in native code or hangs becomes a ``failed`` outcome with the reason; the other
scans go on, and the parent's memory never grows with a hostile input.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from ..errors import ExitCode
from .inputs import Job
from .work import BatchOptions, failed_outcome, scan_job, scan_setup

DEFAULT_TIME_LIMIT = 900.0  #: seconds per scan
DEFAULT_MEMORY_LIMIT = 4 << 30  #: bytes of address space per scan, above what the worker holds at the fork


def _address_space() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Running:
    """A scan in a forked child."""

    job: Job
    pid: int
    fd: int
    started_wall: float
    started: float
    data: bytearray = field(default_factory=bytearray)

    def fileno(self) -> int:
        """The pipe the child answers on (for :func:`multiprocessing.connection.wait`)."""
        return self.fd


def start(job: Job, out_root: str, options: BatchOptions, *, memory_limit: int | None,
          return_files: bool = False) -> Running:
    """Fork a child that scans ``job`` and writes its pickled outcome to a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_fd)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if memory_limit:
                limit = _address_space() + memory_limit
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            outcome = scan_job(job.to_json(), out_root, options.to_json(), return_files=return_files)
            payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001 - the parent reports a child that answered nothing
            code = 70
        finally:
            os._exit(code)
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    return Running(job, pid, read_fd, time.time(), time.monotonic())


def _read(running: Running) -> bool:
    """Read what the pipe holds; ``True`` at end-of-file."""
    while True:
        try:
            chunk = os.read(running.fd, 1 << 20)
        except BlockingIOError:
            return False
        if not chunk:
            return True
        running.data += chunk


def finish(running: Running, options: BatchOptions, memory_limit: int | None) -> dict[str, Any]:
    """Reap the child and turn its answer (or its death) into an outcome."""
    os.close(running.fd)
    _, status = os.waitpid(running.pid, 0)
    if running.data:
        try:
            outcome: dict[str, Any] = pickle.loads(bytes(running.data))  # noqa: S301 - our own child's answer
            return outcome
        except Exception:  # noqa: BLE001 - a torn answer is a failed scan
            pass
    if os.WIFSIGNALED(status):
        reason = f"the scan process was killed by signal {os.WTERMSIG(status)}"
    else:
        reason = f"the scan process exited with code {os.WEXITSTATUS(status)} without an answer"
    if memory_limit:
        reason += f" (memory limit {memory_limit >> 20} MiB)"
    return failed_outcome(running.job, options, reason, int(ExitCode.INPUT), running.started_wall)


def kill(running: Running, options: BatchOptions, time_limit: float) -> dict[str, Any]:
    """Stop a child past its time limit."""
    try:
        os.kill(running.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(running.pid, 0)
    os.close(running.fd)
    return failed_outcome(running.job, options, f"time limit of {time_limit:g} s exceeded; the scan was stopped",
                          int(ExitCode.INPUT), running.started_wall)


@dataclass
class LocalPool:
    """At most ``jobs`` scans at once, each in its own forked child."""

    out_root: str
    options: BatchOptions
    jobs: int = 2
    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int | None = DEFAULT_MEMORY_LIMIT
    running: list[Running] = field(default_factory=list)

    def run(self, pending: list[Job], on_start: Callable[[Job], None] | None = None) -> Iterator[dict[str, Any]]:
        """Scan every job of ``pending``; yields outcomes in completion order."""
        scan_setup()  # loaded once here, inherited by every child
        queue = list(pending)
        try:
            while queue or self.running:
                while queue and len(self.running) < max(1, self.jobs):
                    job = queue.pop(0)
                    self.running.append(start(job, self.out_root, self.options, memory_limit=self.memory_limit))
                    if on_start:
                        on_start(job)
                deadline = min(r.started + self.time_limit for r in self.running)
                ready = set(wait([r.fd for r in self.running], timeout=max(0.0, deadline - time.monotonic())))
                for running in list(self.running):
                    if running.fd in ready and _read(running):
                        self.running.remove(running)
                        yield finish(running, self.options, self.memory_limit)
                    elif time.monotonic() - running.started >= self.time_limit:
                        self.running.remove(running)
                        yield kill(running, self.options, self.time_limit)
        finally:
            self.close()

    def close(self) -> None:
        """Kill the scans in flight (a resumed batch redoes them)."""
        for running in self.running:
            try:
                os.kill(running.pid, signal.SIGKILL)
                os.waitpid(running.pid, 0)
                os.close(running.fd)
            except OSError:
                pass
        self.running = []


def run_one(job_data: dict[str, Any], out_root: str, options_data: dict[str, Any], time_limit: float,
            memory_limit: int | None) -> dict[str, Any]:
    """One isolated scan, returning the outcome with the output files (the Dask task)."""
    scan_setup()
    options = BatchOptions(tuple(options_data["formats"]), options_data["lang"], bool(options_data["reproducible"]))
    running = start(Job.from_json(job_data), out_root, options, memory_limit=memory_limit, return_files=True)
    while True:
        remaining = running.started + time_limit - time.monotonic()
        if remaining <= 0:
            return kill(running, options, time_limit)
        if wait([running.fd], timeout=remaining) and _read(running):
            return finish(running, options, memory_limit)
