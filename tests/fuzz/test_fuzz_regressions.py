"""Replay every input the fuzz campaigns crashed on (tests/data/fuzz/<target>/), and a short
fixed-seed campaign per target: each must end normally or with PIScan's one-line input error."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scanner.testing.fuzz import NEEDS_MITMPROXY, TARGETS, mutate, run_one, seeds
from scanner.traffic.availability import NEEDS, mitmproxy_available

DATA = Path(__file__).resolve().parents[1] / "data" / "fuzz"
REGRESSIONS = sorted(p for p in DATA.glob("*/*.bin") if p.parent.name in TARGETS)


def _skip_unless_runnable(target: str) -> None:
    if target in NEEDS_MITMPROXY and not mitmproxy_available():
        pytest.skip(NEEDS)


@pytest.mark.parametrize("path", REGRESSIONS, ids=[f"{p.parent.name}/{p.name}" for p in REGRESSIONS])
def test_saved_crash_input_no_longer_crashes(path: Path) -> None:
    _skip_unless_runnable(path.parent.name)
    assert run_one(TARGETS[path.parent.name], path.read_bytes()) is None


def test_every_target_has_a_regression_input_or_seed() -> None:
    for name in TARGETS:
        assert seeds(name), name


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_campaign_finds_no_crash(name: str) -> None:
    _skip_unless_runnable(name)
    rng = random.Random(f"pytest:{name}")
    pool = seeds(name)
    runs = 60 if name in ("apk", "wxapkg") else 300
    crashes = []
    for _ in range(runs):
        data = mutate(rng.choice(pool), rng)
        signature = run_one(TARGETS[name], data)
        if signature is not None:
            crashes.append(signature)
    assert crashes == []
