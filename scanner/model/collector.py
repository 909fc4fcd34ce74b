"""The interface between the scan pipeline and the collectors that turn inputs into facts.

A :class:`Collector` reads one kind of input (an APK, a mini-program) and returns a
:class:`FactBundle`: the ``app`` block, fact sections, provenance inputs and packs, and
limitations. A :class:`Joiner` adds facts from a second source to a result that a collector
started (a proxy session, a privacy policy). Each is configured when it is constructed (an
Android collector's ``deep`` flag, a session joiner's folder), so the pipeline passes only a
narrow :class:`CollectContext`. ``scanner.scan.run_scan`` picks the first collector that accepts
the input, then runs every joiner, then the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .records import Limitation

Progress = Callable[[str], None]


def no_progress(_message: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class CollectContext:
    """What a collector gets from the pipeline."""

    target: Path
    #: a private staging folder inside the output folder, for files the collector unpacks; the
    #: pipeline moves it into place only when the whole scan succeeds
    work_dir: Path
    progress: Progress = no_progress


@dataclass
class FactBundle:
    """What one collector or joiner contributes to a result."""

    app: dict[str, Any] | None = None
    sections: dict[str, Any] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    limitations: list[Limitation] = field(default_factory=list)
    #: provenance rows ``{"id", "kind", "version", "sha256"}`` of the data packs it used
    packs: list[dict[str, str]] = field(default_factory=list)


class Collector(Protocol):
    """Turns one kind of input into facts."""

    name: str

    def accepts(self, target: Path) -> bool:
        """Whether ``target`` is this collector's kind of input. Must not block or read much:
        it may look at the file type and its first bytes only."""

    def collect(self, ctx: CollectContext) -> FactBundle:
        """Collect the facts of ``ctx.target`` (raises ``InputError`` when it cannot be read at all)."""


class Joiner(Protocol):
    """Adds facts from another source to a result a collector started."""

    name: str

    def join(self, result: Mapping[str, Any], progress: Progress) -> FactBundle:
        """Facts to add; ``result`` is read-only here (the app block and facts collected so far)."""
