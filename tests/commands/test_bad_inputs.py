"""Every command on bad input: one line on stderr naming the file, a documented exit code, nothing written.

The table drives ``scanner.cli.main`` (no subprocess, no mocks) from inside a scratch folder that
holds the bad files, so the relative file names in the arguments are what the error line must
show, and any file or folder the command leaves behind shows up in the folder listing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.result import dumps
from scanner.testing.samples import sample_result
from scanner.testing.corpus import REPO
from scanner.testing.requirements import needs_mitmproxy, skip_unless_runnable

SAMPLE_APK = REPO / "samples" / "piscan-demo.apk"
SAMPLE_SESSION = REPO / "samples" / "session"


def _result_with(change: Callable[[dict], None]) -> str:
    result = sample_result()
    change(result)
    return dumps(result)


def _make_bad_files(root: Path) -> None:
    """The bad inputs every case picks from (names are what the error lines must show)."""
    apk = SAMPLE_APK.read_bytes()
    flows = (SAMPLE_SESSION / "flows.mitm").read_bytes()
    files: dict[str, bytes | str] = {
        "empty.apk": b"",
        "garbage.apk": bytes(range(256)) * 8,
        "truncated.apk": apk[: len(apk) // 2],
        "bad-magic.wxapkg": b"\xbe" + bytes(100),
        "not-a-result.json": '{"a": 1}',
        "list.json": "[1, 2]",
        "wrong-type.json": _result_with(lambda r: r.update(findings="oops")),
        "no-summary.json": _result_with(lambda r: r.pop("summary")),
        "good-result.json": dumps(sample_result()),
        "existing": "keep me",
        "empty.mitm": b"",
        "garbage.mitm": bytes(range(256)) * 8,
        "truncated.mitm": flows[:50],  # cut inside its first record: nothing readable
        "cut-off.mitm": flows[: len(flows) // 2],  # complete flows, then a cut-off record
        "empty.har": b"",
        "truncated.har": '{"log": {"entries": [{"request"',
        "log-is-a-number.har": '{"log": 5}',
        "profile.yaml": "::: not a profile [",
        "broken-yaml.yaml": "id: x\nrules: [\n",
        "marks-garbage.jsonl": b"\x00\x01 not json\n",
    }
    for name, content in files.items():
        path = root / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    (root / "a-folder").mkdir()
    (root / "empty-folder").mkdir()
    (root / "no-session").mkdir()
    (root / "no-session" / "notes.txt").write_text("not a session", encoding="utf-8")
    (root / "broken-pack").mkdir()
    (root / "broken-pack" / "p.yaml").write_text("pack:\n  id: x\n  bogus: 1\nrules: []\n", encoding="utf-8")
    (root / "report.html-folder").mkdir()
    (root / "report.html-folder" / "report.html").mkdir()


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def bad_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    _make_bad_files(root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("PISCAN_SESSION", raising=False)
    return root


APK = str(SAMPLE_APK)
FLOWS = str(SAMPLE_SESSION / "flows.mitm")

# (id, argv, exit code, the file or option named in the line, the problem named in the line)
CASES: list[tuple[str, list[str], int, str, str]] = [
    # piscan scan
    ("scan-missing", ["scan", "missing.apk", "-o", "out"], 3, "missing.apk", "no such file"),
    ("scan-folder", ["scan", "a-folder", "-o", "out"], 3, "a-folder", "is a directory"),
    ("scan-empty", ["scan", "empty.apk", "-o", "out"], 3, "empty.apk", "empty file"),
    ("scan-garbage", ["scan", "garbage.apk", "-o", "out"], 3, "garbage.apk", "not a zip archive"),
    ("scan-truncated-zip", ["scan", "truncated.apk", "-o", "out"], 3, "truncated.apk", "truncated or damaged zip"),
    ("scan-bad-wxapkg", ["scan", "bad-magic.wxapkg", "-o", "out"], 3, "bad-magic.wxapkg", "not a wxapkg"),
    ("scan-out-is-file", ["scan", APK, "-o", "existing"], 2, "existing", "is a file"),
    ("scan-out-under-file", ["scan", APK, "-o", "existing/sub"], 2, "existing/sub", "existing is a file"),
    ("scan-out-report-is-folder", ["scan", APK, "-o", "report.html-folder"], 2, "report.html", "is a folder"),
    ("scan-unknown-format", ["scan", APK, "-o", "out", "--format", "docx"], 2, "--format", "unknown format 'docx'"),
    ("scan-unknown-lang", ["scan", APK, "-o", "out", "--lang", "fr"], 2, "--lang", "'fr' is not one of"),
    ("scan-unknown-category", ["scan", APK, "-o", "out", "--category", "no-such-type"], 2, "no-such-type",
     "unknown app category"),
    ("scan-broken-pack-dir", ["scan", APK, "-o", "out", "--rules", "broken-pack"], 2, "broken-pack/p.yaml:1: pack:",
     "missing required key 'version'"),
    ("scan-broken-pack-yaml", ["scan", APK, "-o", "out", "--rules", "broken-yaml.yaml"], 2, "broken-yaml.yaml:3: (yaml):",
     "not valid YAML"),
    ("scan-rules-missing", ["scan", APK, "-o", "out", "--rules", "missing-packs"], 2, "missing-packs", "no such folder"),
    ("scan-rules-empty-dir", ["scan", APK, "-o", "out", "--rules", "empty-folder"], 2, "empty-folder", "no rule packs"),
    ("scan-rules-not-yaml", ["scan", APK, "-o", "out", "--rules", "good-result.json"], 2, "good-result.json",
     "not a rule pack"),
    ("scan-disable-unknown", ["scan", APK, "-o", "out", "--disable", "NOPE-1"], 2, "--disable NOPE-1", "no such rule"),
    ("scan-session-not-session", ["scan", APK, "-o", "out", "--session", "no-session"], 3, "no-session",
     "not a PIScan session"),
    ("scan-session-missing", ["scan", APK, "-o", "out", "--session", "missing-session"], 3, "missing-session",
     "not a PIScan session"),
    ("scan-session-is-file", ["scan", APK, "-o", "out", "--session", "existing"], 3, "existing", "is a file"),
    ("scan-subpackage-missing", ["scan", APK, "-o", "out", "--subpackage", "missing.wxapkg"], 3, "missing.wxapkg",
     "no such file"),
    ("scan-pdf-without-chromium", ["scan", APK, "-o", "out", "-f", "json,pdf"], 2, "--format pdf",
     "install the Debian package `chromium`"),
    # piscan report
    ("report-missing", ["report", "missing.json", "-o", "out.html"], 3, "missing.json", "no such file"),
    ("report-folder", ["report", "a-folder", "-o", "out.html"], 3, "a-folder", "is a directory"),
    ("report-empty", ["report", "empty.apk", "-o", "out.html"], 3, "empty.apk", "empty file"),
    ("report-garbage", ["report", "garbage.apk", "-o", "out.html"], 3, "garbage.apk", "not a PIScan result"),
    ("report-other-json", ["report", "not-a-result.json", "-o", "out.html"], 3, "not-a-result.json",
     "not a PIScan result"),
    ("report-json-list", ["report", "list.json", "-o", "out.html"], 3, "list.json", "not a PIScan result"),
    ("report-schema-type", ["report", "wrong-type.json", "-o", "out.html"], 3, "wrong-type.json",
     "findings: 'oops' is not of type 'array'"),
    ("report-schema-type-sarif", ["report", "wrong-type.json", "-f", "sarif", "-o", "out.sarif"], 3, "wrong-type.json",
     "not a valid PIScan result"),
    ("report-schema-missing-key", ["report", "no-summary.json", "-o", "out.html"], 3, "no-summary.json",
     "'summary' is a required property"),
    ("report-out-is-folder", ["report", "good-result.json", "-o", "a-folder"], 2, "a-folder", "is a directory"),
    ("report-out-under-file", ["report", "good-result.json", "-o", "existing/r.html"], 2, "existing/r.html",
     "existing is a file"),
    ("report-unknown-format", ["report", "good-result.json", "-f", "docx", "-o", "out.html"], 2, "--format",
     "'docx' is not one of"),
    ("report-unknown-lang", ["report", "good-result.json", "--lang", "fr", "-o", "out.html"], 2, "--lang",
     "'fr' is not one of"),
    ("report-no-output", ["report", "good-result.json"], 2, "--output", "Missing option"),
    # piscan traffic analyze
    ("traffic-missing", ["traffic", "analyze", "missing.mitm"], 3, "missing.mitm", "no such file"),
    ("traffic-folder", ["traffic", "analyze", "a-folder"], 3, "a-folder", "is a directory"),
    ("traffic-empty-mitm", ["traffic", "analyze", "empty.mitm"], 3, "empty.mitm", "empty file"),
    ("traffic-garbage-mitm", ["traffic", "analyze", "garbage.mitm"], 3, "garbage.mitm",
     "not a readable mitmproxy capture"),
    ("traffic-truncated-mitm", ["traffic", "analyze", "truncated.mitm"], 3, "truncated.mitm",
     "not a readable mitmproxy capture"),
    ("traffic-empty-har", ["traffic", "analyze", "empty.har"], 3, "empty.har", "empty file"),
    ("traffic-truncated-har", ["traffic", "analyze", "truncated.har"], 3, "truncated.har", "not a HAR file"),
    ("traffic-har-bad-log", ["traffic", "analyze", "log-is-a-number.har"], 3, "log-is-a-number.har", "not a HAR file"),
    ("traffic-bad-profile", ["traffic", "analyze", FLOWS, "--device", "profile.yaml"], 3, "profile.yaml", "unknown key"),
    ("traffic-missing-profile", ["traffic", "analyze", FLOWS, "--device", "missing.yaml"], 3, "missing.yaml",
     "no such file"),
    ("traffic-bad-apk", ["traffic", "analyze", FLOWS, "--apk", "garbage.apk"], 3, "garbage.apk", "not an APK"),
    ("traffic-bad-marks", ["traffic", "analyze", FLOWS, "--marks", "marks-garbage.jsonl"], 3, "marks-garbage.jsonl",
     "not a valid marks log"),
    ("traffic-out-under-file", ["traffic", "analyze", FLOWS, "-o", "existing/t.json"], 2, "existing/t.json",
     "existing is a file"),
    ("traffic-out-is-folder", ["traffic", "analyze", FLOWS, "-o", "a-folder"], 2, "a-folder", "is a directory"),
    # piscan verify
    ("verify-missing", ["verify", "missing-session"], 3, "missing-session", "not a PIScan session"),
    ("verify-file", ["verify", "existing"], 3, "existing", "is a file"),
    ("verify-empty-folder", ["verify", "empty-folder"], 3, "empty-folder", "not a PIScan session"),
    # piscan device init
    ("device-init-existing", ["device", "init", "existing"], 2, "existing", "already exists; use --force"),
    ("device-init-folder", ["device", "init", "a-folder"], 2, "a-folder", "is a directory"),
    ("device-init-under-file", ["device", "init", "existing/p.yaml"], 2, "existing/p.yaml", "existing is a file"),
    # piscan mark
    ("mark-no-session", ["mark", "consent", "--session", "missing-session"], 2, "missing-session",
     "not a PIScan session"),
    ("mark-not-session", ["mark", "consent", "--session", "empty-folder"], 2, "empty-folder", "start `piscan proxy"),
    ("mark-session-is-file", ["mark", "consent", "--session", "existing"], 2, "existing", "is a file"),
    # piscan proxy (fails before mitmdump starts)
    ("proxy-bad-profile", ["proxy", "--device", "profile.yaml", "--session", "s"], 3, "profile.yaml", "unknown key"),
    ("proxy-missing-profile", ["proxy", "--device", "missing.yaml", "--session", "s"], 3, "missing.yaml",
     "no such file"),
    ("proxy-bad-apk", ["proxy", "--apk", "garbage.apk", "--session", "s"], 3, "garbage.apk", "not an APK"),
    ("proxy-session-is-file", ["proxy", "--session", "existing"], 2, "existing", "is a file"),
    # piscan rules
    ("rules-validate-missing", ["rules", "validate", "missing-packs"], 2, "missing-packs", "no such folder"),
    ("rules-validate-file", ["rules", "validate", "good-result.json"], 2, "good-result.json", "not a rule pack"),
    ("rules-validate-empty", ["rules", "validate", "empty-folder"], 2, "empty-folder", "no rule packs"),
    ("rules-test-missing", ["rules", "test", "missing-packs"], 2, "missing-packs", "no such folder"),
    ("rules-test-file", ["rules", "test", "good-result.json"], 2, "good-result.json", "not a rule pack"),
    ("rules-test-empty", ["rules", "test", "empty-folder"], 2, "empty-folder", "no rule packs"),
    ("rules-test-broken", ["rules", "test", "broken-pack"], 2, "broken-pack/p.yaml:1: pack:",
     "missing required key 'version'"),
    ("rules-list-broken", ["rules", "list", "--rules", "broken-pack"], 2, "broken-pack/p.yaml", "missing required key"),
    ("rules-show-unknown", ["rules", "show", "NO-SUCH-RULE"], 2, "NO-SUCH-RULE", "no rule"),
    ("rules-list-unknown-pack", ["rules", "list", "--pack", "nope"], 2, "--pack nope", "no such pack"),
    # piscan sdks
    ("sdks-show-unknown", ["sdks", "show", "wechat-opensdk"], 2, "wechat-opensdk", "did you mean: wechat_opensdk"),
    ("sdks-list-unknown-category", ["sdks", "list", "--category", "nope"], 2, "nope", "unknown category"),
    ("sdks-match-missing", ["sdks", "match", "missing.apk"], 3, "missing.apk", "no such file"),
    ("sdks-match-folder", ["sdks", "match", "a-folder"], 3, "a-folder", "is a directory"),
    ("sdks-match-empty", ["sdks", "match", "empty.apk"], 3, "empty.apk", "empty file"),
    ("sdks-match-json", ["sdks", "match", "good-result.json"], 3, "good-result.json", "not a zip archive"),
    ("sdks-match-truncated", ["sdks", "match", "truncated.apk"], 3, "truncated.apk", "truncated or damaged zip"),
    # the group itself
    ("unknown-command", ["scna", APK], 2, "scna", "No such command"),
    ("unknown-subcommand", ["rules", "lst"], 2, "lst", "No such command"),
]


@pytest.mark.parametrize(("argv", "code", "names", "problem"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_writes_nothing(
    argv: list[str], code: int, names: str, problem: str, bad_dir: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PISCAN_CHROMIUM", "/nonexistent/chromium")  # only the pdf case renders with it
    skip_unless_runnable(argv)
    before = _listing(bad_dir)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("piscan: ")
    assert names in lines[0] and problem in lines[0], lines[0]
    assert _listing(bad_dir) == before


UNWRITABLE = Path("/sys/piscan-cannot-write-here")


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(),
                    reason="needs /sys (sysfs), where no one can create files")
@pytest.mark.parametrize(
    "argv",
    [
        ["report", "good-result.json", "-o", f"{UNWRITABLE}/r.html"],
        ["traffic", "analyze", FLOWS, "-o", f"{UNWRITABLE}.json"],
        ["device", "init", f"{UNWRITABLE}.yaml"],
        ["scan", APK, "-o", str(UNWRITABLE), "-q"],
    ],
    ids=["report", "traffic-analyze", "device-init", "scan"],
)
def test_unwritable_output_is_a_usage_error(argv: list[str], bad_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skip_unless_runnable(argv)
    before = _listing(bad_dir)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(UNWRITABLE) in err and "cannot write" in err, err
    assert not UNWRITABLE.exists()
    assert _listing(bad_dir) == before


def test_failed_render_keeps_the_old_results_and_creates_no_folder(
    bad_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real renderer failure after the scan (a "Chromium" that exits at once) writes nothing."""
    fake_chromium = shutil.which("false")
    assert fake_chromium is not None
    monkeypatch.setenv("PISCAN_CHROMIUM", fake_chromium)
    old = bad_dir / "old-case"
    old.mkdir()
    (old / "result.json").write_text("earlier result", encoding="utf-8")
    before = _listing(bad_dir)
    for out in ("old-case", "new-case/nested"):
        code = main(["scan", APK, "-o", out, "-f", "json,html,pdf"])
        err = capsys.readouterr().err
        assert code not in (0, 1) and len(err.splitlines()) == 1 and fake_chromium in err, err
    assert _listing(bad_dir) == before
    assert (old / "result.json").read_text(encoding="utf-8") == "earlier result"


