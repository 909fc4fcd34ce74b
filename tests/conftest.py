"""Shared fixtures: the real third-party corpus beside the repo and the sample APK."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from scanner.testing.corpus import CORPUS_REASON, REPO, corpus_dir
from scanner.traffic.availability import NEEDS, mitmproxy_available

#: modules that import mitmproxy when imported (docs/architecture.md "Supported Pythons")
_MITMPROXY_MODULE = re.compile(r"^(?:from|import) mitmproxy\b|^(?:from|import) scanner\.traffic\.(?:addon|flowdata|synthetic)\b",
                               re.M)


class _NeedsMitmproxyModule(pytest.Module):
    """A test module that imports mitmproxy, on an installation without it: one skipped item
    with the reason, instead of an import error."""

    def collect(self) -> list[pytest.Item]:
        return [_NeedsMitmproxyItem.from_parent(self, name="needs_mitmproxy")]


class _NeedsMitmproxyItem(pytest.Item):
    def runtest(self) -> None:
        pytest.skip(f"{self.path.name}: {NEEDS}")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}: needs mitmproxy"


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Modules that need mitmproxy at import become one skipped item when it is not installed."""
    if mitmproxy_available():
        return None
    text = module_path.read_text(encoding="utf-8", errors="replace")
    if "traffic" in module_path.parts or _MITMPROXY_MODULE.search(text):
        return _NeedsMitmproxyModule.from_parent(parent, path=module_path)
    return None


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
