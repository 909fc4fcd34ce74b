"""The ``piscan`` command line: a click group whose sub-commands are imported on first use.

Sub-commands live one group per module in ``scanner.commands``; importing them lazily keeps
``piscan --help`` fast (mitmproxy and androguard are heavy). ``main(argv) -> int`` is the entry
point for the console script and for tests: it turns :class:`scanner.errors.PiscanError` and
click's usage errors into one line on stderr and its exit code, and any other exception into exit
code 4 with a hint.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from . import __version__
from .budgets import ScanTimeout
from .errors import EXIT_CODES_HELP, ExitCode, PiscanError

#: click >= 8.2 raises this when a group is called without a sub-command (older click exits 0)
NO_ARGS_IS_HELP: type[click.UsageError] = getattr(click.exceptions, "NoArgsIsHelpError", type("_Never", (click.UsageError,), {}))

#: command name -> "module:attribute" of the click command or group
COMMANDS: dict[str, str] = {
    "scan": "scanner.commands.scan:scan",
    "report": "scanner.commands.report:report",
    "rules": "scanner.commands.rules:rules",
    "sdks": "scanner.commands.sdks:sdks",
    "proxy": "scanner.commands.traffic:proxy",
    "mark": "scanner.commands.traffic:mark",
    "verify": "scanner.commands.case:verify",
    "review": "scanner.commands.case:review",
    "bundle": "scanner.commands.case:bundle",
    "compare": "scanner.commands.case:compare_cmd",
    "batch": "scanner.commands.batch:batch",
    "device": "scanner.commands.traffic:device",
    "traffic": "scanner.commands.traffic:traffic",
    "key": "scanner.commands.key:key",
    "policy": "scanner.commands.policy:policy",
}

SHORT_HELP: dict[str, str] = {
    "scan": "Scan an APK, a wxapkg or a mini-program folder; write result.json and reports.",
    "report": "Render a saved result.json as HTML, JSON, SARIF or PDF.",
    "rules": "List, show, validate and test rule packs.",
    "sdks": "Browse the SDK knowledge pack and match it against an APK.",
    "proxy": "Run the mitmproxy-based capture proxy with the PIScan addon.",
    "mark": "Switch the consent phase of a running proxy session.",
    "verify": "Check a case bundle, or the hash chains and flow file of a proxy session.",
    "review": "Record the examiner's verdicts on manual checks and findings (signed, append-only).",
    "bundle": "Seal a case folder (results, reports, verdicts, sessions, inputs) into one signed zip.",
    "compare": "Compare a re-test with the original result: fixed, still present, new (复测).",
    "batch": "Scan many apps: result store, overview page, CSV/JSONL, resumable, optional Dask cluster.",
    "device": "Create a device-profile template for traffic matching.",
    "traffic": "Analyse saved captures (.mitm, .har) offline.",
    "key": "Create and show the examiner's signing key (Ed25519) for seals and bundles.",
    "policy": "Read privacy policies, SDK and PI lists; show what they declare, diff versions.",
}


class LazyGroup(click.Group):
    """A click group that imports each sub-command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SHORT_HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


TOP_EPILOG = (
    "\b\nTypical use:\n"
    "  piscan scan app.apk -o case-17                 static scan\n"
    "  piscan device init phone-a.yaml                fill in the phone's IDs\n"
    "  piscan proxy --device phone-a.yaml --apk app.apk --session s17\n"
    "  piscan mark consent --session s17              at the consent tap\n"
    "  piscan scan app.apk --session s17 -o case-17   join the traffic\n"
    "  piscan report case-17/result.json -f pdf -o case-17/report.pdf\n\n"
    "Run `piscan COMMAND --help` for a command's options.\n\n"
    + EXIT_CODES_HELP
)


@click.group(
    cls=LazyGroup,
    epilog=TOP_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="piscan", message="%(prog)s %(version)s (distribution piscan-compliance)")
def cli() -> None:
    """PIScan: personal-information compliance scanner for Android apps and WeChat mini-programs.

    Scan an app statically, observe a test phone's traffic through a proxy, and write reports
    whose every finding is tied to a legal item and to its evidence.
    """


