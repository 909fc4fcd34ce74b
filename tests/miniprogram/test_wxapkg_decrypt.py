"""PC-WeChat (V1MMWX) decryption (scanner/miniprogram/decrypt.py)."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from scanner.errors import InputError, UsageError
from scanner.miniprogram.decrypt import check_wxid, decrypt_pc_wxapkg, is_pc_encrypted, wxid_from_path

WXID = "wx6e24c691f9a50e44"


def encrypt_pc_wxapkg(plain: bytes, wxid: str) -> bytes:
    """The inverse of the PC-WeChat scheme, written independently for the round-trip test."""
    key = hashlib.pbkdf2_hmac("sha1", wxid.encode(), b"saltiest", 1000, 32)
    head = plain[:1023] + b"\x01"  # one byte of PKCS#7 padding completes the 1024-byte block run
    encryptor = Cipher(algorithms.AES(key), modes.CBC(b"the iv: 16 bytes")).encryptor()
    tail = bytes(b ^ ord(wxid[-2]) for b in plain[1023:])
    return b"V1MMWX" + encryptor.update(head) + encryptor.finalize() + tail


def _plain_package(size: int) -> bytes:
    body = bytes(range(256)) * (size // 256 + 1)
    name = b"/app-service.js"
    index = struct.pack(">I", 1) + struct.pack(">I", len(name)) + name
    offset = 14 + len(index) + 8
    index += struct.pack(">II", offset, size)
    return struct.pack(">BIIIB", 0xBE, 0, len(index), size, 0xED) + index + body[:size]


def test_corpus_package_decrypts_byte_for_byte(corpus: Path) -> None:
    encrypted = (corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg").read_bytes()
    expected = (corpus / "wxapkg" / "partyhistory-v18-__APP__.dec.wxapkg").read_bytes()
    assert is_pc_encrypted(encrypted)
    plain = decrypt_pc_wxapkg(encrypted, WXID)
    assert plain == expected
    assert hashlib.sha256(plain).hexdigest() == "21b32f340b953a2df0b57e4cc180b8d4c87d950e2ea16ecac1297dfd99fd2193"


def test_round_trip_without_corpus() -> None:
    plain = _plain_package(5000)
    assert decrypt_pc_wxapkg(encrypt_pc_wxapkg(plain, "wx0123456789abcdef"), "wx0123456789abcdef") == plain


def test_wrong_wxid_is_reported(corpus: Path) -> None:
    encrypted = (corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg").read_bytes()
    with pytest.raises(InputError, match=r"decrypting with wxid wx0000000000000000 did not give a wxapkg: wrong --wxid\?"):
        decrypt_pc_wxapkg(encrypted, "wx0000000000000000", "p.wxapkg")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"V1MMWX" + b"\x00" * 100, r"truncated encrypted wxapkg: 100 bytes after the magic, need at least 1024"),
        (b"\xbe" + b"\x00" * 2000, r"not a PC-encrypted wxapkg \(no V1MMWX magic\)"),
    ],
)
def test_decrypt_rejects_bad_input(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        decrypt_pc_wxapkg(data, WXID, "p.wxapkg")


@pytest.mark.parametrize(
    ("path", "wxid"),
    [
        ("/home/u/WeChat Files/Applet/wx6e24c691f9a50e44/18/__APP__.wxapkg", "wx6e24c691f9a50e44"),
        ("C:/Users/u/Applet/wx6e24c691f9a50e44/__APP__.wxapkg", "wx6e24c691f9a50e44"),
        ("/tmp/wx6e24c691f9a50e44.wxapkg", "wx6e24c691f9a50e44"),
        ("/tmp/__APP__.wxapkg", None),
        ("/tmp/wx6e24c691f9a50e44ff/__APP__.wxapkg", None),
    ],
)
def test_wxid_from_path(path: str, wxid: str | None) -> None:
    assert wxid_from_path(path) == wxid


@pytest.mark.parametrize("bad", ["", "wx123", "6e24c691f9a50e44wx", "wx6e24c691f9a50e4!"])
def test_check_wxid_refuses_non_ids(bad: str) -> None:
    with pytest.raises(UsageError, match=r"is not a mini-program id"):
        check_wxid(bad)
    assert check_wxid(WXID) == WXID
