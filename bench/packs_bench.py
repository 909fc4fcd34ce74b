"""Pack-loading benchmark: how much of a scan is spent loading rule and data packs, cold and warm.

    python bench/packs_bench.py [--runs 5] [APK]

Each run is a fresh subprocess that scans the APK (default: the sample) in process, with every
pack load timed: data packs (:func:`scanner.datapack.load_source`), rule packs
(:func:`scanner.rules.loader.load_packs`) and the labels used by the HTML renderer. The first run
starts from an empty cache folder (cold: YAML parsing and schema checks); the others reuse it
(warm). Printed: the median pack-loading time and its share of the scan, per case. The target
(issue 12): under 0.1 s of pack loading for a 3 MB APK with a warm cache. Figures, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _child(apk: str) -> dict[str, float]:
    import functools

    import scanner.datapack as datapack
    import scanner.report.i18n as i18n
    import scanner.rules.loader as loader

    spent = {"packs": 0.0}

    def timed(func):  # type: ignore[no-untyped-def]
        @functools.wraps(func)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent["packs"] += time.perf_counter() - start
        return wrapper

    datapack.load_source = timed(datapack.load_source)
    loader.load_packs = timed(loader.load_packs)
    i18n.labels = timed(i18n.labels)
    from scanner.cli import main

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        code = main(["scan", "-q", apk, "-o", out, "--category", "38", "--format", "json,html"])
    total = time.perf_counter() - start
    return {"code": code, "packs": spent["packs"], "total": total}


def _run(apk: str, cache: str) -> dict[str, float]:
    env = {**os.environ, "PISCAN_CACHE_DIR": cache}
    out = subprocess.run([sys.executable, __file__, "--child", apk], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apk", nargs="?", default=str(REPO / "samples" / "piscan-demo.apk"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.apk)))
        return 0
    with tempfile.TemporaryDirectory() as cache:
        cold = _run(args.apk, cache)
        warm = [_run(args.apk, cache) for _ in range(args.runs)]
    size = Path(args.apk).stat().st_size
    print(f"{Path(args.apk).name} ({size / 1e6:.1f} MB), {args.runs} warm runs")
    print(f"  cold: packs {cold['packs']:.3f} s of a {cold['total']:.2f} s scan")
    packs = statistics.median(r["packs"] for r in warm)
    total = statistics.median(r["total"] for r in warm)
    print(f"  warm: packs {packs:.3f} s of a {total:.2f} s scan ({packs / total:.0%}); "
          f"min {min(r['packs'] for r in warm):.3f} s, max {max(r['packs'] for r in warm):.3f} s; target < 0.1 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
