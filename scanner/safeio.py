"""Reading files a suspect controls: regular files only, never more than a budget.

:func:`read_regular` is how PIScan reads an input file or a file inside an input folder. A FIFO,
a device (``/dev/zero`` named ``pages/a.js``) or a socket is refused without blocking (the file is
opened non-blocking and checked with ``fstat`` before a byte is read); a file larger than the
budget is refused before it is read. :func:`display` makes a name from an input safe to print.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from .budgets import size_text
from .errors import InputError


class NotRegularFile(InputError):
    """A FIFO, device, socket or directory where a file was expected."""


class OverBudget(InputError):
    """A file or entry larger than its budget."""


def file_kind(mode: int) -> str:
    """``FIFO``, ``character device``, ... for a stat mode that is not a regular file."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: str | Path, max_bytes: int, *, shown: str | Path | None = None,
                 follow_symlinks: bool = True) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    A symbolic link is followed (the user named it) unless ``follow_symlinks`` is false (files
    inside an input folder). Raises :class:`NotRegularFile` (FIFO, device, socket, directory:
    checked on the open file, without blocking), :class:`OverBudget` (larger than ``max_bytes``, before reading, and again
    while reading in case the file grows) or :class:`InputError` (missing, unreadable).
    """
    label = shown if shown is not None else path
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError("no such file", label) from None
    except OSError as exc:
        if Path(path).is_symlink():
            raise NotRegularFile("is a symbolic link; not followed", label) from None
        raise InputError(f"cannot read: {exc.strerror}", label) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(f"is {file_kind(info.st_mode)}, not a regular file; not read", label)
        if info.st_size > max_bytes:
            raise OverBudget(f"is {size_text(info.st_size)}, over the budget of {size_text(max_bytes)}; not read", label)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise OverBudget(f"grew past the budget of {size_text(max_bytes)} while being read; not read", label)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", label) from None
    finally:
        os.close(fd)


_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def display(name: str, limit: int = 300) -> str:
    """A name from an input made safe for one terminal line or a report cell.

    Control characters (newline, ESC, ...), bidirectional overrides (U+202E and friends) and other
    invisible format characters are shown as ``\\n``, ``\\x1b`` or ``<U+202E>``, so that a name can
    neither split a one-line message nor display reversed; very long names are shortened.
    """
    out: list[str] = []
    for char in name:
        code = ord(char)
        if char in _BIDI or (unicodedata.category(char) in ("Cf", "Zl", "Zp") and char not in "\u200d"):
            out.append(f"<U+{code:04X}>")
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}"))
        elif 0xD800 <= code < 0xE000:  # a lone surrogate (surrogateescape of a non-UTF-8 file name)
            out.append(f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 else f"<U+{code:04X}>")
        else:
            out.append(char)
    text = "".join(out)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_INVISIBLE = {code: f"<U+{code:04X}>" for code in map(ord, _BIDI)}
_INVISIBLE.update({code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if chr(code) not in "\n\t"})
_INVISIBLE.update({0x2028: "<U+2028>", 0x2029: "<U+2029>"})


def visible(text: str) -> str:
    """``text`` with bidirectional overrides and control characters (but newline and tab) shown
    as ``<U+202E>`` / ``\\x1b``: for report cells, where line breaks may stay but nothing may
    reorder or hide what is displayed."""
    return text.translate(_INVISIBLE)
