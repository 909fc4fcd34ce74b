"""Exit codes and the exceptions that the CLI turns into one line on stderr.

Parsers raise :class:`InputError` (a ``ValueError``) naming the file and the problem; the CLI
boundary converts it once into ``piscan: <path>: <message>`` and exit code 3.
"""

from __future__ import annotations

import enum
from pathlib import Path


class ExitCode(enum.IntEnum):
    """The documented exit codes of every ``piscan`` command."""

    OK = 0  #: done, nothing at or above --fail-on
    FINDINGS = 1  #: findings at or above --fail-on
    USAGE = 2  #: usage error (bad option, bad rule pack)
    INPUT = 3  #: unreadable or invalid input
    INTERNAL = 4  #: internal error (a bug: please report it)
    INTERRUPTED = 130  #: stopped by Ctrl-C (SIGINT); nothing half-written is left
    TERMINATED = 143  #: stopped by SIGTERM; nothing half-written is left


EXIT_CODES_HELP = (
    "Exit codes: 0 done, nothing at or above --fail-on; 1 findings at or above --fail-on; "
    "2 usage error; 3 unreadable or invalid input; 4 internal error (please report it); "
    "130 interrupted (Ctrl-C); 143 terminated (SIGTERM)."
)


class PiscanError(Exception):
    """Base of the errors the CLI reports as one line with a given exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, path: str | Path | None = None, *, lineno: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.lineno = lineno

    def line(self) -> str:
        """The single line shown to the user: ``path: message``, or ``path:line: message`` when the
        problem is at a known line of the file."""
        if not self.path:
            return self.message
        where = f"{self.path}:{self.lineno}" if self.lineno is not None else self.path
        return f"{where}: {self.message}"


class InputError(PiscanError, ValueError):
    """The input file (APK, wxapkg, capture, profile) is missing, unreadable or invalid."""

    exit_code = ExitCode.INPUT


class UsageError(PiscanError, ValueError):
    """The command line or a user-supplied rule pack is wrong."""

    exit_code = ExitCode.USAGE
