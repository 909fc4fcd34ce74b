"""Find and drive headless Chromium over the DevTools protocol on a pipe (no network port).

Chromium is started with ``--remote-debugging-pipe``: it reads NUL-terminated JSON commands on
fd 3 and writes replies and events on fd 4, so nothing listens on a socket and no websocket
library is needed. One :class:`Browser` opens pages from local files; a :class:`Page` records
what the page did while loading (console errors, uncaught exceptions, every request it made) and
can print itself to PDF, take a screenshot or return its DOM.

Helpers for tests and renderers: :func:`find_chromium`, :func:`require_chromium`,
:func:`audit_page`, :func:`inspect_page`, :func:`screenshot`, :func:`dump_dom`, :func:`print_pdf`.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ..budgets import lift_memory_limit
from ..errors import PiscanError, UsageError
from ..result import write_atomic

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
)
CANDIDATES: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install the Debian package `chromium` (apt-get install chromium) or set PISCAN_CHROMIUM to its path"
DEFAULT_TIMEOUT = 60.0
VIEWPORT = (1280, 900)


def sandbox_flags() -> tuple[str, ...]:
    """Chromium's sandbox stays on: the report holds strings from the suspect's app. Chromium
    refuses to start sandboxed as root (containers, CI), so only then is it switched off."""
    return ("--no-sandbox",) if hasattr(os, "geteuid") and os.geteuid() == 0 else ()


class ChromiumError(PiscanError):
    """Chromium started but did not do what was asked (crash, timeout, protocol error)."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary: ``$PISCAN_CHROMIUM`` if set, else the first on ``PATH``."""
    override = os.environ.get("PISCAN_CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium(purpose: str = "this output") -> str:
    """:func:`find_chromium` or a ``UsageError`` whose one line names the package to install."""
    path = find_chromium()
    if path is None:
        raise UsageError(f"{purpose} needs headless Chromium, which was not found; {INSTALL_HINT}")
    return path


@dataclass
class PageLoad:
    """What a page did while it was open: console errors, exceptions and requested URLs."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def external_requests(self) -> list[str]:
        """Every requested URL other than the page itself (data: URLs included)."""
        return [u for u in self.requests if u != self.url]


class Browser:
    """A headless Chromium process driven over ``--remote-debugging-pipe``; use as a context manager."""

    def __init__(self, binary: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.binary = binary or require_chromium()
        self.timeout = timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: str | None = None
        self._stderr: Any = None
        self._to_child = self._from_child = -1

    def __enter__(self) -> Browser:
        self._profile = tempfile.mkdtemp(prefix="piscan-chromium-")
        self._stderr = tempfile.TemporaryFile()
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()

        def wire_fds() -> None:  # runs in the child: its fd 3 reads commands, fd 4 writes replies
            lift_memory_limit()  # the scan's address-space budget is not Chromium's
            a, b = os.dup(child_in), os.dup(child_out)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [self.binary, *CHROMIUM_FLAGS, *sandbox_flags(), f"--user-data-dir={self._profile}",
                "--remote-debugging-pipe", "about:blank"]
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                pass_fds=(3, 4),
                preexec_fn=wire_fds,  # noqa: PLW1509 - fd wiring must happen between fork and exec
            )
        except OSError as exc:
            self._cleanup()
            raise ChromiumError(f"cannot start Chromium: {exc}", self.binary) from None
        finally:
            os.close(child_in)
            os.close(child_out)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._write({"id": self._new_id(), "method": "Browser.close"})
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        for fd in (self._to_child, self._from_child):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_child = self._from_child = -1
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _stderr_tail(self) -> str:
        """The last line Chromium wrote to stderr (for error messages), or ``""``."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr.read()[-4096:].decode("utf-8", "replace").splitlines() if line.strip()]
        return f": {lines[-1]}" if lines else ""

    # -- protocol -------------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            try:
                written = os.write(self._to_child, data)
            except BrokenPipeError:
                if self._proc is not None:
                    try:
                        self._proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
                raise ChromiumError(f"Chromium exited unexpectedly{self._stderr_tail()}", self.binary) from None
            data = data[written:]

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChromiumError(f"no answer from Chromium within {self.timeout:.0f} s", self.binary)
            ready, _, _ = select.select([self._from_child], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise ChromiumError(f"Chromium exited unexpectedly{self._stderr_tail()}", self.binary)
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        msg_id = self._new_id()
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise ChromiumError(f"{method} failed: {reply['error'].get('message')}", self.binary)
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method: str, session: str | None = None) -> dict[str, Any]:
        """Wait for the first (kept or new) event named ``method`` on ``session``."""
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self._events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event
            message = self._read_message(deadline)
            if "method" in message:
                self._events.append(message)

    def take_events(self, session: str) -> list[dict[str, Any]]:
        """Remove and return every kept event of ``session``."""
        mine = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return mine

    # -- pages ----------------------------------------------------------------------------------
    def open(self, html_path: str | Path) -> Page:
        """Load a local HTML file in a new tab and wait for its load event."""
        url = Path(html_path).resolve().as_uri()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        width, height = VIEWPORT
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.take_events(session)
        nav = self.send("Page.navigate", {"url": url}, session=session)
        if nav.get("errorText"):
            raise ChromiumError(f"cannot open {url}: {nav['errorText']}", self.binary)
        self.wait_event("Page.loadEventFired", session)
        page = Page(self, session, PageLoad(url=url))
        page.collect()
        return page


class Page:
    """One loaded tab."""

    def __init__(self, browser: Browser, session: str, load: PageLoad) -> None:
        self.browser = browser
        self.session = session
        self.load = load

    def collect(self) -> PageLoad:
        """Fold the events seen so far into :attr:`load` (console errors and requests)."""
        for event in self.browser.take_events(self.session):
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                self.load.requests.append(str(params.get("request", {}).get("url", "")))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                self.load.console_errors.append(f"exception: {details.get('text', '')} {details.get('exception', {}).get('description', '')}".strip())
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                texts = [str(a.get("value", a.get("description", ""))) for a in params.get("args", [])]
                self.load.console_errors.append("console: " + " ".join(texts))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                self.load.console_errors.append(f"log[{entry.get('source', '')}]: {entry.get('text', '')} {entry.get('url', '')}".strip())
        return self.load

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression evaluated in the page (DevTools side, not page script)."""
        reply = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=self.session)
        return reply.get("result", {}).get("value")

    def title(self) -> str:
        """``document.title`` now."""
        return str(self.evaluate("document.title"))

    def dom(self) -> str:
        """The serialised DOM (``document.documentElement.outerHTML``)."""
        return str(self.evaluate("document.documentElement.outerHTML"))

    def screenshot_png(self, *, full_page: bool = True) -> bytes:
        """PNG of the viewport, or of the whole page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.browser.send("Page.getLayoutMetrics", session=self.session)
            size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
            params["clip"] = {"x": 0, "y": 0, "width": VIEWPORT[0], "height": max(1, int(size.get("height", VIEWPORT[1]))), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.browser.send("Page.captureScreenshot", params, session=self.session)["data"]
        return base64.b64decode(data)

    def pdf(self) -> bytes:
        """The page printed to PDF with its CSS ``@page`` size and margin boxes."""
        params = {"printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False}
        data = self.browser.send("Page.printToPDF", params, session=self.session)["data"]
        return base64.b64decode(data)


#: elements and attributes a report never contains; any of them in the DOM means markup was injected
ACTIVE_CONTENT_SELECTOR = (
    "script, img, svg, iframe, frame, object, embed, video, audio, link, base, form, meta[http-equiv=refresh], "
    "[onerror], [onload], [onclick], [onmouseover], [onfocus], a[href^='javascript'], [src], [srcdoc]"
)


@dataclass(frozen=True)
class PageAudit:
    """What a report page looks like to a reader and what it tried to do while loading."""

    title: str
    text: str
    active_elements: int
    console_errors: tuple[str, ...]
    external_requests: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """No injected active content, no console error, no request beyond the page itself."""
        return not (self.active_elements or self.console_errors or self.external_requests)


def audit_page(html_path: str | Path) -> PageAudit:
    """Open a report in headless Chromium and audit it (used by the XSS and clean-load tests)."""
    with Browser() as browser:
        page = browser.open(html_path)
        title = page.title()
        text = str(page.evaluate("document.body ? document.body.innerText : ''"))
        active = int(page.evaluate(f"document.querySelectorAll({json.dumps(ACTIVE_CONTENT_SELECTOR)}).length") or 0)
        load = page.collect()
    return PageAudit(title, text, active, tuple(load.console_errors), tuple(load.external_requests()))


def inspect_page(html_path: str | Path) -> tuple[PageLoad, str, str]:
    """Open a page and return (what it loaded/logged, its title, its DOM)."""
    with Browser() as browser:
        page = browser.open(html_path)
        title, dom = page.title(), page.dom()
        return page.collect(), title, dom


def screenshot(html_path: str | Path, png_path: str | Path, *, full_page: bool = True) -> PageLoad:
    """Write a PNG screenshot of a local HTML file; returns what the page did while loading."""
    with Browser() as browser:
        page = browser.open(html_path)
        write_atomic(Path(png_path), page.screenshot_png(full_page=full_page))
        return page.collect()


def dump_dom(html_path: str | Path) -> str:
    """The DOM of a local HTML file after it loaded."""
    with Browser() as browser:
        return browser.open(html_path).dom()


def print_pdf(html_path: str | Path, pdf_path: str | Path) -> PageLoad:
    """Print a local HTML file to PDF (A4 from its CSS); returns what the page did while loading."""
    with Browser() as browser:
        page = browser.open(html_path)
        write_atomic(Path(pdf_path), page.pdf())
        return page.collect()
