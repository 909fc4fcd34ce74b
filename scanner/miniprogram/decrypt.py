"""Decrypt PC-WeChat wxapkg packages (magic ``V1MMWX``) with a key derived from the wxid.

Scheme: key = PBKDF2-HMAC-SHA1(wxid, salt ``saltiest``, 1000 iterations, 32 bytes); the 1024
bytes after the magic are AES-256-CBC with IV ``the iv: 16 bytes`` (the first 1023 plaintext
bytes are kept); every following byte is XORed with ``ord(wxid[-2])``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import InputError, UsageError
from .wxapkg import is_wxapkg

MAGIC = b"V1MMWX"
SALT = b"saltiest"
IV = b"the iv: 16 bytes"
ITERATIONS = 1000
HEAD = 1024
WXID_RE = re.compile(r"^wx[0-9a-zA-Z]{16}$")
_WXID_IN_PATH = re.compile(r"(?<![0-9a-zA-Z])(wx[0-9a-f]{16})(?![0-9a-zA-Z])")


def is_pc_encrypted(data: bytes) -> bool:
    """True when ``data`` is a PC-WeChat encrypted package."""
    return data.startswith(MAGIC)


def wxid_from_path(path: str | Path) -> str | None:
    """The wxid named by a folder or file in ``path`` (PC caches keep packages under it), or ``None``."""
    found = None
    for part in Path(path).parts:
        match = _WXID_IN_PATH.search(part)
        if match:
            found = match.group(1)
    return found


def check_wxid(wxid: str) -> str:
    """Return ``wxid`` when it looks like one (``wx`` + 16 letters/digits); ``UsageError`` otherwise."""
    if not WXID_RE.match(wxid):
        raise UsageError(f"--wxid {wxid!r} is not a mini-program id (expected wx followed by 16 letters or digits)")
    return wxid


def decrypt_pc_wxapkg(data: bytes, wxid: str, source: str | Path | None = None) -> bytes:
    """Decrypt a ``V1MMWX`` package; ``InputError`` when it is truncated or the wxid is wrong."""
    if not is_pc_encrypted(data):
        raise InputError("not a PC-encrypted wxapkg (no V1MMWX magic)", source)
    body = data[len(MAGIC) :]
    if len(body) < HEAD:
        raise InputError(f"truncated encrypted wxapkg: {len(body)} bytes after the magic, need at least {HEAD}", source)
    key = hashlib.pbkdf2_hmac("sha1", wxid.encode("utf-8"), SALT, ITERATIONS, 32)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).decryptor()
    head = decryptor.update(body[:HEAD]) + decryptor.finalize()
    xor_key = ord(wxid[-2]) if len(wxid) >= 2 else 0x66
    table = bytes(b ^ xor_key for b in range(256))
    plain = head[: HEAD - 1] + body[HEAD:].translate(table)
    if not is_wxapkg(plain):
        raise InputError(f"decrypting with wxid {wxid} did not give a wxapkg: wrong --wxid?", source)
    return plain
