"""Fuzz campaign over PIScan's parsers: ``python tests/fuzz/run.py [TARGET ...] [options]``.

Targets: dex, apk, aab_xml, aab_resources, wxapkg, mp_config, js, har, mitm, rules (default: all). Each target gets
``--seconds`` of mutated inputs (plain engine: fixed ``--seed``, reproducible) under a memory
limit (``--max-memory-mb``, RLIMIT_AS) and a per-input time limit (``--hang-seconds``). A crash
(any exception other than PIScan's one-line input error), a hang or a MemoryError is written to
``--crashes`` (default ``tests/data/fuzz/new``) as ``<target>-<sha1>.bin``; move it to
``tests/data/fuzz/<target>/`` once fixed, where ``tests/fuzz/test_fuzz_regressions.py`` replays
it on every test run. Exit status: 0 without crashes, 1 with crashes.

``--engine atheris`` runs one target under atheris (coverage-guided) when it is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from scanner.testing.fuzz import NEEDS_MITMPROXY, TARGETS, Hang, Outcome, mutate, run_one, seeds  # noqa: E402
from scanner.traffic.availability import NEEDS, mitmproxy_available  # noqa: E402


_LIBFUZZER_ARGS: list[str] = []  #: -max_total_time=N and other libFuzzer options, for --engine atheris


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang()


def campaign(name: str, seconds: float, rng: random.Random, hang_seconds: float, crashes_dir: Path) -> Outcome:
    """Mutate the target's seeds for ``seconds``; save every new crash signature's input."""
    target = TARGETS[name]
    pool = seeds(name)
    outcome = Outcome(name)
    seen: set[str] = set()
    for seed in pool:  # the seeds themselves must pass
        outcome.executions += 1
        signature = run_one(target, seed)
        if signature is not None:
            _save(crashes_dir, name, signature, seed, seen, outcome)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = mutate(rng.choice(pool), rng)
        signal.setitimer(signal.ITIMER_REAL, hang_seconds)
        try:
            signature = run_one(target, data)
        except Hang:
            signature = "Hang"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcome.executions += 1
        if signature is not None:
            _save(crashes_dir, name, signature, data, seen, outcome)
    return outcome


def _save(crashes_dir: Path, name: str, signature: str, data: bytes, seen: set[str], outcome: Outcome) -> None:
    outcome.crashes.append((signature, data))
    if signature in seen:
        return
    seen.add(signature)
    crashes_dir.mkdir(parents=True, exist_ok=True)
    path = crashes_dir / f"{name}-{hashlib.sha1(data).hexdigest()[:16]}.bin"  # noqa: S324 - a file name
    path.write_bytes(data)
    print(f"  crash {signature}: {path}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", metavar="TARGET")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per target (default 15)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang-seconds", type=float, default=10.0)
    parser.add_argument("--max-memory-mb", type=int, default=1024 + 1536,
                        help="address-space limit (RLIMIT_AS); the default leaves 1 GiB over the ~1.5 GiB that "
                             "the imported libraries map")
    parser.add_argument("--crashes", type=Path, default=REPO / "tests" / "data" / "fuzz" / "new")
    parser.add_argument("--engine", choices=("plain", "atheris"), default="plain")
    args, extra = parser.parse_known_args()
    _LIBFUZZER_ARGS.extend(a for a in extra if a.startswith("-") and "=" in a)
    names = args.targets or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; choose from {sorted(TARGETS)}")
    if not mitmproxy_available():
        skipped = [n for n in names if n in NEEDS_MITMPROXY]
        names = [n for n in names if n not in NEEDS_MITMPROXY]
        if skipped:
            print(f"not fuzzed: {', '.join(skipped)} ({NEEDS})", flush=True)
    limit = args.max_memory_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    os.environ.setdefault("PISCAN_CACHE_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "piscan-fuzz-cache"))
    if args.engine == "atheris":
        return _atheris(names)
    total = crashed = 0
    started = time.monotonic()
    for name in names:
        outcome = campaign(name, args.seconds, random.Random(f"{args.seed}:{name}"), args.hang_seconds, args.crashes)
        total += outcome.executions
        crashed += len(outcome.crashes)
        signatures = sorted({s for s, _ in outcome.crashes})
        print(f"{name:10} {outcome.executions:8,} executions, {len(outcome.crashes)} crashes"
              + (f" ({'; '.join(signatures)})" if signatures else ""), flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"total {total:,} executions in {time.monotonic() - started:.0f} s, {crashed} crashes, peak RSS {rss} MB")
    return 1 if crashed else 0


def _atheris(names: list[str]) -> int:
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        print("atheris is not installed (pip install atheris); use --engine plain", file=sys.stderr)
        return 2
    if len(names) != 1:
        print("atheris runs one target at a time", file=sys.stderr)
        return 2
    import tempfile

    target = TARGETS[names[0]]
    target(seeds(names[0])[0])  # import everything the target uses, so that it is instrumented
    atheris.instrument_all()
    corpus = Path(tempfile.mkdtemp(prefix=f"piscan-atheris-{names[0]}-"))
    for i, seed in enumerate(seeds(names[0])):
        (corpus / f"seed-{i}").write_bytes(seed)

    def one(data: bytes) -> None:
        signature = run_one(target, data)
        if signature is not None:
            raise RuntimeError(signature)

    print(f"atheris: corpus in {corpus} (libFuzzer options may follow --engine atheris as -max_total_time=N)", flush=True)
    atheris.Setup([sys.argv[0], "-max_len=1048576", *_LIBFUZZER_ARGS, str(corpus)], one)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