def test_device_init_refuses_to_clobber_then_force_overwrites(bad_dir: Path, capsys) -> None:
    profile = bad_dir / "existing"
    assert main(["device", "init", "existing"]) == 2
    assert profile.read_text(encoding="utf-8") == "keep me"
    assert main(["device", "init", "existing", "--force"]) == 0
    assert "imei" in profile.read_text(encoding="utf-8")
    assert "wrote existing" in capsys.readouterr().out


@needs_mitmproxy
def test_traffic_analyze_keeps_the_complete_flows_of_a_cut_off_capture(bad_dir: Path, capsys) -> None:
    """A proxy killed mid-write leaves a cut-off last record: the complete flows are analysed."""
    assert main(["traffic", "analyze", "cut-off.mitm", "-o", "out.json"]) == 0
    doc = json.loads((bad_dir / "out.json").read_text(encoding="utf-8"))
    assert doc["complete"] is False
    cut = [lim for lim in doc["limitations"] if lim["kind"] == "entry_unreadable"]
    assert len(cut) == 1 and "incomplete record after flow" in cut[0]["detail"]
    assert cut[0]["where"] == "cut-off.mitm"
    assert doc["traffic"]["observations"], "the complete flows before the cut are analysed"


def test_verify_reports_a_torn_last_line_as_not_sealed(bad_dir: Path, capsys) -> None:
    """A process killed mid-write leaves a torn last line: reported as not sealed, never as OK."""
    session = bad_dir / "killed"
    shutil.copytree(SAMPLE_SESSION, session)
    with open(session / "marks.jsonl", "ab") as handle:
        handle.write(b'{"seq": 9, "ti')
    assert main(["verify", "killed"]) == 3
    out = capsys.readouterr().out
    assert "NOT SEALED: marks.jsonl line 3: incomplete last line (cut off by a crash): not sealed" in out


