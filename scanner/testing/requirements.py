"""Test markers for what an installation may lack: mitmproxy on Python 3.11 (docs/architecture.md,
"Supported Pythons"). A test that needs it is skipped with the reason, never failed or hidden."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from scanner.traffic.availability import NEEDS, mitmproxy_available

#: for tests that drive mitmproxy: the proxy, captures, sessions joined to a scan
needs_mitmproxy = pytest.mark.skipif(not mitmproxy_available(), reason=NEEDS)

_MITMPROXY_COMMANDS = ("proxy", "traffic")


def skip_unless_runnable(argv: Sequence[str]) -> None:
    """Skip (with the reason) a CLI run that needs mitmproxy when it is not installed: the proxy
    and traffic commands, and any command joining a ``--session``."""
    if mitmproxy_available():
        return
    if (argv and argv[0] in _MITMPROXY_COMMANDS) or "--session" in argv:
        pytest.skip(NEEDS)
