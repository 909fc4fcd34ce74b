"""The examiner key: creation, loading, signatures and signed envelopes, and ``piscan key``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.errors import InputError, UsageError
from scanner.keys import (
    canonical_json,
    check_envelope,
    create_key,
    default_key_path,
    fingerprint_of,
    load_key,
    verify_signature,
)


def test_create_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "k" / "examiner-key.pem"
    made = create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_key(path)
    assert loaded.fingerprint == made.fingerprint
    assert loaded.fingerprint == fingerprint_of(loaded.public_raw)
    assert loaded.fingerprint.startswith("ed25519:") and len(loaded.fingerprint) == len("ed25519:") + 64
    signature = loaded.sign(b"seal")
    assert verify_signature(made.public_b64, b"seal", signature)
    assert not verify_signature(made.public_b64, b"seal!", signature)


def test_existing_key_is_not_replaced_without_force(tmp_path: Path) -> None:
    path = tmp_path / "examiner-key.pem"
    first = create_key(path)
    with pytest.raises(UsageError, match="a key already exists"):
        create_key(path)
    second = create_key(path, force=True)
    assert second.fingerprint != first.fingerprint


def test_encrypted_key_needs_its_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "examiner-key.pem"
    monkeypatch.setenv("PISCAN_KEY_PASSPHRASE", "correct horse")
    made = create_key(path)
    assert b"ENCRYPTED" in path.read_bytes()
    assert load_key(path).fingerprint == made.fingerprint
    monkeypatch.setenv("PISCAN_KEY_PASSPHRASE", "wrong")
    with pytest.raises(InputError, match="wrong passphrase"):
        load_key(path)
    monkeypatch.delenv("PISCAN_KEY_PASSPHRASE")
    with pytest.raises(InputError, match="encrypted"):
        load_key(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no examiner key here"), (b"not a key", "not a PEM private key")],
)
def test_unusable_key_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "examiner-key.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_key(path)


def test_rsa_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = tmp_path / "rsa.pem"
    path.write_bytes(pem)
    with pytest.raises(InputError, match="not an Ed25519 key"):
        load_key(path)


def test_default_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PISCAN_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert default_key_path() == tmp_path / "cfg" / "piscan" / "examiner-key.pem"
    monkeypatch.setenv("PISCAN_KEY", str(tmp_path / "mine.pem"))
    assert default_key_path() == tmp_path / "mine.pem"


def test_envelope_detects_every_kind_of_change(tmp_path: Path) -> None:
    key = create_key(tmp_path / "a.pem")
    other = create_key(tmp_path / "b.pem")
    env = key.envelope({"head": "ab" * 32, "records": 3, "zh": "封存"})
    assert check_envelope(env) is None
    assert check_envelope(env, expected_fingerprint=key.fingerprint) is None
    edited = {**env, "payload": {**env["payload"], "records": 4}}
    assert "does not verify" in (check_envelope(edited) or "")
    resigned = other.envelope(edited["payload"])
    assert check_envelope(resigned) is None  # valid, but by someone else's key ...
    assert "not by the expected key" in (check_envelope(resigned, expected_fingerprint=key.fingerprint) or "")
    swapped = {**env, "public_key": other.public_b64}
    assert "fingerprint does not belong" in (check_envelope(swapped) or "")
    assert "not a signed envelope" in (check_envelope({"payload": {}}) or "")


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"b": 1, "a": "封"}) == canonical_json({"a": "封", "b": 1}) == '{"a":"封","b":1}'.encode()


def test_key_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "examiner-key.pem"
    assert main(["key", "init", "--key", str(path)]) == 0
    out = capsys.readouterr().out
    fingerprint = load_key(path).fingerprint
    assert f"fingerprint: {fingerprint}" in out
    assert main(["key", "init", "--key", str(path)]) == 2
    assert "a key already exists" in capsys.readouterr().err
    assert main(["key", "show", "--key", str(path)]) == 0
    assert fingerprint in capsys.readouterr().out
    assert main(["key", "show", "--key", str(tmp_path / "none.pem")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "piscan key init" in err
