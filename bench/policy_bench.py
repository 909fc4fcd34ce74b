"""Policy extraction speed: read + extract one long policy, against the peers that only read it.

Usage: python bench/policy_bench.py [--rounds N] [FILE ...]

Default inputs: the longest corpus policies (Bilibili 2021-10-08, about 70 KB of Markdown; the
Umeng saved page; Xiaomi's 14-page PDF). For each file it prints the median wall time of
PIScan's full extraction (reading, structure, PI types, SDKs, permissions, rights, references),
of reading alone, and of the peers measured in the same run: Python's own ``str.find`` for every
lexicon term (the floor any term search must pay) and, for PDFs, pdfminer.six's and pypdf's text
extraction when installed. Loading the lexicon and the SDK pack happens once per process and is
reported separately. Target: < 0.3 s to extract a 70 KB policy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scanner.policy.extract import extract_document  # noqa: E402
from scanner.policy.lexicon import default_lexicon  # noqa: E402
from scanner.policy.read import detect_format, parse_document, read_document  # noqa: E402
from scanner.sdk.pack import default_pack  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "policies"
DEFAULT = ["bilibili/privacy-2021-10-08.md", "umeng/umeng-privacy.html", "xiaomi/xiaomi-privacy-2021-01-15.pdf"]


def median_time(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    files = args.files or [CORPUS / rel for rel in DEFAULT if (CORPUS / rel).is_file()]
    if not files:
        print("no input: give policy files, or put the corpus at ../shared/corpus", file=sys.stderr)
        return 2
    start = time.perf_counter()
    lex = default_lexicon()
    default_pack()
    print(f"one-time load of lexicon ({len(lex.pi_terms) + len(lex.permission_terms)} terms) and SDK pack: "
          f"{time.perf_counter() - start:.3f} s")
    for path in files:
        data = path.read_bytes()
        fmt = detect_format(data, path.name)
        read_document(path)  # warm caches (pack index) outside the timing
        extract = median_time(lambda path=path: (lambda d, f, p: extract_document(p, d, name=path.name))(*read_document(path)),
                              args.rounds)
        read_only = median_time(lambda data=data, fmt=fmt: parse_document(data, fmt), args.rounds)
        text = "\n".join(b.text for b in parse_document(data, fmt).blocks).lower()
        terms = [t.text for t in lex.pi_terms + lex.permission_terms]
        floor = median_time(lambda text=text, terms=terms: [text.count(t) for t in terms], args.rounds)
        print(f"\n{path.name}: {len(data):,} bytes, {len(text):,} characters of text ({fmt})")
        print(f"  piscan read + extract   {extract * 1000:8.1f} ms   (target < 300 ms)")
        print(f"  piscan read only        {read_only * 1000:8.1f} ms")
        print(f"  str.count of every term {floor * 1000:8.1f} ms   ratio extract/floor {extract / floor:5.1f}x")
        if fmt == "pdf":
            for name, peer in _pdf_peers(path):
                t = median_time(peer, max(3, args.rounds // 5))
                print(f"  peer {name:<19}{t * 1000:8.1f} ms   ratio peer/piscan-read {t / read_only:5.1f}x")
    return 0


def _pdf_peers(path: Path) -> list[tuple[str, Callable[[], object]]]:
    peers: list[tuple[str, Callable[[], object]]] = []
    try:
        from pdfminer.high_level import extract_text

        peers.append(("pdfminer.six", lambda: extract_text(str(path))))
    except ImportError:
        pass
    try:
        import pypdf

        peers.append(("pypdf", lambda: [p.extract_text() for p in pypdf.PdfReader(str(path)).pages]))
    except ImportError:
        pass
    return peers


if __name__ == "__main__":
    sys.exit(main())
