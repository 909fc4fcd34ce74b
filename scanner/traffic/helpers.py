"""Start and watch the addon's helper processes (the analysis process and the sealer).

Helpers are plain ``python -m scanner.traffic.<module> CONFIG`` processes, so they share no
interpreter lock with the proxy and get exactly the descriptors they are given (the session lock,
their control pipes). On Linux a helper asks the kernel to signal it when its parent dies
(``PR_SET_PDEATHSIG``) and then checks that its parent is still the one that started it, so it
can never outlive the proxy unnoticed; everywhere, the end-of-file of its control pipe tells it
the same thing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import subprocess
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send ``signum`` to this process when its parent exits; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def spawn(module: str, config: dict[str, Any], pass_fds: tuple[int, ...]) -> subprocess.Popen[bytes]:
    """Start ``python -m scanner.traffic.<module>`` with a JSON config and the given descriptors."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", f"scanner.traffic.{module}", json.dumps({**config, "parent": os.getpid()})],
        pass_fds=pass_fds, close_fds=True, env=env, stdin=subprocess.DEVNULL)


def helper_start(config: dict[str, Any], death_signal: int | None) -> None:
    """Common start of a helper: ignore Ctrl-C (the proxy says when to stop) and die with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if death_signal is not None:
        set_parent_death_signal(death_signal)
        if os.getppid() != config["parent"]:  # the parent died before the request took effect
            os.kill(os.getpid(), death_signal)


def default_workers(beside_proxy: bool = True) -> int:
    """Analysis processes to run, at least 1 and at most 4: one per CPU left beside the proxy's
    (``beside_proxy``: a live session, where mitmdump needs about a CPU under load) or one per
    CPU (``traffic resume``); CPUs as ``os.cpu_count()`` counts them (logical CPUs). They run at
    idle priority; each holds its own analyser, about 45 MB. On a 2-CPU machine under load a pool
    of two analysed 97 flows/s of 64 KiB, one process alone 155: the pool's processes and its
    writer then only compete for the one CPU the proxy leaves."""
    cpus = os.cpu_count() or 1
    return max(1, min(4, cpus - 1 if beside_proxy else cpus))


def pipe() -> tuple[int, int]:
    """A pipe whose ends are not inherited unless passed explicitly."""
    read, write = os.pipe()
    return read, write
