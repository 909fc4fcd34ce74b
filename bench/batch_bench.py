"""Batch throughput: `piscan batch --jobs 2` against a shell loop of `piscan scan`, same inputs, same run.

The 14 corpus APKs are repeated to N inputs (default 100); each copy gets a distinct zip comment,
so every input has its own sha256 (a batch would otherwise scan each content once). Prints apps
per hour for both, their ratio (target >= 2x), peak memory per scan process against a single
scan's (target <= 1.2x), and how a single `piscan scan` splits into start-up, pack loading and
the scan itself.

usage: python bench/batch_bench.py [--inputs 100] [--jobs 2] [--corpus ../shared/corpus]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_inputs(corpus: Path, count: int, folder: Path) -> list[Path]:
    """``count`` distinct APKs made from the corpus APKs (a different zip comment each)."""
    sources = sorted((corpus / "apk").glob("*.apk"))
    made = []
    for index in range(count):
        source = sources[index % len(sources)]
        target = folder / f"{index:03d}-{source.name}"
        data = bytearray(source.read_bytes())
        end = data.rfind(b"PK\x05\x06")
        comment = f"piscan-bench-{index}".encode()
        data[end + 20:end + 22] = len(comment).to_bytes(2, "little")
        del data[end + 22:]
        data += comment
        target.write_bytes(bytes(data))
        made.append(target)
    return made


def children_peak_mib() -> float:
    """Peak RSS of any waited-for child so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run(command: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    args = parser.parse_args()
    if not (args.corpus / "apk").is_dir():
        print(f"batch_bench: no corpus at {args.corpus}", file=sys.stderr)
        return 2
    piscan = shutil.which("piscan") or f"{sys.executable} -m scanner.cli"
    with tempfile.TemporaryDirectory(prefix="piscan-batch-bench-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        inputs = make_inputs(args.corpus, args.inputs, work / "in")
        env = {**os.environ, "PISCAN_CACHE_DIR": str(work / "cache")}
        run([*piscan.split(), "rules", "list"], env=env)  # warm the pack cache for both sides

        # the split of one scan: interpreter + imports, pack loading, the scan
        startup = statistics.median(run([*piscan.split(), "--version"], env=env) for _ in range(5))
        probe = ("import time,sys; t=time.perf_counter(); from scanner.batch.work import scan_setup; scan_setup(); "
                 "print(time.perf_counter()-t)")
        loading = statistics.median(float(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                                         text=True, check=True).stdout) for _ in range(3))
        single = [run([*piscan.split(), "scan", str(p), "-o", str(work / "one" / p.stem), "-f", "json,html"], env=env)
                  for p in inputs[:14]]
        single_peak = children_peak_mib()

        loop = sum(run([*piscan.split(), "scan", str(p), "-o", str(work / "loop" / p.stem), "-f", "json,html"], env=env)
                   for p in inputs)
        loop_peak = children_peak_mib()

        started = time.perf_counter()
        batch_command = [sys.executable, "-c",
                         "import resource,sys; from scanner.cli import main; rc = main(sys.argv[1:]); "
                         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(rc)",
                         "batch", str(work / "in"), "-o", str(work / "batch"), "-j", str(args.jobs)]
        done = subprocess.run(batch_command, env=env, capture_output=True, text=True)
        batch = time.perf_counter() - started
        worker_peak = int(done.stderr.strip().splitlines()[-1]) / 1024

    per_scan = statistics.median(single)
    print(f"inputs: {args.inputs} (corpus APKs repeated, distinct bytes); jobs: {args.jobs}; cpus: {os.cpu_count()}")
    print(f"shell loop of `piscan scan`: {loop:7.1f} s  {args.inputs / loop * 3600:8.0f} apps/hour")
    print(f"piscan batch -j {args.jobs}:          {batch:7.1f} s  {args.inputs / batch * 3600:8.0f} apps/hour")
    print(f"throughput ratio batch/loop: {loop / batch:.2f}x (target >= 2x)")
    print(f"peak RSS: one `piscan scan` {single_peak:.0f} MiB (loop max {loop_peak:.0f}); "
          f"a batch scan process {worker_peak:.0f} MiB -> {worker_peak / single_peak:.2f}x (target <= 1.2x)")
    print(f"one `piscan scan` (median of 14 corpus APKs) {per_scan:.2f} s = start-up {startup:.2f} s "
          f"+ pack loading {loading:.2f} s + scan and reports {max(0.0, per_scan - startup - loading):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
