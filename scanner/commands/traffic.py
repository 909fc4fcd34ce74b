"""``piscan proxy | mark | verify | device init | traffic analyze``: the traffic side of PIScan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from ..errors import ExitCode, InputError, UsageError
from ..hashing import digest_file
from ..model.records import Limitation
from ..result import write_atomic
from .paths import created_only_on_success, input_dir, input_file, output_dir, output_file, write_error

DEFAULT_SESSION = "piscan-session"


def _session_default() -> str:
    return os.environ.get("PISCAN_SESSION") or DEFAULT_SESSION


def mitmdump_path() -> Path:
    """The mitmdump installed next to this Python (same environment as PIScan)."""
    path = Path(sys.executable).parent / "mitmdump"
    if not path.is_file():
        raise UsageError(f"mitmdump not found at {path}; install mitmproxy>=11 into this Python environment")
    return path


@click.command(epilog=(
    "\b\nExample (the phone's Wi-Fi proxy set to this computer, port 8080):\n"
    "  piscan proxy --device phone-a.yaml --apk app.apk --session s17\n"
    "  piscan mark consent --session s17     second terminal, at the consent tap\n"
    "  piscan verify s17                     after Ctrl-C\n"
    "  piscan scan app.apk --session s17 -o case-17"))
@click.option("--listen-host", default="0.0.0.0", show_default=True, help="Address the proxy listens on.")
@click.option("--listen-port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Proxy port.")
@click.option("--device", "device", type=click.Path(), metavar="FILE", help="Device profile YAML (piscan device init).")
@click.option("--session", "session", default=_session_default, show_default="piscan-session or $PISCAN_SESSION",
              type=click.Path(), metavar="DIRECTORY", help="Session directory to record into.")
@click.option("--apk", type=click.Path(), metavar="FILE", help="APK under test (first-party domains from its package).")
@click.option("--body-cap", type=click.IntRange(1), default=None, help="Bytes of each body to decode (default 1 MiB).")
@click.option("--sync-interval", type=click.FloatRange(0, 60), default=None, metavar="SECONDS",
              help="Least seconds between fsyncs of the session files (default 0: after every batch of "
                   "flows). Each record is written at once either way; raise it for a slow disk.")
@click.argument("mitmdump_args", nargs=-1, type=click.UNPROCESSED)
def proxy(listen_host: str, listen_port: int, device: str | None, session: str, apk: str | None,
          body_cap: int | None, sync_interval: float | None, mitmdump_args: tuple[str, ...]) -> int:
    """Run mitmdump with the PIScan addon, recording into the --session folder.

    Every request is matched against the device profile's identifiers as it passes; the folder
    keeps the flows and hash-chained logs of observations and phase marks.

    Extra arguments after `--` go to mitmdump unchanged (e.g. `-- --set confdir=~/.mitmproxy`).
    Switch phases from a second terminal with `piscan mark consent --session SESSION`.
    """
    from ..traffic import addon as addon_module
    from ..traffic.party import apk_package
    from ..traffic.device_profile import load_profile
    from ..traffic.session import init_session

    # validate here so that a bad input is one line, not a mitmdump start-up failure
    profile = load_profile(input_file(device, "a device-profile YAML file")) if device else None
    package = apk_package(input_file(apk, "an APK file")) if apk else None
    output_dir(session, "--session")
    mitmdump_path()
    init_session(session, profile=profile, apk=apk, package=package)
    argv = [str(mitmdump_path()), "--listen-host", listen_host, "--listen-port", str(listen_port),
            "-s", str(Path(addon_module.__file__).resolve()),
            "--set", f"piscan_session={Path(session).resolve()}"]
    if device:
        argv += ["--set", f"piscan_device={Path(device).resolve()}"]
    if apk:
        argv += ["--set", f"piscan_apk={Path(apk).resolve()}"]
    if body_cap:
        argv += ["--set", f"piscan_body_cap={body_cap}"]
    if sync_interval is not None:
        argv += ["--set", f"piscan_sync_ms={round(sync_interval * 1000)}"]
    argv += list(mitmdump_args)
    click.echo(f"piscan: recording into {session}; proxy on {listen_host}:{listen_port}; Ctrl-C to stop", err=True)
    child = subprocess.Popen(argv)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            # the terminal sent Ctrl-C to mitmdump too; let it write out its queue and exit
            continue


@click.command(epilog=(
    "\b\nExamples:\n"
    "  piscan mark consent --session s17      user agreed to the privacy notice\n"
    "  piscan mark refuse --session s17       user refused it\n"
    "  piscan mark background --session s17   app sent to the background"))
@click.argument("name")
@click.option("--session", "session", default=_session_default, show_default="piscan-session or $PISCAN_SESSION",
              type=click.Path(file_okay=False), help="Session directory of the running proxy.")
def mark(name: str, session: str) -> int:
    """Switch the session's phase: consent, refuse, background, foreground or a custom NAME.

    Requests seen after the mark belong to the new phase (a session starts in before_consent).
    """
    from ..traffic.phases import append_mark

    record = append_mark(session, name)
    click.echo(f"piscan: {record['time']} phase -> {record['phase']} (mark #{record['seq']})")
    return 0


@click.command(epilog="\b\nExample:\n  piscan verify piscan-session")
@click.argument("session", type=click.Path(), metavar="SESSION")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(session: str, as_json: bool) -> int:
    """Check the hash chains and the flows file of a proxy session (exit 3 if tampered).

    A last line cut off when the proxy was killed mid-write is reported and ignored; any other
    damage (edited, inserted or removed lines) fails the check.
    """
    from ..traffic.verify import verify_session

    report = verify_session(input_dir(session, "a proxy session folder"))
    if as_json:
        click.echo(json.dumps({
            "ok": report.ok,
            "chains": [c.to_json() for c in report.chains],
            "flows": None if report.flows is None else report.flows.__dict__,
        }, indent=2))
    else:
        for chain in report.chains:
            state = "OK" if chain.ok else f"BROKEN: {chain.error}"
            torn = "; last line incomplete (killed mid-write), ignored" if chain.torn_tail else ""
            click.echo(f"{Path(chain.path).name}: {chain.records} records, chain {state}{torn}")
        if report.flows is not None:
            flows = report.flows
            state = "OK" if flows.ok else f"UNREADABLE: {flows.error}"
            torn = "; last flow incomplete (killed mid-write), ignored" if flows.torn_tail else ""
            click.echo(f"{Path(flows.path).name}: {flows.flows} flows, {state}{torn}")
    return int(ExitCode.OK) if report.ok else int(ExitCode.INPUT)


@click.group()
def device() -> None:
    """Device profiles: the test phone's identifiers to look for in traffic."""


