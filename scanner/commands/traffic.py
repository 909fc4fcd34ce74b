"""``piscan proxy | mark | device init | traffic analyze``: the traffic side of PIScan (`piscan verify` is in :mod:`scanner.commands.case`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click

from ..errors import InputError, UsageError
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


_KEY_HELP = "Examiner key that signs the seals (default: $PISCAN_KEY, else ~/.config/piscan/examiner-key.pem)."


@click.command(epilog=(
    "\b\nExample (the phone's Wi-Fi proxy set to this computer, port 8080):\n"
    "  piscan key init                       once: the key that signs the seals\n"
    "  piscan proxy --device phone-a.yaml --apk app.apk --session s17\n"
    "  piscan mark consent --session s17     second terminal, at the consent tap\n"
    "  piscan verify s17                     after Ctrl-C\n"
    "  piscan scan app.apk --session s17 -o case-17"))
@click.option("--listen-host", default="0.0.0.0", show_default=True, help="Address the proxy listens on.")
@click.option("--listen-port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Proxy port.")
@click.option("--device", "device", type=click.Path(), metavar="FILE", help="Device profile YAML (piscan device init).")
@click.option("--session", "session", default=_session_default, show_default="piscan-session or $PISCAN_SESSION",
              type=click.Path(), metavar="DIRECTORY", help="Session directory to record into.")
@click.option("--apk", type=click.Path(), metavar="FILE",
              help="APK under test: its package and sha256 are recorded, so `piscan scan --session` joins the "
                   "session to this app only.")
@click.option("--package", "package_name", metavar="NAME",
              help="Package name (or mini-program AppID) of the app under test, when the APK is not at hand.")
@click.option("--app-only", is_flag=True,
              help="State that this capture carries only the app's traffic (Android per-app VPN, mitmproxy's "
                   "WireGuard mode with an app filter); recorded, and every request then counts as the app's.")
@click.option("--body-cap", type=click.IntRange(1), default=None, help="Bytes of each body to decode (default 1 MiB).")
@click.option("--analysis-workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Processes that analyse the captured flows, at idle priority (default: one per CPU beside the "
                   "proxy's, at most 4).")
@click.option("--key", "key_path", type=click.Path(), metavar="FILE", help=_KEY_HELP)
@click.option("--seal-interval", type=click.FloatRange(0.1, 1.0), default=None, metavar="SECONDS",
              help="Seconds between seals (fsync of every session file and a signed checkpoint) while traffic "
                   "flows; 0.1-1, default 0.5.")
@click.option("--resume", is_flag=True, help="Continue a session that already holds a recording (writes a restart record).")
@click.option("--reason", metavar="TEXT", help="With --resume: why the recording is resumed (kept in the restart record).")
@click.argument("mitmdump_args", nargs=-1, type=click.UNPROCESSED)
def proxy(listen_host: str, listen_port: int, device: str | None, session: str, apk: str | None,
          package_name: str | None, app_only: bool, body_cap: int | None, analysis_workers: int | None, key_path: str | None,
          seal_interval: float | None, resume: bool, reason: str | None, mitmdump_args: tuple[str, ...]) -> int:
    """Run mitmdump with the PIScan addon, recording into the --session folder.

    Every flow is written to the folder before the phone gets its response; an analysis process
    matches it against the device profile's identifiers, and a sealer signs checkpoints with the
    examiner key (`piscan key init`) at least once a second. The folder is locked while the proxy
    records; an existing recording is continued only with --resume.

    Ctrl-C (or SIGTERM, SIGHUP) stops it: the analysis backlog drains with progress (Ctrl-C again
    leaves it for `piscan traffic resume`), then the final seal's key fingerprint and head hash
    are printed for the case record. Extra arguments after `--` go to mitmdump unchanged.
    """
    import signal

    from ..keys import load_key
    from ..traffic import addon as addon_module
    from ..traffic import lock
    from ..traffic.device_profile import load_profile
    from ..traffic.helpers import set_parent_death_signal
    from ..apk.archive import apk_package
    from ..traffic.session import has_recording, init_session

    # validate here so that a bad input is one line, not a mitmdump start-up failure
    profile = load_profile(input_file(device, "a device-profile YAML file")) if device else None
    package = apk_package(input_file(apk, "an APK file")) if apk else None
    if package_name and package and package_name != package:
        raise UsageError(f"--package {package_name} does not match the APK's package {package}")
    package = package or package_name
    if app_only and not package:
        raise UsageError("--app-only needs the app: give --apk or --package")
    output_dir(session, "--session")
    mitmdump = mitmdump_path()
    key = load_key(key_path)
    if reason and not resume:
        raise UsageError("--reason goes with --resume")
    recorded = has_recording(session)
    if recorded and not resume:
        raise UsageError(f"{session}: already holds a recording; continue it with --resume [--reason TEXT] "
                         "(a restart record is written), or record into a new folder")
    if resume and not recorded:
        raise UsageError(f"--resume: {session} holds no recording yet; start without --resume")
    held = lock.acquire(session)
    try:
        init_session(session, profile=profile, apk=apk, package=package,
                     capture_scope="app" if app_only else "device")
    except BaseException:
        held.release()
        raise
    parent_read, parent_write = os.pipe()
    argv = [str(mitmdump), "--listen-host", listen_host, "--listen-port", str(listen_port),
            "-s", str(Path(addon_module.__file__).resolve()),
            "--set", f"piscan_session={Path(session).resolve()}", "--set", f"piscan_key={key.path.resolve()}",
            "--set", f"piscan_lock_fd={held.fd}", "--set", f"piscan_parent_fd={parent_read}"]
    if device:
        argv += ["--set", f"piscan_device={Path(device).resolve()}"]
    if apk:
        argv += ["--set", f"piscan_apk={Path(apk).resolve()}"]
    if package:
        argv += ["--set", f"piscan_package={package}"]
    if app_only:
        argv += ["--set", "piscan_app_only=true"]
    if body_cap:
        argv += ["--set", f"piscan_body_cap={body_cap}"]
    if analysis_workers:
        argv += ["--set", f"piscan_analysis_workers={analysis_workers}"]
    if seal_interval is not None:
        argv += ["--set", f"piscan_seal_ms={round(seal_interval * 1000)}"]
    if resume:
        argv += ["--set", "piscan_resume=true", "--set", f"piscan_resume_reason={reason or ''}"]
    argv += list(mitmdump_args)
    click.echo(f"piscan: recording into {session} (seal key {key.fingerprint}); proxy on {listen_host}:{listen_port}; "
               "Ctrl-C to stop", err=True)
    # its own session: a Ctrl-C in this terminal reaches mitmdump once, through us; if we die,
    # the kernel (Linux) and the closed pipe tell it to stop
    child = subprocess.Popen(argv, pass_fds=(held.fd, parent_read), start_new_session=True,
                             preexec_fn=lambda: set_parent_death_signal(signal.SIGTERM))  # noqa: PLW1509 - single-threaded here
    os.close(parent_read)
    held.release()  # mitmdump and its helpers hold the lock from here on

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - the handler above replaces it
                continue
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(parent_write)
    return code


@click.command(epilog=(
    "\b\nExamples:\n"
    "  piscan mark consent --session s17        user agreed to the privacy notice\n"
    "  piscan mark refuse --session s17         user refused it\n"
    "  piscan mark background --session s17     app sent to the background\n"
    "  piscan mark --custom login_page --session s17"))
@click.argument("name")
@click.option("--custom", is_flag=True, help="NAME is a custom phase (lower-case letters, digits, '_', '.', '-').")
@click.option("--session", "session", default=_session_default, show_default="piscan-session or $PISCAN_SESSION",
              type=click.Path(file_okay=False), help="Session directory of the running proxy.")
def mark(name: str, custom: bool, session: str) -> int:
    """Switch the session's phase: consent, refuse, background or foreground (or --custom NAME).

    A request belongs to the phase in force when it started (its first byte reached the proxy),
    so a request under way at the mark keeps the earlier phase. A session starts in
    before_consent. Any other name is refused with a suggestion, so a typo never becomes a phase.
    """
    from ..traffic.phases import append_mark

    record = append_mark(session, name, custom=custom)
    click.echo(f"piscan: {record['time']} phase -> {record['phase']} (mark #{record['seq']})")
    return 0


def expected_fingerprint(fingerprint: str | None, key_path: str | None) -> str | None:
    """The key a session's seals must be made by: --fingerprint, $PISCAN_KEY_FINGERPRINT, or the
    fingerprint of the examiner key file (--key, $PISCAN_KEY or the default), if there is one."""
    from ..keys import default_key_path, load_key

    chosen = fingerprint or os.environ.get("PISCAN_KEY_FINGERPRINT")
    if chosen:
        if not chosen.startswith("ed25519:") or len(chosen) != len("ed25519:") + 64:
            raise UsageError(f"--fingerprint: expected ed25519: and 64 hex digits, got {chosen!r}")
        return chosen
    path = Path(key_path) if key_path else default_key_path()
    if key_path or path.exists():
        return load_key(path).fingerprint
    return None


def verify_lines(report: object) -> list[str]:
    """The human-readable verify report."""
    from ..traffic.verify import SessionVerification

    assert isinstance(report, SessionVerification)
    out = []
    if report.last_seal:
        last = report.last_seal
        out.append(f"seals: {report.seals} by {report.fingerprint}; last #{last['seq']} ({last['kind']}) at {last['time']}")
        out.append(f"head: sha256 {last['head']}")
    for state in report.files:
        noun = "flows" if state.file.endswith(".mitm") else "lines"
        tail = "" if state.records == state.sealed_records else f" (sealed: {state.sealed_records})"
        out.append(f"{state.file}: {state.records} {noun}, {state.bytes} bytes{tail}")
    out.append(f"analysis: {report.observations} of {report.flows} flows analysed; restarts: {report.restarts}")
    out += [f"note: {note}" for note in report.notes]
    labels = {"unsealed": "NOT SEALED", "torn": "NOT SEALED", "unanalysed": "NOT ANALYSED", "not_closed": "NOT CLOSED",
              "removed": "REMOVED", "edited": "CHANGED", "seq": "SEQ", "orphan": "INCONSISTENT", "damaged": "DAMAGED",
              "signature": "BAD SEAL", "key": "KEY"}
    out += [f"{labels.get(p.kind, p.kind.upper())}: {p.text()}" for p in report.problems]
    out.append(f"verify: {report.summary()}")
    return out


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
    """Analyse saved captures offline; finish a session's analysis after a crash."""


