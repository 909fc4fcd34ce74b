"""One writer per session folder: an exclusive ``flock`` on ``session.lock``.

``piscan proxy`` takes the lock before it starts mitmdump and hands the locked descriptor down
to mitmdump and to the addon's helper processes (the analysis process and the sealer), so the
folder stays locked until the last of them has exited. A hand-started mitmdump with the addon
takes the lock itself. A second writer is refused with one line that names the holder.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .session import LOCK_FILE


@dataclass
class SessionLock:
    """A held session lock; the descriptor may be passed to child processes (they share it)."""

    fd: int
    path: Path

    def release(self) -> None:
        """Close this process's descriptor (the lock ends when every holder has closed it)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _refusal(session: Path, fd: int) -> UsageError:
    try:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        holder = ""
    who = f" ({holder})" if holder else ""
    return UsageError(f"{session}: another proxy is recording into this session{who}; "
                      "one writer per session: stop it first, or record into another folder")


def acquire(session_dir: str | Path) -> SessionLock:
    """Lock a session folder for writing, or raise :class:`UsageError` naming the current holder."""
    session = Path(session_dir)
    session.mkdir(parents=True, exist_ok=True)
    path = session / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        error = _refusal(session, fd)
        os.close(fd)
        raise error from None
    os.set_inheritable(fd, False)
    holder = f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, holder.encode(), 0)
    return SessionLock(fd, path)


def adopt(fd: int, session_dir: str | Path) -> SessionLock:
    """Take over a lock descriptor inherited from the parent; :class:`UsageError` if it is not this
    session's lock (or the lock is not held through it)."""
    path = Path(session_dir) / LOCK_FILE
    try:
        same = os.path.samestat(os.fstat(fd), os.stat(path))
        # the same open file description already holds it: this succeeds at once; anything else fails
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (OSError, BlockingIOError):
        same = False
    if not same:
        raise UsageError(f"{session_dir}: descriptor {fd} is not this session's lock")
    return SessionLock(fd, path)


def is_locked(session_dir: str | Path) -> bool:
    """Whether a writer holds the session's lock now."""
    path = Path(session_dir) / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
