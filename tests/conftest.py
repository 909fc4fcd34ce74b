"""Shared fixtures: the real third-party corpus beside the repo and the sample APK."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from scanner.testing.corpus import CORPUS_REASON, REPO, corpus_dir


def pytest_configure(config: pytest.Config) -> None:
    """Keep the data-pack cache of a test run out of the user's cache folder (one per worker)."""
    if "PISCAN_CACHE_DIR" not in os.environ:
        os.environ["PISCAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="piscan-test-cache-")


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Path of ../shared/corpus; skips the test with a clear reason when it is absent."""
    path = corpus_dir()
    if path is None:
        pytest.skip(CORPUS_REASON)
    return path


@pytest.fixture(scope="session")
def sample_apk() -> Path:
    """The committed demo APK built from samples/demo-app (see samples/build_sample.sh)."""
    return REPO / "samples" / "piscan-demo.apk"
