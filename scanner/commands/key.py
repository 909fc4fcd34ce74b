"""``piscan key init | show``: the examiner's Ed25519 signing key (see :mod:`scanner.keys`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..keys import KEY_ENV, PASSPHRASE_ENV, create_key, default_key_path, load_key

_KEY_OPTION_HELP = f"Key file (default: ${KEY_ENV}, else ~/.config/piscan/examiner-key.pem)."


@click.group("key", epilog=(
    "\b\nExamples:\n"
    "  piscan key init                 create ~/.config/piscan/examiner-key.pem\n"
    "  piscan key show                 print the fingerprint for the case record\n\n"
    "Keep the key outside every evidence folder. The fingerprint printed by `init` and `show` is\n"
    "what a case record should name: every seal and bundle signature carries it."))
def key() -> None:
    """Create and show the examiner's signing key (Ed25519) used for seals and bundles."""


@key.command("init")
@click.option("--key", "key_path", type=click.Path(path_type=Path), metavar="FILE", help=_KEY_OPTION_HELP)
@click.option("--force", is_flag=True, help="Replace an existing key (earlier seals then name a key you no longer have).")
def init_cmd(key_path: Path | None, force: bool) -> int:
    made = create_key(key_path, force=force)
    click.echo(f"piscan: wrote {made.path}", err=True)
    click.echo(f"fingerprint: {made.fingerprint}")
    click.echo(f"public key:  {made.public_b64}")
    return 0


init_cmd.help = (f"Create a new signing key (mode 0600; PKCS#8 PEM, encrypted when ${PASSPHRASE_ENV} is set). "
                 "Refuses to replace an existing key without --force.")


@key.command("show")
@click.option("--key", "key_path", type=click.Path(path_type=Path), metavar="FILE", help=_KEY_OPTION_HELP)
def show_cmd(key_path: Path | None) -> int:
    """Print the key's fingerprint and public key."""
    loaded = load_key(key_path)
    click.echo(f"key file:    {loaded.path}")
    click.echo(f"fingerprint: {loaded.fingerprint}")
    click.echo(f"public key:  {loaded.public_b64}")
    return 0


__all__ = ["key", "default_key_path"]
