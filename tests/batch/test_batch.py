"""Batch mode on the real corpus: the store, resume after SIGKILL, hostile inputs, Dask, the overview page."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from scanner.batch.store import STORE_FILE, Store
from scanner.case.bundle import result_difference
from scanner.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "piscan-demo.apk"
SUPERAPP_TOOL = REPO.parent / "shared" / "tools" / "make-superapp.py"


def _statuses(out: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(out / STORE_FILE) as db:
        rows = db.execute("SELECT i.path, s.status, s.error FROM latest_scans s JOIN inputs i USING (sha256)").fetchall()
    return {Path(path).name: (status, error) for path, status, error in rows}


def _bomb(path: Path) -> Path:
    """The sample APK plus a classes2.dex that inflates to 600 MiB (600 KiB on disk)."""
    with zipfile.ZipFile(SAMPLE) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as sink:
        for info in source.infolist():
            sink.writestr(info, source.read(info))
        with sink.open("classes2.dex", "w", force_zip64=True) as dex:
            dex.write(source.read("classes.dex")[:112])
            for _ in range(600):
                dex.write(bytes(1 << 20))
    return path


def test_batch_over_the_corpus_then_hostile_inputs(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    inputs = [str(corpus / "apk"), str(corpus / "miniprogram"), str(corpus / "wxapkg"), str(SAMPLE)]
    assert main(["batch", *inputs, "-o", str(out), "--category", "38", "-j", "2"]) == 1  # two corpus inputs are bad
    first = _statuses(out)
    failed = {name: error for name, (status, error) in first.items() if status == "failed"}
    assert set(failed) == {"jamielhf-test1-truncated.wxapkg", "partyhistory-v18-__APP__.pc-encrypted.wxapkg"}
    assert "PC-encrypted" in str(failed["partyhistory-v18-__APP__.pc-encrypted.wxapkg"])
    assert len(first) >= 28
    for name, (status, _) in first.items():
        if name not in failed:
            assert status in ("complete", "incomplete"), name
            assert (out / "index.html").is_file()
    # every finished app has its own folder with result.json and report.html, named by sha256
    with sqlite3.connect(out / STORE_FILE) as db:
        folders = db.execute("SELECT s.out_dir, i.kind FROM latest_scans s JOIN inputs i USING (sha256) "
                             "WHERE s.status != 'failed'").fetchall()
    for folder, kind in folders:
        assert (out / folder / "result.json").is_file() and (out / folder / "report.html").is_file()
        if kind == "file":  # a mini-program folder's hash is over its file list (docs/batch.md)
            assert json.loads((out / folder / "result.json").read_text())["provenance"]["inputs"][0]["sha256"] == folder

    # a second run adds a scan that does not end and a decompression bomb: recorded, the rest skipped
    if not SUPERAPP_TOOL.is_file():
        pytest.skip("../shared/tools/make-superapp.py (the workplace's benchmark tool) is needed for the slow input")
    slow = tmp_path / "superapp.apk"
    subprocess.run([sys.executable, str(SUPERAPP_TOOL), str(slow), str(corpus / "apk")], check=True, capture_output=True)
    bomb = _bomb(tmp_path / "bomb.apk")
    started = time.monotonic()
    rc = main(["batch", *inputs, str(slow), str(bomb), "-o", str(out), "--category", "38",
               "--time-limit", "2", "--memory-limit", "256"])
    assert rc == 1
    assert time.monotonic() - started < 120
    second = _statuses(out)
    assert second["superapp.apk"][0] == "failed"
    assert "time limit of 2 s exceeded" in str(second["superapp.apk"][1]) or "memory" in str(second["superapp.apk"][1])
    assert second["bomb.apk"][0] != "complete"  # its DEX could not be read within the limit: a limitation or a failure
    with sqlite3.connect(out / STORE_FILE) as db:
        scans = db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
    assert scans == len(first) + 2  # nothing of the first run was scanned again

    # exports and queries
    rows = [json.loads(line) for line in (out / "apps.jsonl").read_text().splitlines()]
    assert len(rows) == len(second)
    assert (out / "apps.csv").read_text().splitlines()[0].startswith("sha256,path,status")
    store = Store(out)
    try:
        umeng = store.query(sdk="umeng")
        assert {"com.ntop.cnzz", "cn.piscan.demo"} <= {r["package"] for r in umeng}
        assert store.query(legal="PIPL")
        assert all(r["package"] for r in store.query(rule="RD-3.1-api-before-ui"))
    finally:
        store.close()


def test_resume_after_sigkill_loses_only_scans_in_flight(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "scanner.cli", "batch", str(corpus / "apk"), "-o", str(out), "-j", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 300
    done = 0
    while done < 3:
        assert time.monotonic() < deadline and process.poll() is None, "the batch ended before it could be killed"
        time.sleep(0.2)
        if (out / STORE_FILE).is_file():
            try:
                with sqlite3.connect(out / STORE_FILE, timeout=5) as db:
                    done = db.execute("SELECT COUNT(*) FROM scans").fetchone()[0]
            except sqlite3.OperationalError:
                continue
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    with sqlite3.connect(out / STORE_FILE) as db:
        before = {r[0] for r in db.execute("SELECT sha256 FROM scans")}
    assert len(before) >= 3
    assert main(["batch", str(corpus / "apk"), "-o", str(out), "-j", "2"]) == 0
    with sqlite3.connect(out / STORE_FILE) as db:
        per_input = db.execute("SELECT sha256, COUNT(*) FROM scans GROUP BY sha256").fetchall()
        total_inputs = db.execute("SELECT COUNT(*) FROM inputs").fetchone()[0]
    assert all(count == 1 for _, count in per_input)  # the scans stored before the kill were not redone
    assert total_inputs == len(per_input) >= 14
    assert not list(out.glob(".*.partial-*"))


def test_dask_local_cluster_fills_the_same_store(corpus: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed", reason="the cluster extra (dask[distributed]) is not installed")
    inputs = [str(corpus / "apk" / "umeng-cnzz-123-tiny.apk"), str(corpus / "apk" / "bugly-hotfix-demo-release.apk"),
              str(corpus / "wxapkg" / "haoduojisuanqi-calculator.wxapkg"), str(SAMPLE)]
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["batch", *inputs, "-o", str(local), "--reproducible"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["batch", *inputs, "-o", str(remote), "--reproducible", "--dask", cluster.scheduler_address]) == 0
    stores = []
    for out in (local, remote):
        store = Store(out)
        try:
            stores.append(dict(store.dump()))
        finally:
            store.close()
    assert stores[0] == stores[1]
    for folder in (p for p in local.iterdir() if p.is_dir()):
        # identical apart from the recorded command, which names the batch folder
        assert result_difference(json.loads((folder / "result.json").read_text()),
                                 json.loads((remote / folder.name / "result.json").read_text())) == []


def test_overview_page_opens_clean_and_sorts_in_chromium(tmp_path: Path, corpus: Path) -> None:
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian package chromium is needed to open the overview headless")
    out = tmp_path / "sweep"
    inputs = [str(corpus / "apk" / "umeng-cnzz-123-tiny.apk"), str(corpus / "apk" / "bugly-hotfix-demo-release.apk"),
              str(SAMPLE), str(corpus / "wxapkg" / "jamielhf-test1-truncated.wxapkg")]
    main(["batch", *inputs, "-o", str(out)])
    html = (out / "index.html").read_text()
    assert "http://" not in html and "https://" not in html and "src=" not in html
    url = (out / "index.html").as_uri() + "#sort=4&desc=1"  # the 高 (high) column, most first
    run = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                          "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    assert 'data-ready="1"' in run.stdout  # the script ran to its end
    assert "Uncaught" not in run.stderr and "Content Security Policy" not in run.stderr
    rows = re.findall(r"<tr data-search=.*?</tr>", run.stdout, flags=re.S)
    highs = [int(re.findall(r'data-sort="(\d+)"', row)[1]) for row in rows]  # sdk count, high, medium, low
    assert highs == sorted(highs, reverse=True) and len(highs) == 4
    assert "批量检测总览" in html and (out / "index.en.html").is_file()