def fatal(message: str, code: ExitCode) -> int:
    """Print one line to stderr and return the exit code (names from inputs made visible: a
    newline or a bidi override in a file name cannot split or reverse the line)."""
    from .safeio import display

    click.echo(f"piscan: {display(message, limit=4000)}", err=True)
    return int(code)


def usage_line(exc: click.UsageError) -> str:
    """Click's usage error as one line: the problem, then where to read the command's help."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    command = exc.ctx.command_path if exc.ctx is not None else "piscan"
    return f"{message} (see `{command} --help`)"


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C, so output folders made by the command are removed."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising ``SystemExit``."""
    import signal
    import threading

    args = sys.argv[1:] if argv is None else list(argv)
    if os.name != "posix":  # POSIX file modes, signals and process groups throughout (docs/architecture.md)
        return fatal("PIScan runs on Linux and macOS; on Windows use WSL 2", ExitCode.USAGE)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


_OUT_OF_MEMORY = ("out of memory: the input needs more than the scan's memory budget (PISCAN_MAX_MEMORY_BYTES) "
                  "or the machine can give; see docs/hostile-inputs.md")


def _allocation_failure(exc: BaseException) -> bool:
    """A library's own report of a failed allocation under the memory budget (not a MemoryError):
    expat says "out of memory" (XML_ERROR_NO_MEMORY) from whichever library parsed XML with it."""
    from xml.parsers.expat import ExpatError, errors

    return isinstance(exc, ExpatError) and exc.code == errors.codes[errors.XML_ERROR_NO_MEMORY]


def _internal(exc: Exception) -> int:
    """A bug: exit code 4 with one line (the traceback with PISCAN_DEBUG=1)."""
    if os.environ.get("PISCAN_DEBUG") == "1":
        raise exc
    return fatal(f"internal error: {type(exc).__name__}: {exc} (please report this with the command you ran; "
                 "set PISCAN_DEBUG=1 for a traceback)", ExitCode.INTERNAL)


def _run(args: list[str]) -> int:
    try:
        from .config import default_map

        rv: Any = cli.main(args=args, prog_name="piscan", standalone_mode=False, obj={"argv": args},
                           default_map=default_map(cli))
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except NO_ARGS_IS_HELP as exc:
        # `piscan` or `piscan rules` alone asks for the help text, as click < 8.2 treated it
        click.echo((exc.ctx or cli.make_context("piscan", [], resilient_parsing=True)).get_help())
        return int(ExitCode.OK)
    except click.UsageError as exc:
        return fatal(usage_line(exc), ExitCode.USAGE)
    except click.FileError as exc:
        return fatal(f"{exc.ui_filename}: {exc.message}", ExitCode.INPUT)
    except click.ClickException as exc:
        return fatal(" ".join(exc.format_message().split()), ExitCode.USAGE)
    except click.exceptions.Abort:  # click's form of Ctrl-C (and of end of input at a prompt)
        return fatal("interrupted", ExitCode.INTERRUPTED)
    except PiscanError as exc:
        return fatal(exc.line(), exc.exit_code)
    except KeyboardInterrupt:
        return fatal("interrupted", ExitCode.INTERRUPTED)
    except Terminated:
        return fatal("terminated (SIGTERM)", ExitCode.TERMINATED)
    except MemoryError:
        return fatal(_OUT_OF_MEMORY, ExitCode.INPUT)
    except ScanTimeout as exc:
        return fatal(str(exc), ExitCode.INPUT)
    except ImportError as exc:
        from .traffic.availability import missing_mitmproxy, unavailable

        if missing_mitmproxy(exc):  # Python 3.11: installed without mitmproxy (docs/architecture.md)
            error = unavailable()
            return fatal(error.line(), error.exit_code)
        if "failed to map segment" in str(exc) or "Cannot allocate memory" in str(exc):
            # a lazily imported extension module could not be mapped under the memory budget
            return fatal(_OUT_OF_MEMORY, ExitCode.INPUT)
        return _internal(exc)
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into exit code 4
        if _allocation_failure(exc):
            return fatal(_OUT_OF_MEMORY, ExitCode.INPUT)
        return _internal(exc)
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