@device.command("init", epilog="\b\nExample:\n  piscan device init phone-a.yaml")
@click.argument("path", default="device-profile.yaml", type=click.Path(), metavar="[PATH]")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def device_init(path: str, force: bool) -> int:
    """Write a commented device-profile template to PATH (default device-profile.yaml).

    An existing PATH is never overwritten silently: the command refuses (exit 2) unless --force
    is given, so a filled-in profile is not lost to a second `init`.
    """
    from ..traffic.device_profile import PROFILE_TEMPLATE

    target = output_file(path, "PATH")
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists; use --force to overwrite it")
    with created_only_on_success(target.parent):
        try:
            write_atomic(target, PROFILE_TEMPLATE)
        except OSError as exc:
            raise write_error(target, exc, "PATH") from None
    click.echo(f"piscan: wrote {target}; fill in the test phone's values")
    return 0


@click.group()
def traffic() -> None:
    """Analyse saved captures offline."""


@traffic.command("analyze", epilog=(
    "\b\nExamples:\n"
    "  piscan traffic analyze capture.har --device phone-a.yaml --apk app.apk\n"
    "  piscan traffic analyze s17/flows.mitm --marks s17/marks.jsonl -o t.json"))
@click.argument("capture", type=click.Path(), metavar="CAPTURE")
@click.option("--device", type=click.Path(), metavar="FILE", help="Device profile YAML.")
@click.option("--apk", type=click.Path(), metavar="FILE", help="APK under test (first-party domains).")
@click.option("--marks", type=click.Path(), metavar="FILE", help="A session's marks.jsonl to assign phases by time.")
@click.option("--body-cap", type=click.IntRange(1), default=None, help="Bytes of each body to decode (default 1 MiB).")
@click.option("-o", "--output", type=click.Path(), metavar="FILE", help="Write JSON here instead of stdout.")
def analyze(capture: str, device: str | None, apk: str | None, marks: str | None, body_cap: int | None,
            output: str | None) -> int:
    """Observations, frequency and limitations for a .mitm or .har CAPTURE, as JSON.

    The JSON goes to stdout unless -o is given. Without --marks every request is in phase
    `unmarked`: a capture alone cannot tell before and after consent.
    """
    from ..traffic.analyze import Analyzer
    from ..traffic.decoders import DEFAULT_BODY_CAP
    from ..traffic.offline import analyze_capture, capture_facts
    from ..traffic.party import PartyResolver, apk_package
    from ..traffic.device_profile import load_profile
    from ..traffic.store import read_chain

    if output:
        output_file(output)
    input_file(capture, "a .mitm or .har capture")
    profile = load_profile(input_file(device, "a device-profile YAML file")) if device else None
    resolver = PartyResolver(apk_package(input_file(apk, "an APK file")) if apk else None)
    mark_rows = None
    if marks:
        mark_rows, chain = read_chain(input_file(marks, "a session's marks.jsonl"))
        if not chain.ok:
            raise InputError(f"not a valid marks log: {chain.error}", marks)
    analyzer = Analyzer(profile, resolver, body_cap or DEFAULT_BODY_CAP)
    cut_off: list[Limitation] = []
    facts, limitations = capture_facts(analyze_capture(capture, analyzer, mark_rows, cut_off))
    limitations = cut_off + limitations
    digest = digest_file(capture)
    doc = {
        "capture": {"name": Path(capture).name, "size": digest["size"], "sha256": digest["sha256"]},
        "device_profile_sha256": profile.sha256 if profile else None,
        "complete": not limitations,
        "limitations": [lim.to_json() for lim in limitations],
        "traffic": facts,
    }
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if output:
        with created_only_on_success(Path(output).parent):
            try:
                write_atomic(Path(output), text)
            except OSError as exc:
                raise write_error(Path(output), exc) from None
    else:
        click.echo(text, nl=False)
    return 0
