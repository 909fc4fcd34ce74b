"""Several analysis processes write the same observations, in flow order, as one (issue 14), and a
pool process that dies costs nothing but speed."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from scanner.testing.corpus import REPO
from scanner.traffic.session import OBSERVATIONS_FILE
from scanner.traffic.worker import SessionAnalyser, make_analyzer

PROFILE = REPO / "samples" / "device-profile.yaml"
SESSIONS = {"sample": (REPO / "samples" / "session", "cn.piscan.demo"),
            "unbound": (REPO / "tests" / "data" / "session-unbound", "com.example.shop")}


def _fresh(tmp_path: Path, name: str) -> tuple[Path, str | None]:
    source, package = SESSIONS[name]
    root = tmp_path / name
    shutil.copytree(source, root)
    (root / OBSERVATIONS_FILE).unlink()  # analysed again below
    return root, package


def _analyse(root: Path, package: str | None, workers: int) -> bytes:
    args = (str(PROFILE), package, 1 << 20)
    analyser = SessionAnalyser(root, make_analyzer(*args), workers=workers, analyzer_args=args)
    try:
        while analyser.step():
            pass
    finally:
        analyser.close()
    return (root / OBSERVATIONS_FILE).read_bytes()


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_a_pool_writes_what_one_process_writes(tmp_path: Path, name: str) -> None:
    one = _analyse(_fresh(tmp_path / "one", name)[0], SESSIONS[name][1], 1)
    pooled = _analyse(_fresh(tmp_path / "three", name)[0], SESSIONS[name][1], 3)
    assert pooled == one  # same records, same order, same hash chain
    assert one == (SESSIONS[name][0] / OBSERVATIONS_FILE).read_bytes()  # as the committed session was recorded


def test_a_killed_pool_process_is_survived(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root, package = _fresh(tmp_path, "unbound")
    args = (str(PROFILE), package, 1 << 20)
    analyser = SessionAnalyser(root, make_analyzer(*args), workers=2, analyzer_args=args)
    try:
        first = analyser.step(max_bytes=1)  # one flow: analysed here, no pool yet
        assert first == 1 and analyser._pool is None
        analyser.step(max_bytes=40_000)  # a few flows: the pool starts
        assert analyser._pool is not None
        for pid in list(analyser._pool._processes):
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level("ERROR", logger="piscan"):
            while analyser.step():
                pass
    finally:
        analyser.close()
    assert analyser.workers == 1 and "an analysis pool process died" in caplog.text
    assert _analyse(_fresh(tmp_path / "again", "unbound")[0], package, 1) == (root / OBSERVATIONS_FILE).read_bytes()


@pytest.mark.parametrize("cpus,live,resume", [(None, 1, 1), (1, 1, 1), (2, 1, 2), (3, 2, 3), (4, 3, 4), (16, 4, 4)])
def test_default_pool_size_leaves_the_proxy_its_cpu(monkeypatch: pytest.MonkeyPatch, cpus: int | None, live: int,
                                                    resume: int) -> None:
    """A live session leaves mitmdump a CPU (on 2 CPUs a pool of two analysed 97 flows/s under
    load, one process 155); `traffic resume` has no proxy beside it."""
    from scanner.traffic import helpers

    monkeypatch.setattr(helpers.os, "cpu_count", lambda: cpus)
    assert (helpers.default_workers(), helpers.default_workers(beside_proxy=False)) == (live, resume)
