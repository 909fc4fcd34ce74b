"""Defaults for command-line options from a config file: ``piscan.toml`` in the current folder
(the case folder), else ``$PISCAN_CONFIG``, else ``~/.config/piscan/config.toml`` (honouring
``$XDG_CONFIG_HOME``). Flags on the command line always win.

A file names options by their long flag without dashes, in a table per command (``[scan]``,
``[report]``, ``[batch]``, ``[proxy]``, sub-commands as ``["traffic analyze"]``) or in
``[defaults]``, which applies to every command that has the option::

    [defaults]
    lang = "zh-CN"
    examiner = "张三"

    [scan]
    format = "json,html,pdf"
    rules = ["./our-rules"]

An unknown table or option, or a value of the wrong type, is one line naming the file (exit 2).
Everything an option changes in a result is recorded there as usual (case, packs, outputs).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import click

from .errors import UsageError

FILE_NAME = "piscan.toml"


def config_path() -> Path | None:
    """The config file in force, or ``None``."""
    try:
        local = Path.cwd() / FILE_NAME
    except OSError:  # the current folder was removed
        local = None
    if local is not None and local.is_file():
        return local
    named = os.environ.get("PISCAN_CONFIG")
    if named:
        return Path(named)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = base / "piscan" / "config.toml"
    return user if user.is_file() else None


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command and sub-command by its path (``scan``, ``traffic analyze``); asks the group,
    so lazily loaded commands count too."""
    ctx = click.Context(group)
    out: dict[str, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        path = f"{prefix}{name}"
        out[path] = command
        if isinstance(command, click.Group):
            out.update(_commands(command, f"{path} "))
    return out


def _options(command: click.Command) -> dict[str, click.Option]:
    """Long flag without dashes -> option (``format`` -> the ``--format`` option)."""
    out: dict[str, click.Option] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--"):
                    out[opt[2:]] = param
    return out


def _value(param: click.Option, raw: Any, where: str, path: Path) -> Any:
    if param.multiple:
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, (str, int, float, bool)) for v in values):
            raise UsageError(f"{where}: expected a list of values", path)
        return values
    if param.is_flag:
        if not isinstance(raw, bool):
            raise UsageError(f"{where}: expected true or false", path)
        return raw
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        raise UsageError(f"{where}: expected a string or a number", path)
    return raw


def default_map(group: click.Group, path: Path | None = None) -> dict[str, Any]:
    """click's ``default_map`` for ``group`` from the config file (``{}`` without one)."""
    path = path if path is not None else config_path()
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the config file: {exc.strerror or exc}", path) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"not a valid TOML config file: {exc}", path) from None
    commands = _commands(group)
    shared = data.pop("defaults", {})
    if not isinstance(shared, dict):
        raise UsageError("[defaults] must be a table", path)
    result: dict[str, Any] = {}
    for table, values in data.items():
        if table not in commands:
            raise UsageError(f"unknown table [{table}]; commands: {', '.join(sorted(commands))}", path)
        if not isinstance(values, dict):
            raise UsageError(f"[{table}] must be a table of options", path)
        options = _options(commands[table])
        for key, raw in values.items():
            if key not in options:
                raise UsageError(f"[{table}] unknown option {key!r}; valid: {', '.join(sorted(options))}", path)
            _place(result, table, options[key].name or key, _value(options[key], raw, f"[{table}] {key}", path))
    known = set().union(*(_options(c) for c in commands.values()))
    for key, raw in shared.items():
        if key not in known:
            raise UsageError(f"[defaults] unknown option {key!r}", path)
        for table, command in commands.items():
            param = _options(command).get(key)
            if param is not None:
                value = _value(param, raw, f"[defaults] {key}", path)
                _place(result, table, param.name or key, value, override=False)
    return result


def _place(result: dict[str, Any], table: str, name: str, value: Any, override: bool = True) -> None:
    node = result
    for part in table.split(" "):
        node = node.setdefault(part, {})
    if override or name not in node:
        node[name] = value
