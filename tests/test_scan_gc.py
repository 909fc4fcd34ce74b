"""``scan.gc_paused``: the cyclic collector is off inside a scan and restored as it was after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner import scan as scan_module
from scanner.rules.loader import load_packs
from scanner.scan import default_collectors, gc_paused, run_scan


@pytest.fixture
def gc_enabled() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_restored_after_the_block_and_after_an_error(gc_enabled: None) -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_scan_runs_with_the_collector_paused(gc_enabled: None, sample_apk: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    real = scan_module._evaluate_rules

    def spy(result, ruleset, progress):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        real(result, ruleset, progress)

    monkeypatch.setattr(scan_module, "_evaluate_rules", spy)
    result = run_scan(sample_apk, collectors=default_collectors(), ruleset=load_packs(), out_dir=tmp_path / "out",
                      command=["piscan", "scan"])
    assert seen == [False] and gc.isenabled()
    assert result["app"]["package"] == "cn.piscan.demo"
