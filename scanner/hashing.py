"""Streaming file digests for provenance (sha256, sha1, md5) without reading files whole."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1 << 20


def digest_stream(stream: BinaryIO) -> dict[str, str | int]:
    """Return size, sha256, sha1 and md5 of everything left in ``stream``."""
    sha256, sha1, md5 = hashlib.sha256(), hashlib.sha1(), hashlib.md5()  # noqa: S324 - identification, not security
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        sha256.update(chunk)
        sha1.update(chunk)
        md5.update(chunk)
    return {"size": size, "sha256": sha256.hexdigest(), "sha1": sha1.hexdigest(), "md5": md5.hexdigest()}


def digest_file(path: str | Path) -> dict[str, str | int]:
    """Return size, sha256, sha1 and md5 of a file."""
    with open(path, "rb") as stream:
        return digest_stream(stream)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()
