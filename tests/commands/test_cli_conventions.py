"""CLI conventions: Ctrl-C exits 130 and SIGTERM 143 (not the usage-error code), with one line and nothing
half-written (a real `piscan review` process stopped at its prompt); `-o -` prints to standard output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.keys import create_key
from scanner.testing.corpus import REPO


@pytest.mark.parametrize(("signum", "code", "line"), [(signal.SIGINT, 130, "piscan: interrupted"),
                                                      (signal.SIGTERM, 143, "piscan: terminated (SIGTERM)")])
def test_a_signal_at_the_prompt_gives_its_own_exit_code(tmp_path: Path, signum: int, code: int, line: str) -> None:
    out = tmp_path / "case"
    assert main(["scan", "-q", str(REPO / "samples" / "piscan-demo.apk"), "-o", str(out), "-f", "json"]) == 0
    key = create_key(tmp_path / "examiner.pem")
    env = {**os.environ, "PISCAN_KEY": str(key.path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "review", str(out / "result.json")], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    seen = ""
    while not re.search(r"(?m)^[A-Z][A-Za-z0-9]*-\S+  ", seen) and time.monotonic() < deadline:
        seen += proc.stdout.readline()  # the first open manual check is named just before the prompt
    time.sleep(0.5)
    proc.send_signal(signum)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == line and "Traceback" not in err
    assert not (out / "review.jsonl").exists()  # no verdict was half-recorded


def test_dash_prints_the_report_to_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "case"
    assert main(["scan", "-q", str(REPO / "samples" / "piscan-demo.apk"), "-o", str(out), "-f", "json"]) == 0
    capsys.readouterr()
    assert main(["report", str(out / "result.json"), "-f", "json", "-o", "-"]) == 0
    printed = capsys.readouterr().out
    assert printed == (out / "result.json").read_text(encoding="utf-8")
    assert not (Path.cwd() / "-").exists()
    assert main(["report", str(out / "result.json"), "-f", "pdf", "-o", "-"]) == 2
