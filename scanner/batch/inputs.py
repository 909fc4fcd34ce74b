"""What a batch scans: input paths expanded into jobs, each identified by its content's sha256.

Inputs are files (APK, split bundles, ``.wxapkg``), folders (searched recursively; a folder
holding ``app.json`` is one mini-program input and is not searched further), list files
(``@apps.txt``: one path per line, ``#`` comments) and a CSV manifest (``--manifest apps.csv``
with columns ``path`` and optional ``category``, ``policy``) giving per-app options.
Links are not followed and special files are never opened.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, UsageError

APP_SUFFIXES = (".apk", ".apks", ".xapk", ".aab", ".wxapkg")
MAX_INPUTS = 1_000_000
MAX_FOLDER_FILES = 20_000  #: files hashed for one mini-program folder
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Job:
    """One app to scan: where it is, what it is, and its per-app options."""

    path: Path
    kind: str  #: ``file`` or ``miniprogram_dir``
    sha256: str
    size: int
    category: str | None = None
    policy: str | None = None

    def to_json(self) -> dict[str, object]:
        """Plain dict (the Dask path ships jobs as this)."""
        return {"path": str(self.path), "kind": self.kind, "sha256": self.sha256, "size": self.size,
                "category": self.category, "policy": self.policy}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Job:
        """Inverse of :meth:`to_json`."""
        return cls(Path(str(data["path"])), str(data["kind"]), str(data["sha256"]), int(str(data["size"])),
                   data.get("category") and str(data["category"]) or None, data.get("policy") and str(data["policy"]) or None)


def _file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def folder_sha256(folder: Path) -> tuple[str, int]:
    """sha256 over a folder's regular files (relative path, NUL, content hash, newline; sorted)."""
    digest = hashlib.sha256()
    total = 0
    count = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not (Path(root) / d).is_symlink())
        for name in sorted(files):
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            count += 1
            if count > MAX_FOLDER_FILES:
                raise InputError(f"more than {MAX_FOLDER_FILES} files in one mini-program folder", folder)
            file_digest, size = _file_sha256(path)
            total += size
            digest.update(path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape") + b"\0"
                          + file_digest.encode() + b"\n")
    return digest.hexdigest(), total


def _is_app_file(path: Path) -> bool:
    return path.suffix.lower() in APP_SUFFIXES


def _walk(folder: Path) -> Iterator[tuple[Path, str]]:
    if (folder / "app.json").is_file():
        yield folder, "miniprogram_dir"
        return
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _walk(entry)
        elif entry.is_file() and _is_app_file(entry):
            yield entry, "file"


def _list_file(path: Path) -> list[Path]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the list file: {exc}", path) from None
    base = path.parent
    out = []
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#"):
            candidate = Path(text)
            out.append(candidate if candidate.is_absolute() else base / candidate)
    return out


def read_manifest(path: Path) -> list[tuple[Path, str | None, str | None]]:
    """Rows of a CSV manifest: (path, category, policy); paths relative to the manifest's folder."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or "path" not in reader.fieldnames:
                raise InputError("a batch manifest is CSV with a header naming at least the column path "
                                 "(optional: category, policy)", path)
            rows = []
            for number, row in enumerate(reader, start=2):
                raw = (row.get("path") or "").strip()
                if not raw:
                    raise InputError("empty path", path, lineno=number)
                candidate = Path(raw)
                rows.append((candidate if candidate.is_absolute() else path.parent / candidate,
                              (row.get("category") or "").strip() or None, (row.get("policy") or "").strip() or None))
            return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read the manifest: {exc}", path) from None


def expand_inputs(arguments: Iterable[str], *, manifest: Path | None = None, category: str | None = None) -> list[Job]:
    """Every job of a batch, de-duplicated by content (the first occurrence's options win)."""
    wanted: list[tuple[Path, str | None, str | None]] = []
    for argument in arguments:
        if argument.startswith("@"):
            wanted += [(p, category, None) for p in _list_file(Path(argument[1:]))]
        else:
            wanted.append((Path(argument), category, None))
    if manifest is not None:
        wanted += [(p, c or category, pol) for p, c, pol in read_manifest(manifest)]
    if not wanted:
        raise UsageError("give at least one input: files, folders, @list.txt or --manifest apps.csv")
    jobs: list[Job] = []
    seen: set[str] = set()
    for path, job_category, policy in wanted:
        if path.is_symlink() and not path.exists():
            raise InputError("a broken link", path)
        if not path.exists():
            raise InputError("no such file or directory", path)
        found = list(_walk(path)) if path.is_dir() else [(path, "file")]
        if path.is_file() is False and not path.is_dir():
            raise InputError("not a regular file (a FIFO, device or socket)", path)
        for item, kind in found:
            digest, size = folder_sha256(item) if kind == "miniprogram_dir" else _file_sha256(item)
            if digest in seen:
                continue
            seen.add(digest)
            jobs.append(Job(item, kind, digest, size, job_category, policy))
            if len(jobs) > MAX_INPUTS:
                raise UsageError(f"more than {MAX_INPUTS} inputs in one batch; split it")
    return jobs
