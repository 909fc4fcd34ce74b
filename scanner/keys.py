"""The examiner's signing key (Ed25519) and signed JSON envelopes.

One key serves every seal PIScan writes: proxy-session checkpoints, case-bundle manifests and
report signatures. It lives outside any evidence folder (by default in the user's configuration
folder), is created once with ``piscan key init``, and is identified everywhere by its
fingerprint, ``ed25519:`` + the sha256 of the raw 32-byte public key.

A signed envelope is a JSON object ``{"payload": {...}, "public_key": b64, "fingerprint",
"signature": b64}``; the signature covers :func:`canonical_json` of the payload, so whoever holds
the envelope can check it without PIScan: the bytes signed are plain sorted-key JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import InputError, UsageError

KEY_ENV = "PISCAN_KEY"
PASSPHRASE_ENV = "PISCAN_KEY_PASSPHRASE"
KEY_FILE_NAME = "examiner-key.pem"
FINGERPRINT_PREFIX = "ed25519:"


def default_key_path() -> Path:
    """``$PISCAN_KEY``, else ``$XDG_CONFIG_HOME/piscan/examiner-key.pem`` (``~/.config`` by default)."""
    explicit = os.environ.get(KEY_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "piscan" / KEY_FILE_NAME


def fingerprint_of(public_raw: bytes) -> str:
    """``ed25519:<sha256 hex of the raw public key>``."""
    return FINGERPRINT_PREFIX + hashlib.sha256(public_raw).hexdigest()


def canonical_json(payload: Any) -> bytes:
    """The bytes a signature covers: UTF-8 JSON with sorted keys and no insignificant space."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class ExaminerKey:
    """A loaded private key and where it came from."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def public_raw(self) -> bytes:
        """The raw 32-byte public key."""
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_b64(self) -> str:
        """The public key, base64."""
        return base64.b64encode(self.public_raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """``ed25519:<sha256 hex>`` of the public key."""
        return fingerprint_of(self.public_raw)

    def sign(self, data: bytes) -> str:
        """Base64 Ed25519 signature over ``data``."""
        return base64.b64encode(self.private.sign(data)).decode("ascii")

    def envelope(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A signed envelope over ``payload`` (see the module docstring)."""
        return {"payload": payload, "public_key": self.public_b64, "fingerprint": self.fingerprint,
                "signature": self.sign(canonical_json(payload))}


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def create_key(path: str | Path | None = None, *, force: bool = False) -> ExaminerKey:
    """Create a new key file (mode 0600, PKCS#8 PEM, encrypted when ``$PISCAN_KEY_PASSPHRASE`` is set).

    Refuses (:class:`UsageError`) to replace an existing key unless ``force``: a replaced key can
    no longer be shown to have made the seals of earlier cases.
    """
    target = Path(path) if path is not None else default_key_path()
    if target.exists() and not force:
        raise UsageError(f"{target}: a key already exists; keep it (its fingerprint is in earlier case records) "
                         "or give --force to replace it")
    if target.exists() and target.is_dir():
        raise UsageError(f"{target}: is a folder; give a file name for the key")
    private = Ed25519PrivateKey.generate()
    secret = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(f".{target.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExaminerKey(private, target)


def load_key(path: str | Path | None = None) -> ExaminerKey:
    """Load the examiner key; :class:`InputError` naming the file and what to do when it cannot be used."""
    target = Path(path) if path is not None else default_key_path()
    try:
        pem = target.read_bytes()
    except FileNotFoundError:
        raise InputError("no examiner key here; create one with `piscan key init` "
                         f"(or point ${KEY_ENV} at yours)", target) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a key file", target) from None
    except OSError as exc:
        raise InputError(f"cannot read the key: {exc.strerror or exc}", target) from None
    try:
        private = serialization.load_pem_private_key(pem, password=_passphrase())
    except TypeError:
        raise InputError(f"the key is encrypted; set ${PASSPHRASE_ENV}", target) from None
    except ValueError:
        raise InputError("not a PEM private key (or a wrong passphrase)", target) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise InputError("not an Ed25519 key; create one with `piscan key init`", target)
    return ExaminerKey(private, target)


def public_key(public_b64: str) -> Ed25519PublicKey:
    """An Ed25519 public key from base64; ``ValueError`` when it is not one."""
    raw = base64.b64decode(public_b64, validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public_b64: str, data: bytes, signature_b64: str) -> bool:
    """Whether ``signature_b64`` is a valid signature of ``data`` by ``public_b64`` (never raises)."""
    try:
        key = public_key(public_b64)
        key.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def check_envelope(envelope: Any, *, expected_fingerprint: str | None = None) -> str | None:
    """``None`` when ``envelope`` is a well-formed envelope whose signature verifies, else why not.

    With ``expected_fingerprint`` the signer must be that key (a valid signature by another key is
    not accepted: anyone can sign with a key of their own).
    """
    if not isinstance(envelope, dict) or not {"payload", "public_key", "fingerprint", "signature"} <= set(envelope):
        return "not a signed envelope (payload, public_key, fingerprint, signature)"
    public_b64, signature = envelope["public_key"], envelope["signature"]
    if not isinstance(public_b64, str) or not isinstance(signature, str):
        return "public_key and signature must be base64 text"
    try:
        raw = base64.b64decode(public_b64, validate=True)
    except ValueError:
        return "public_key is not base64"
    if fingerprint_of(raw) != envelope["fingerprint"]:
        return "fingerprint does not belong to public_key"
    if expected_fingerprint is not None and envelope["fingerprint"] != expected_fingerprint:
        return f"signed by {envelope['fingerprint']}, not by the expected key {expected_fingerprint}"
    if not verify_signature(public_b64, canonical_json(envelope["payload"]), signature):
        return "signature does not verify (the payload was changed after signing, or it was signed by another key)"
    return None
