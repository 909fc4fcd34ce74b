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


DEMO_KEY = REPO / "samples" / "examiner-demo-key.pem"


@pytest.fixture(autouse=True)
def _examiner_keys(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Sessions are checked against the key that sealed samples/session unless a test names
    another, and no test reads or writes the user's own examiner key."""
    from scanner.keys import load_key

    monkeypatch.setenv("PISCAN_KEY_FINGERPRINT", load_key(DEMO_KEY).fingerprint)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("PISCAN_KEY", raising=False)