@needs_mitmproxy
def test_traffic_analyze_accepts_torn_marks(bad_dir: Path, capsys) -> None:
    session = bad_dir / "killed"
    shutil.copytree(SAMPLE_SESSION, session)
    with open(session / "marks.jsonl", "ab") as handle:
        handle.write(b'{"seq": 9, "ti')
    assert main(["traffic", "analyze", FLOWS, "--marks", "killed/marks.jsonl"]) == 0
    doc = json.loads(capsys.readouterr().out)
    phases = sorted({obs["phase"] for obs in doc["traffic"]["observations"]})
    assert phases == ["after_consent", "background", "before_consent"]


def test_scan_output_folder_is_created_only_on_success(bad_dir: Path, capsys) -> None:
    assert main(["scan", APK, "-o", "deep/case-1", "-q", "--reproducible", "-f", "json"]) == 0
    assert _listing(bad_dir / "deep") == ["case-1", "case-1/result.json"]
    result = json.loads((bad_dir / "deep" / "case-1" / "result.json").read_text(encoding="utf-8"))
    assert result["app"]["package"] == "cn.piscan.demo"
    assert capsys.readouterr().err == ""


@pytest.mark.corpus
@needs_mitmproxy
def test_real_files_of_the_wrong_kind_are_refused_in_one_line(
    corpus: Path, bad_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real mini-program packages given to `sdks match`, a real capture given to `report`, a real
    APK given to `traffic analyze`: each is refused with exit 3 and one line naming the file."""
    wrong_kind = [
        *[(["sdks", "match", str(p)], p, "not a zip archive") for p in sorted((corpus / "wxapkg").glob("*.wxapkg"))],
        *[(["report", str(p), "-o", "r.html"], p, "not a PIScan result")
          for p in sorted((corpus / "traffic").glob("*.mitm"))],
        *[(["traffic", "analyze", str(p)], p, "not a readable mitmproxy capture")
          for p in sorted((corpus / "apk").glob("*.apk"))[:3]],
    ]
    assert len(wrong_kind) >= 5
    before = _listing(bad_dir)
    for argv, path, problem in wrong_kind:
        assert main(argv) == 3, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and problem in err and "Traceback" not in err, err
    assert _listing(bad_dir) == before
