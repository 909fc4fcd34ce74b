"""Checks on the paths a command reads and writes, made before any work starts.

Inputs that are missing, folders where a file is expected (or the reverse), or unreadable are
:class:`InputError` (exit 3). Output paths that cannot be written (an existing file where a folder
is needed, a folder where a file is needed, no write permission) are :class:`UsageError`
(exit 2). Checking first means a bad ``-o`` fails in a second, not after a long scan, and that
nothing is created for a command that cannot succeed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError, UsageError


def input_file(path: str | Path, what: str = "a file", *, allow_empty: bool = False) -> Path:
    """``path`` as a readable regular file, non-empty unless ``allow_empty``; ``InputError`` otherwise.

    ``allow_empty`` is for inputs whose parser already names an empty file precisely.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError(f"is a directory; expected {what}", path)
    if not os.access(path, os.R_OK):
        raise InputError("cannot read: permission denied", path)
    if not allow_empty and path.stat().st_size == 0:
        raise InputError(f"empty file; expected {what}", path)
    return path


def input_dir(path: str | Path, what: str) -> Path:
    """``path`` unless it is a file (``InputError``); a missing folder is left to the loader,
    which names the file it expected there (for a session: ``session.json``)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"is a file; expected {what}", path)
    return path


def _creatable(path: Path, option: str) -> None:
    """``UsageError`` unless the missing ``path`` can be created (as a file or folder)."""
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot write in {parent}: permission denied")


def output_file(path: str | Path, option: str = "-o") -> Path:
    """``path`` as a file the command may (over)write; ``UsageError`` naming it otherwise."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file name")
    if path.exists():
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path}: cannot write in {path.parent}: permission denied")
        return path
    _creatable(path, option)
    return path


def output_dir(path: str | Path, option: str = "-o") -> Path:
    """``path`` as a folder the command may create or write into; ``UsageError`` otherwise."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} {path}: is a file; give a folder (it is created if missing)")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {path}: cannot write in it: permission denied")
        return path
    _creatable(path, option)
    return path


def missing_root(path: str | Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (what a command would create)."""
    path = Path(path)
    if path.exists():
        return None
    root = path
    while not root.parent.exists():
        root = root.parent
    return root


@contextmanager
def created_only_on_success(folder: str | Path) -> Iterator[None]:
    """Remove the folders that the block created on the way to ``folder`` if the block fails.

    Wrap the work that writes into an output folder with it: a failed command then leaves no
    empty (or half-filled) output folder behind, while a folder that existed before is kept.
    """
    created = missing_root(folder)
    try:
        yield
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


def write_error(path: Path, exc: OSError, option: str = "-o") -> UsageError:
    """The one-line error for an output that failed while being written (disk full, read-only)."""
    return UsageError(f"{option} {path}: cannot write: {exc.strerror or exc}")


def pack_location(path: Path) -> Path:
    """``path`` as a rule-pack folder or a single ``.yaml`` pack; ``UsageError`` naming it otherwise."""
    if not path.exists():
        raise UsageError(f"{path}: no such folder or rule-pack file")
    if path.is_file() and path.suffix not in (".yaml", ".yml"):
        raise UsageError(f"{path}: not a rule pack; give a folder of *.yaml packs or one .yaml file")
    if path.is_dir() and not any(path.glob("*.yaml")) and not any(path.glob("*.yml")):
        raise UsageError(f"{path}: no rule packs (*.yaml) in this folder")
    return path