@traffic.command("resume", epilog=(
    "\b\nExample (after a crash, `piscan verify s17` lists flows not analysed):\n"
    "  piscan traffic resume s17 --device phone-a.yaml --reason 'proxy killed by OOM'"))
@click.argument("session", type=click.Path(), metavar="SESSION")
@click.option("--device", type=click.Path(), metavar="FILE", help="The device profile the session was recorded with.")
@click.option("--key", "key_path", type=click.Path(), metavar="FILE", help=_KEY_HELP)
@click.option("--reason", metavar="TEXT", help="Why (kept in the resume record).")
@click.option("--body-cap", type=click.IntRange(1), default=None, help="Bytes of each body to decode (default 1 MiB).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, metavar="N",
              help="Processes that analyse the flows (default: one per CPU, at most 4).")
def resume(session: str, device: str | None, key_path: str | None, reason: str | None, body_cap: int | None,
           workers: int | None) -> int:
    """Analyse the captured flows that have no observation yet, and seal the session again.

    For a session whose proxy or analysis process stopped early. Takes the session lock (so never
    beside a running proxy), seals what a crash left unsealed (verify reports it as sealed late),
    writes a resume record, and analyses with the same phases and matching as the live run.
    """
    from ..keys import load_key
    from ..traffic.helpers import default_workers
    from ..traffic.resume import resume_session

    root = input_dir(session, "a proxy session folder")
    key = load_key(key_path)
    done = resume_session(root, key, device=input_file(device, "a device-profile YAML file") if device else None,
                          reason=reason, body_cap=body_cap, workers=workers or default_workers(beside_proxy=False),
                          progress=lambda m: click.echo(f"piscan: {m}", err=True))
    files = done["payload"]["files"]
    click.echo(f"piscan: analysed flows {done['analysed_from']}-{done['analysed_to']}; {files['flows.mitm']['records']} "
               f"flows, {files['observations.jsonl']['records']} observations; sealed (seal #{done['payload']['seq']})")
    click.echo(f"piscan: seal key {done['fingerprint']}")
    click.echo(f"piscan: seal head sha256 {done['head']}")
    return 0


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
    from ..apk.archive import apk_package
    from ..traffic.party import PartyResolver
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
