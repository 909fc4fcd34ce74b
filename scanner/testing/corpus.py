"""Where the test material is: the source checkout, and the third-party corpus beside it.

The corpus (``../shared/corpus`` next to the checkout, or ``$PISCAN_CORPUS``) holds real APKs,
wxapkg files and captures that may not be redistributed; tests that need it skip with
:data:`CORPUS_REASON` when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SOURCE_ROOT = Path(__file__).resolve().parents[2]
REPO = _SOURCE_ROOT if (_SOURCE_ROOT / "setup.cfg").is_file() else Path.cwd()
CORPUS_REASON = (
    "the third-party corpus (../shared/corpus, or $PISCAN_CORPUS) is not present; "
    "it is not redistributable and ships only to the project's own machines"
)


def corpus_dir() -> Path | None:
    """The corpus folder, or None when this checkout has none beside it."""
    for cand in (os.environ.get("PISCAN_CORPUS"), REPO.parent / "shared" / "corpus"):
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


def corpus_apks() -> list[Path]:
    """The main corpus APKs (not the edge cases), sorted; empty without a corpus."""
    path = corpus_dir()
    return sorted((path / "apk").glob("*.apk")) if path else []


def corpus_edge_apks() -> list[Path]:
    """The edge-case APKs of the corpus, sorted; empty without a corpus."""
    path = corpus_dir()
    return sorted((path / "apk" / "edge").glob("*.apk")) if path else []


def apk_params(paths: list[Path]) -> list:
    """pytest params named by file, or one param that skips with the corpus reason."""
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason=CORPUS_REASON), id="no-corpus")]
    return [pytest.param(p, id=p.name) for p in paths]


class ZipEntries:
    """An APK's entries read with plain zipfile: what ``load_dex_index`` needs, without androguard."""

    def __init__(self, path: Path) -> None:
        import zipfile

        self._zf = zipfile.ZipFile(path)
        self.entries = tuple(sorted(self._zf.namelist()))

    def read(self, name: str) -> bytes:
        """The bytes of one entry."""
        return self._zf.read(name)
