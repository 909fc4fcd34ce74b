"""Whether this installation can proxy and read captures: mitmproxy >= 11.1.2 is installed.

mitmproxy 11.1.2 (the first release without CVE-2025-23217, and allowing h11 >= 0.16 without
CVE-2025-43859) needs Python 3.12. On Python 3.11 PIScan installs without mitmproxy: static scans,
mini-programs, policies, reports, ``verify`` of a session and case work; ``proxy``, ``traffic
analyze``/``resume`` and joining a session to a scan stop with :data:`NEEDS` as one line (exit 2).
"""

from __future__ import annotations

import sys
from importlib import metadata

from ..errors import UsageError

MINIMUM = (11, 1, 2)
NEEDS = ("proxy sessions and captures need mitmproxy >= 11.1.2, which needs Python >= 3.12 (earlier mitmproxy "
         "releases have known vulnerabilities: CVE-2025-23217, and h11 <= 0.14: CVE-2025-43859); this is "
         f"Python {sys.version_info.major}.{sys.version_info.minor}: install PIScan with Python 3.12 or newer")


def mitmproxy_version() -> tuple[int, ...] | None:
    """The installed mitmproxy's version, or ``None`` when it is not installed."""
    try:
        text = metadata.version("mitmproxy")
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def mitmproxy_available() -> bool:
    """mitmproxy >= 11.1.2 is installed."""
    version = mitmproxy_version()
    return version is not None and version >= MINIMUM


def missing_mitmproxy(exc: BaseException) -> bool:
    """The exception is the import of mitmproxy failing (it is not installed)."""
    return isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "mitmproxy"


def unavailable() -> UsageError:
    """The one-line error for a proxy or capture feature on an installation without mitmproxy."""
    return UsageError(NEEDS)
