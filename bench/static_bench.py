"""Static-analysis benchmark: PIScan's code scan against androguard AnalyzeAPK + xrefs.

    python bench/static_bench.py [--corpus] [--skip-androguard] [APK ...]

Builds the super-app (every classes*.dex of the corpus APKs in one APK: about 30 DEX files and
70 MB of bytecode) with ``../shared/tools/make-superapp.py`` into a temporary folder, then, for
each APK, runs in separate fresh subprocesses:

* ours: the Android collector as ``piscan scan`` runs it (``AndroidCollector.collect``: manifest,
  resources, DEX index, SDK detection, catalogue call sites with their owners, pre-UI
  reachability);
* androguard: ``AnalyzeAPK`` + ``get_xref_from()`` of every catalogue method (what MobSF / Quark
  style tools do).

Each child reports its wall time and its own peak RSS (``resource.getrusage(RUSAGE_SELF)``);
the parent prints both and the ratios. Targets on the super-app: >= 20x faster, <= 1/5 of the
peak memory, under 15 s and under 1 GB. ``--corpus`` adds every corpus APK. Figures, not tests.

``--baseline REV`` also runs PIScan as of git revision REV (a temporary worktree) on the same
APKs, ``--repeat`` times in alternation with the current code, and prints the median time ratio:
how a change moved the scan's speed, measured side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MAKE_SUPERAPP = SHARED / "tools" / "make-superapp.py"
CORPUS_APKS = SHARED / "corpus" / "apk"
sys.path.insert(0, str(REPO))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child_ours(apk: Path) -> dict[str, object]:
    import tempfile

    from scanner.apk.collector import AndroidCollector
    from scanner.model.collector import CollectContext

    start, cpu0 = time.perf_counter(), _cpu_s()
    with tempfile.TemporaryDirectory() as work:
        bundle = AndroidCollector().collect(CollectContext(target=apk, work_dir=Path(work)))
    wall = time.perf_counter() - start
    reach = bundle.sections["reachability"]
    return {"wall": wall, "cpu": _cpu_s() - cpu0, "rss_mb": _peak_rss_mb(), "sites": len(bundle.sections["api_calls"]),
            "dex": len(bundle.sections["dex"]["files"]), "reach_methods": reach["methods"], "bound_hit": reach["bound_hit"]}


def _child_androguard(apk: Path) -> dict[str, object]:
    from androguard.misc import AnalyzeAPK
    from loguru import logger

    from scanner.apk.catalogue import default_catalogue

    logger.disable("androguard")
    start, cpu0 = time.perf_counter(), _cpu_s()
    _a, _d, dx = AnalyzeAPK(str(apk))
    wanted = {e.key for e in default_catalogue().entries if e.access == "invoke"}
    classes = {k[0] for k in wanted}
    sites = 0
    for ca in dx.get_classes():
        if ca.name in classes:
            for ma in ca.get_methods():
                if (ca.name, ma.name, ma.descriptor.replace(" ", "")) in wanted:
                    sites += len(ma.get_xref_from())
    return {"wall": time.perf_counter() - start, "cpu": _cpu_s() - cpu0, "rss_mb": _peak_rss_mb(), "sites": sites}


def _run_child(kind: str, apk: Path, script: str = __file__) -> dict[str, object]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, script, "--child", kind, str(apk)], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1], "wall": time.perf_counter() - start}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _bytecode_mb(apk: Path) -> float:
    with zipfile.ZipFile(apk) as zf:
        return sum(i.file_size for i in zf.infolist() if i.filename.startswith("classes") and i.filename.endswith(".dex")) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apks", nargs="*", type=Path)
    parser.add_argument("--corpus", action="store_true", help="also measure every corpus APK")
    parser.add_argument("--skip-androguard", action="store_true", help="only measure PIScan")
    parser.add_argument("--baseline", metavar="REV", help="also time PIScan at git revision REV, side by side")
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs per side with --baseline (default 5)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "APK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, apk = args.child
        result = _child_ours(Path(apk)) if kind == "ours" else _child_androguard(Path(apk))
        print(json.dumps(result))
        return 0

    apks = list(args.apks)
    with tempfile.TemporaryDirectory(prefix="piscan-bench-") as tmp:
        if not apks or args.corpus:
            if not MAKE_SUPERAPP.is_file():
                print(f"missing {MAKE_SUPERAPP}: cannot build the super-app", file=sys.stderr)
                return 2
            superapp = Path(tmp) / "superapp.apk"
            subprocess.run([sys.executable, str(MAKE_SUPERAPP), str(superapp)], check=True)
            apks.append(superapp)
        if args.corpus:
            apks = sorted(CORPUS_APKS.glob("*.apk")) + apks
        if args.baseline:
            return _compare_baseline(args.baseline, apks, args.repeat, Path(tmp))
        print("wall s / CPU s / peak RSS MB / catalogue call sites (androguard: invoke sites only); "
              "speed = androguard wall / ours wall (CPU ratio in brackets), memory = androguard RSS / ours RSS")
        print(f"{'apk':42} {'DEX MB':>7} | {'ours s':>7} {'cpu':>6} {'MB':>6} {'sites':>6} | "
              f"{'androguard s':>12} {'cpu':>7} {'MB':>6} {'sites':>6} | {'speed':>15} {'memory':>7}")
        for apk in apks:
            ours = _run_child("ours", apk)
            theirs = {} if args.skip_androguard else _run_child("androguard", apk)
            row = f"{apk.name[:42]:42} {_bytecode_mb(apk):7.1f} | "
            row += (f"{ours['wall']:7.2f} {ours['cpu']:6.2f} {ours['rss_mb']:6.0f} {ours['sites']:6}" if "error" not in ours
                    else f"error: {ours['error']}")
            if theirs and "error" not in theirs and "error" not in ours:
                speed = float(theirs["wall"]) / float(ours["wall"])
                cpu = float(theirs["cpu"]) / float(ours["cpu"])
                memory = float(theirs["rss_mb"]) / float(ours["rss_mb"])
                row += (f" | {theirs['wall']:12.2f} {theirs['cpu']:7.1f} {theirs['rss_mb']:6.0f} {theirs['sites']:6}"
                        f" | {speed:6.1f}x ({cpu:5.1f}x) {memory:6.1f}x")
            elif theirs:
                row += f" | androguard error: {theirs.get('error')}"
            print(row, flush=True)
            if apk.name == "superapp.apk" and "error" not in ours:
                print(f"  super-app targets: ours {ours['wall']:.2f} s wall, {ours['cpu']:.2f} s CPU (< 15 s), {ours['rss_mb']:.0f} MB (< 1024 MB), "
                      f"{ours['dex']} DEX, reachability over {ours['reach_methods']} methods, bound hit: {ours['bound_hit']}")
                if theirs and "error" not in theirs:
                    print(f"  vs androguard: {float(theirs['wall']) / float(ours['wall']):.1f}x faster wall, "
                          f"{float(theirs['cpu']) / float(ours['cpu']):.1f}x less CPU (>= 20x), "
                          f"{float(ours['rss_mb']) / float(theirs['rss_mb']):.3f} of its peak memory (<= 0.2)")
    return 0


def _compare_baseline(rev: str, apks: list[Path], repeat: int, tmp: Path) -> int:
    """Median wall and CPU time of the current code against REV's, alternating runs."""
    import statistics

    tree = tmp / "baseline"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev], check=True,
                   capture_output=True)
    try:
        old_script = str(tree / "bench" / "static_bench.py")
        print(f"PIScan now vs {rev}: wall s and CPU s, medians of {repeat} alternating runs each")
        for apk in apks:
            now: list[dict[str, object]] = []
            old: list[dict[str, object]] = []
            for i in range(repeat):
                for side, script in ((now, __file__), (old, old_script))[:: 1 if i % 2 == 0 else -1]:
                    side.append(_run_child("ours", apk, script))
            if any("error" in r for r in now + old):
                print(f"{apk.name}: error {[r.get('error') for r in now + old if 'error' in r][:1]}")
                continue
            wall_now = statistics.median(float(r["wall"]) for r in now)
            wall_old = statistics.median(float(r["wall"]) for r in old)
            cpu_now = statistics.median(float(r["cpu"]) for r in now)
            cpu_old = statistics.median(float(r["cpu"]) for r in old)
            rss_now = max(float(r["rss_mb"]) for r in now)
            rss_old = max(float(r["rss_mb"]) for r in old)
            print(f"{apk.name[:40]:40} now {wall_now:6.2f} s ({cpu_now:6.2f} CPU, {rss_now:4.0f} MB)  {rev[:10]} "
                  f"{wall_old:6.2f} s ({cpu_old:6.2f} CPU, {rss_old:4.0f} MB)  change {100 * (wall_now / wall_old - 1):+5.1f} % "
                  f"wall, {100 * (cpu_now / cpu_old - 1):+5.1f} % CPU, same call sites: "
                  f"{now[0]['sites'] == old[0]['sites']}", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], capture_output=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
