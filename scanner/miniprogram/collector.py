"""The mini-program collector: a ``.wxapkg`` (plain or PC-encrypted) or a source folder into facts.

It claims an input by content or name, never by reading much: a folder with ``app.json``
(or another mini-program marker, or a ``miniprogram/`` folder), a file starting with the
wxapkg magic byte that is not a zip, a PC-WeChat ``V1MMWX`` file, or a ``.wxapkg`` name.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..model.collector import CollectContext, FactBundle
from .collect import collect_miniprogram

WXAPKG_MAGIC = b"\xbe"
WXAPKG_ENCRYPTED_MAGIC = b"V1MMWX"
MINIPROGRAM_MARKERS = ("app.json", "app-config.json", "game.json", "project.config.json", "app-service.js")


def is_miniprogram_dir(path: Path) -> bool:
    """Whether a folder looks like a mini-program source tree (a marker file or ``miniprogram/``)."""
    return any((path / marker).is_file() for marker in MINIPROGRAM_MARKERS) or (path / "miniprogram").is_dir()


def is_wxapkg_file(path: Path) -> bool:
    """Whether a regular file is a wxapkg: PC-encrypted magic, the ``.wxapkg`` suffix, or the plain
    magic byte on a file that is not a zip (an APK can start with any byte after a prepended DEX)."""
    if path.suffix.lower() == ".wxapkg":
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 8)
    except OSError:
        return False
    finally:
        os.close(fd)
    if head.startswith(WXAPKG_ENCRYPTED_MAGIC):
        return True
    return head[:1] == WXAPKG_MAGIC and not zipfile.is_zipfile(path)


@dataclass(frozen=True)
class MiniProgramCollector:
    """Collects the facts of a WeChat mini-program package or source folder."""

    wxid: str | None = None
    subpackages: Sequence[Path] = ()
    name: str = "wechat-miniprogram"

    def accepts(self, target: Path) -> bool:
        """A mini-program folder, or a file that is a wxapkg (see the module docstring)."""
        try:
            mode = target.stat().st_mode
        except OSError:
            return False
        if stat.S_ISDIR(mode):
            return is_miniprogram_dir(target)
        return stat.S_ISREG(mode) and is_wxapkg_file(target)

    def collect(self, ctx: CollectContext) -> FactBundle:
        """Unpack (into the work folder) and read the mini-program."""
        ctx.progress(f"reading mini-program {ctx.target.name}")
        facts = collect_miniprogram(ctx.target, wxid=self.wxid, subpackages=list(self.subpackages), unpack_dir=ctx.work_dir)
        return FactBundle(app=facts.app, sections=facts.sections, inputs=list(facts.inputs),
                          limitations=list(facts.limitations), packs=list(facts.packs))
