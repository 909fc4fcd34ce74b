"""The ``piscan`` command line: a click group whose sub-commands are imported on first use.

Sub-commands live one group per module in ``scanner.commands``; importing them lazily keeps
``piscan --help`` fast (mitmproxy and androguard are heavy). ``main(argv) -> int`` is the entry
point for the console script and for tests: it turns :class:`scanner.errors.PiscanError` into one
line on stderr and its exit code, and any other exception into exit code 4 with a hint.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from . import __version__
from .errors import EXIT_CODES_HELP, ExitCode, PiscanError

#: command name -> "module:attribute" of the click command or group
COMMANDS: dict[str, str] = {
    "scan": "scanner.commands.scan:scan",
    "report": "scanner.commands.report:report",
    "rules": "scanner.commands.rules:rules",
    "sdks": "scanner.commands.sdks:sdks",
    "proxy": "scanner.commands.traffic:proxy",
    "mark": "scanner.commands.traffic:mark",
    "verify": "scanner.commands.traffic:verify",
    "device": "scanner.commands.traffic:device",
    "traffic": "scanner.commands.traffic:traffic",
}

SHORT_HELP: dict[str, str] = {
    "scan": "Scan an APK, a wxapkg or a mini-program folder; write result.json and reports.",
    "report": "Render a saved result.json as HTML, JSON, SARIF or PDF.",
    "rules": "List, show, validate and test rule packs.",
    "sdks": "Browse the SDK knowledge pack and match it against an APK.",
    "proxy": "Run the mitmproxy-based capture proxy with the PIScan addon.",
    "mark": "Switch the consent phase of a running proxy session.",
    "verify": "Check the hash chains and flow file of a proxy session.",
    "device": "Create a device-profile template for traffic matching.",
    "traffic": "Analyse saved captures (.mitm, .har) offline.",
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


@click.group(
    cls=LazyGroup,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="piscan", message="%(prog)s %(version)s")
def cli() -> None:
    """PIScan: personal-information compliance scanner for Android apps and WeChat mini-programs.

    Scan an app statically, observe a test phone's traffic through a proxy, and write reports
    whose every finding is tied to a legal item and to its evidence.
    """


def fatal(message: str, code: ExitCode) -> int:
    """Print one line to stderr and return the exit code."""
    click.echo(f"piscan: {message}", err=True)
    return int(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising ``SystemExit``."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        rv: Any = cli.main(args=args, prog_name="piscan", standalone_mode=False, obj={"argv": args})
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.USAGE) if isinstance(exc, click.UsageError) else int(exc.exit_code)
    except click.exceptions.Abort:
        return fatal("aborted", ExitCode.USAGE)
    except PiscanError as exc:
        return fatal(exc.line(), exc.exit_code)
    except KeyboardInterrupt:
        return fatal("interrupted", ExitCode.INTERNAL)
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into exit code 4
        if os.environ.get("PISCAN_DEBUG") == "1":
            raise
        return fatal(
            f"internal error: {type(exc).__name__}: {exc} (please report this with the command you ran; "
            "set PISCAN_DEBUG=1 for a traceback)",
            ExitCode.INTERNAL,
        )
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
