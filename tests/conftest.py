"""Shared fixtures: the real third-party corpus beside the repo, the sample APK, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS_REASON = (
    "the third-party corpus (../shared/corpus, or $PISCAN_CORPUS) is not present; "
    "it is not redistributable and ships only to the project's own machines"
)


def corpus_dir() -> Path | None:
    """The corpus folder, or None when this checkout has none beside it."""
    candidates = [os.environ.get("PISCAN_CORPUS"), REPO.parent / "shared" / "corpus"]
    for cand in candidates:
        if cand and Path(cand).is_dir():
            return Path(cand)
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Path of ../shared/corpus; skips the test with a clear reason when it is absent."""
    path = corpus_dir()
    if path is None:
        pytest.skip(CORPUS_REASON)
    return path


def corpus_apks() -> list[Path]:
    """The 14 main corpus APKs (not the edge cases), sorted; empty without a corpus."""
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


@pytest.fixture(scope="session")
def sample_apk() -> Path:
    """The committed demo APK built from samples/demo-app (see samples/build_sample.sh)."""
    return REPO / "samples" / "piscan-demo.apk"
