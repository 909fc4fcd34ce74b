"""A one-way pipe from the proxy's event loop to the analysis process that never blocks the loop.

``multiprocessing.Queue`` hands every item to a feeder thread, which then competes with the event
loop for the GIL. Here the event loop pickles a batch and writes it to a non-blocking pipe
itself; what the pipe cannot take yet waits in a buffer that the loop drains when the pipe is
writable again. Each message is an 8-byte big-endian length and a pickle.

Closing the sending end (or the proxy process dying) gives the receiver end-of-file after the
last complete message, so the analysis process always knows when everything has arrived. If the
receiver dies, sends fail with :class:`ChannelClosed` instead of piling up.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pickle
import selectors
import struct
from typing import Any

_HEADER = struct.Struct("!Q")
_READ_SIZE = 1 << 20
_PIPE_SIZE = 1 << 20


class ChannelClosed(Exception):
    """The receiving process has gone: nothing more can be sent."""


class Sender:
    """The proxy's end: :meth:`send` returns at once; :meth:`close` delivers everything first."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        try:  # fewer, larger writes; Linux only, and capped by fs.pipe-max-size
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        except (AttributeError, OSError):
            pass
        self.fd = fd
        self._pending = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None  # set while a writer callback is registered

    @property
    def backlog(self) -> int:
        """Bytes sent but not yet taken by the pipe."""
        return len(self._pending)

    def send(self, item: Any) -> None:
        """Queue one message; raises :class:`ChannelClosed` if the receiver is gone."""
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending += _HEADER.pack(len(data))
        self._pending += data
        if self._loop is None:
            self._write_some()
            if self._pending:
                self._wait_until_writable()

    def _write_some(self) -> None:
        try:
            written = os.write(self.fd, self._pending)
        except BlockingIOError:
            return
        except (BrokenPipeError, OSError) as exc:
            self._pending.clear()
            raise ChannelClosed(str(exc)) from None
        del self._pending[:written]

    def _wait_until_writable(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a test context, or shutdown): deliver now
            self._drain_blocking()
            return
        loop.add_writer(self.fd, self._on_writable)
        self._loop = loop

    def _on_writable(self) -> None:
        try:
            self._write_some()
        except ChannelClosed:
            pass  # the next send() reports it
        if not self._pending and self._loop is not None:
            self._loop.remove_writer(self.fd)
            self._loop = None

    def _drain_blocking(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.fd, selectors.EVENT_WRITE)
            while self._pending:
                selector.select()
                self._write_some()

    def close(self) -> None:
        """Deliver everything still buffered (blocking), then close: the receiver sees end-of-file."""
        if self._loop is not None:
            self._loop.remove_writer(self.fd)
            self._loop = None
        try:
            self._drain_blocking()
        except ChannelClosed:
            pass
        finally:
            os.close(self.fd)


class Receiver:
    """The analysis process's end of the pipe."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        self._selector = selectors.DefaultSelector()  # epoll: no limit on the descriptor's number
        self._selector.register(fd, selectors.EVENT_READ)

    def messages(self, timeout: float | None = None) -> list[Any]:
        """The messages complete after one read, waiting at most ``timeout`` seconds (``None``:
        as long as it takes); ``[]`` on timeout. Raises :class:`EOFError` once the sender has
        closed the pipe or died; a torn last message (the sender was killed mid-write) is dropped."""
        if timeout is not None and not self._selector.select(timeout):
            return []
        chunk = os.read(self.fd, _READ_SIZE)
        if not chunk:
            raise EOFError
        self._buffer += chunk
        out = []
        start = 0
        while len(self._buffer) - start >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer, start)
            end = start + _HEADER.size + size
            if end > len(self._buffer):
                break
            with memoryview(self._buffer) as view:
                out.append(pickle.loads(view[start + _HEADER.size:end]))
            start = end
        del self._buffer[:start]
        return out
