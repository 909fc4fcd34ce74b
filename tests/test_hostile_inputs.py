"""Issue 15's table of hostile inputs, each run through the real CLI in its own process.

Every case must end with exit 0 and the right limitation (the scan goes on, marked incomplete)
or exit 3 (2 for a rule pack) with one line naming the file; stay under 500 MB of peak RSS and
30 s; and write nothing outside the output folder (the case runs in an empty folder with its own
TMPDIR, and both are listed afterwards). Peak RSS is the child's own VmHWM, read at its exit:
``ru_maxrss`` of a child also counts the forking parent's peak (Linux carries it across exec).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.testing import hostile as h
from scanner.testing.corpus import REPO
from scanner.testing.requirements import skip_unless_runnable

MiB = 1 << 20
MAX_RSS_MB = 500
MAX_SECONDS = 30


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], Path]  #: makes the input inside the given folder, returns its path
    command: tuple[str, ...]  #: the piscan command, with {input} for the input's path
    exit_code: int
    expect: str  #: a limitation kind (exit 0) or a fragment of the one error line
    check: Callable[[dict], object] | None = None  #: more assertions on result.json
    env: tuple[tuple[str, str], ...] = ()  #: budgets set for this case


def _both_dex_copies_scanned(result: dict) -> None:
    names = [row["name"] for row in result["facts"]["dex"]["files"]]
    assert names == ["classes.dex", "classes.dex#2"], names
    assert result["facts"]["api_calls"], "the real classes.dex's call sites must be reported"
    assert {c["dex"] for c in result["facts"]["api_calls"]} == {"classes.dex"}


def _gbk_decoded(result: dict) -> None:
    mp = result["facts"]["miniprogram"]
    assert mp["source_encodings"] == {"gbk.js": "gb18030"}
    assert any(u["api"] == "getLocation" and u["file"] == "gbk.js" for u in mp["api_uses"]), mp["api_uses"]


def _dir(name: str, make: Callable[[Path], Path]) -> Callable[[Path], Path]:
    return lambda root: make(root / name)


CASES: dict[str, Case] = {
    "dex entry inflating to 1 GiB, declared": Case(
        lambda r: h.apk_with(r / "bomb.apk", skip=("classes.dex",), zeros=("classes.dex", 1024 * MiB)),
        ("scan", "{input}"), 0, "over_budget"),
    "classes2.dex declaring 4,016 bytes, inflating to 300 MiB": Case(
        lambda r: h.lie_about_size(h.apk_with(r / "liar.apk", zeros=("classes2.dex", 300 * MiB)), "classes2.dex", 4016),
        ("scan", "{input}"), 0, "dex_unreadable"),
    "300 MiB DEX": Case(
        lambda r: h.apk_with(r / "big.apk", zeros=("classes2.dex", 300 * MiB)),
        ("scan", "{input}"), 0, "over_budget"),
    "XAPK whose base.apk inflates to 1 GiB": Case(
        lambda r: h.xapk_with_bomb_base(r / "bomb.xapk", 1024 * MiB),
        ("scan", "{input}"), 3, "over the budget"),
    "XAPK manifest.json nested 100,000 deep": Case(
        lambda r: h.xapk_with_deep_manifest(r / "deep.xapk"),
        ("scan", "{input}"), 0, ""),
    "wxapkg of 4,000 names sharing one 1 MiB body": Case(
        lambda r: h.wxapkg_shared_body(r / "shared.wxapkg"),
        ("scan", "{input}"), 0, "unsafe_path"),
    "wxapkg app.json nested 100,000 deep": Case(
        lambda r: h.wxapkg_with_app_json(r / "deep.wxapkg", b"[" * 100_000 + b"]" * 100_000),
        ("scan", "{input}"), 0, "entry_unreadable"),
    "folder app.json nested 100,000 deep": Case(
        _dir("mp-deep", lambda p: h.miniprogram_folder(p, app_json=b"{\"a\":" * 100_000 + b"1" + b"}" * 100_000)),
        ("scan", "{input}"), 0, "entry_unreadable"),
    "folder with /dev/zero named pages/a.js": Case(
        _dir("mp-dev", lambda p: h.miniprogram_folder(p, device="pages/a.js")),
        ("scan", "{input}"), 0, "entry_unreadable"),
    "folder with a FIFO named pages/b.js": Case(
        _dir("mp-fifo", lambda p: h.miniprogram_folder(p, fifo="pages/b.js")),
        ("scan", "{input}"), 0, "entry_unreadable"),
    "FIFO given as the APK": Case(
        lambda r: (os.mkfifo(r / "fifo.apk"), r / "fifo.apk")[1],
        ("scan", "{input}"), 3, "a FIFO"),
    "GBK string literal in JS": Case(
        _dir("mp-gbk", lambda p: h.miniprogram_folder(
            p, extra={"gbk.js": "var tip = '获取位置'; wx.getLocation({success: function(){}});".encode("gbk")})),
        ("scan", "{input}"), 0, "", _gbk_decoded),
    "140 kB of deeply nested JS calls": Case(
        _dir("mp-nested", lambda p: h.miniprogram_folder(
            p, extra={"nested.js": b"wx.getLocation(" * 9000 + b")" * 9000})),
        ("scan", "{input}"), 0, ""),
    "DEX string 41 out of range": Case(
        lambda r: h.dex_with_bad_string(r / "badstring.apk"),
        ("scan", "{input}"), 0, "dex_unreadable"),
    "duplicate classes.dex entries": Case(
        lambda r: h.duplicate_dex(r / "dup.apk"),
        ("scan", "{input}"), 0, "zip_ambiguity", _both_dex_copies_scanned),
    "112-byte .mitm declaring 99,999,999,999 bytes": Case(
        lambda r: h.mitm_huge_length(r / "huge.mitm"),
        ("traffic", "analyze", "{input}", "-o", "out/t.json"), 3, "more than the file has left"),
    "tnetstring nested 100,000 deep": Case(
        lambda r: h.deep_tnetstring(r / "deep.mitm"),
        ("traffic", "analyze", "{input}", "-o", "out/t.json"), 3, "not a readable mitmproxy capture"),
    "HAR nested 100,000 deep": Case(
        lambda r: (r / "deep.har").write_bytes(b"{\"log\":" * 100_000 + b"1" + b"}" * 100_000) and r / "deep.har",
        ("traffic", "analyze", "{input}", "-o", "out/t.json"), 3, "nested too deeply"),
    "HAR entry that is a number": Case(
        lambda r: (r / "int.har").write_text('{"log": {"entries": [0]}}') and r / "int.har",
        ("traffic", "analyze", "{input}", "-o", "out/t.json"), 3, "entries[0] is not an object"),
    "200 MiB HAR that is one JSON string": Case(
        lambda r: (r / "string.har").write_bytes(b'"' + b"a" * (200 * MiB) + b'"') and r / "string.har",
        ("traffic", "analyze", "{input}", "-o", "out/t.json"), 3, "over the budget"),
    "billion-laughs rule pack (rules validate)": Case(
        lambda r: h.billion_laughs(r / "laughs.yaml"),
        ("rules", "validate", "{input}"), 2, "alias bomb"),
    "billion-laughs rule pack (scan --rules)": Case(
        lambda r: h.billion_laughs(r / "laughs.yaml"),
        ("scan", str(REPO / "samples" / "piscan-demo.apk"), "--rules", "{input}"), 2, "alias bomb"),
    "YAML device profile nested 100,000 deep": Case(
        lambda r: (r / "deep.yaml").write_bytes(b"[" * 100_000 + b"]" * 100_000) and r / "deep.yaml",
        ("traffic", "analyze", str(REPO / "samples" / "session" / "flows.mitm"), "--device", "{input}",
         "-o", "out/t.json"), 3, "nested more than"),
    "scan over its memory budget": Case(
        lambda r: h.apk_with(r / "app.apk"), ("scan", "{input}"), 3, "out of memory",
        env=(("PISCAN_MAX_MEMORY_BYTES", str(64 * MiB)),)),
    "scan over its time budget": Case(
        lambda r: h.apk_with(r / "app.apk"), ("scan", "{input}"), 3, "longer than its budget",
        # 1 ms: no scan of even the smallest APK ends within it (0.05 s raced a fast CI machine)
        env=(("PISCAN_MAX_SECONDS", "0.001"),)),
    "newline and RTL override in the file name": Case(
        lambda r: (r / "evil\u202etxt.apk\nsecond line").write_bytes(b"not a zip") and r / "evil\u202etxt.apk\nsecond line",
        ("scan", "{input}"), 3, "evil<U+202E>txt.apk\\nsecond line"),
}


_LAUNCHER = """
import atexit, sys
HWM_FILE = sys.argv[1]
def _peak():
    with open(HWM_FILE, "w") as out:
        out.write(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
atexit.register(_peak)
from scanner.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, float, float]:
    """(exit code, stderr, peak RSS in MB, seconds) of the piscan CLI with ARGS in ``cwd``."""
    import time

    err_path = cwd.parent / f"{cwd.name}.stderr"
    hwm_path = cwd.parent / f"{cwd.name}.hwm"
    with open(err_path, "wb") as err, open(os.devnull, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(hwm_path), *args], cwd=cwd, env=env,
                                stdout=out, stderr=err)
        try:
            proc.wait(timeout=MAX_SECONDS * 2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        seconds = time.monotonic() - started
    rss_mb = int(hwm_path.read_text()) / 1024 if hwm_path.exists() else float("inf")
    return proc.returncode, err_path.read_text("utf-8", "replace"), rss_mb, seconds


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    target = case.build(inputs)
    work = tmp_path / "work"
    (work / "tmp").mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(work / "tmp"), **dict(case.env)}
    args = [a.replace("{input}", str(target)) for a in case.command]
    skip_unless_runnable(args)
    if args[0] == "scan":
        args += ["-o", "out", "-f", "json", "-q"]
    code, stderr, rss_mb, seconds = _run(args, work, env)
    assert code == case.exit_code, stderr
    assert rss_mb < MAX_RSS_MB, f"peak RSS {rss_mb:.0f} MB"
    assert seconds < MAX_SECONDS, f"{seconds:.1f} s"
    assert sorted(p.name for p in work.iterdir()) in (["out", "tmp"], ["tmp"]), list(work.iterdir())
    assert list((work / "tmp").iterdir()) == []
    if code == 0:
        assert stderr == ""
        if args[0] == "scan":
            result = json.loads((work / "out" / "result.json").read_text())
            kinds = {lim["kind"] for lim in result["limitations"]}
            if case.expect:
                assert case.expect in kinds, kinds
                assert result["complete"] is False
            if case.check is not None:
                case.check(result)
    elif args[:2] == ["rules", "validate"]:  # its format: file:line: problem lines, then a count
        assert case.expect in stderr and "Traceback" not in stderr, stderr
        assert stderr.splitlines()[0].startswith(str(target)), stderr
    else:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith("piscan: ") and "Traceback" not in stderr
        assert case.expect in lines[0], lines[0]
        assert not (work / "out").exists() or args[0] != "scan"
