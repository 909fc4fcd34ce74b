"""End to end: `piscan scan` on mini-program packages and source trees, through the CLI."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from scanner.cli import main
from scanner.schema import validation_errors
from scanner.testing.corpus import REPO

WXID = "wx6e24c691f9a50e44"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["scan", "-q", *args])
    return code, capsys.readouterr().err


def load(out: Path) -> dict:
    return json.loads((out / "result.json").read_text(encoding="utf-8"))


def test_sample_miniprogram_tree(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = run([str(REPO / "samples" / "miniprogram"), "-o", str(out), "--format", "json,html,sarif"], capsys)
    assert code == 0, err
    result = load(out)
    assert validation_errors(result) == []
    assert result["app"]["platform"] == "wechat-miniprogram"
    rules = {f["rule_id"] for f in result["findings"]}
    assert any(r.startswith("WX-") for r in rules), rules
    located = [u for u in result["facts"]["miniprogram"]["api_uses"] if u["api"] == "getLocation"]
    assert located and "getLocation" not in result["facts"]["miniprogram"]["required_private_infos"]
    assert (out / "report.html").is_file() and (out / "result.sarif").is_file()


def test_encrypted_package_with_wxid(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    pkg = corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg"
    sub = corpus / "wxapkg" / "partyhistory-v18-_packageA_.dec.wxapkg"
    code, err = run([str(pkg), "--wxid", WXID, "--subpackage", str(sub), "-o", str(out)], capsys)
    assert code == 0, err
    result = load(out)
    assert validation_errors(result) == []
    roles = sorted(i["role"] for i in result["provenance"]["inputs"])
    assert roles == ["subpackage", "wxapkg"]
    assert any(p["encrypted"] for p in result["facts"]["miniprogram"]["packages"])
    assert (out / "unpacked").is_dir() and not (out / ".unpacked.partial").exists()


def test_encrypted_package_without_wxid_is_one_line(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = run([str(corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg"), "-o", str(out)], capsys)
    assert code == 3 and "--wxid" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_truncated_package_exits_3_with_one_line(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = run([str(corpus / "wxapkg" / "jamielhf-test1-truncated.wxapkg"), "-o", str(out)], capsys)
    assert code == 3 and "jamielhf-test1-truncated.wxapkg" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not out.exists()


def test_base_library_package_has_no_app_calls(corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code, err = run([str(corpus / "wxapkg" / "zaratustran-wxapp-parser-baselib-test.wxapkg"), "-o", str(out)], capsys)
    assert code == 0, err
    uses = load(out)["facts"]["miniprogram"]["api_uses"]
    assert [u for u in uses if u["owner"]["kind"] == "first_party"] == []


def _wxapkg(entries: list[tuple[str, bytes]]) -> bytes:
    """A plain wxapkg: header (0xBE, info, index length, body length, 0xED), index, bodies."""
    index = struct.pack(">I", len(entries))
    names = [name.encode() for name, _ in entries]
    index_len = 4 + sum(12 + len(n) for n in names)
    offset = 14 + index_len
    body = b""
    for name, (_, data) in zip(names, entries):
        index += struct.pack(">I", len(name)) + name + struct.pack(">II", offset + len(body), len(data))
        body += data
    return struct.pack(">BIIIB", 0xBE, 0, index_len, len(body), 0xED) + index + body


def test_traversal_names_write_nothing_outside(tmp_path: Path, capsys) -> None:
    pkg = tmp_path / "evil.wxapkg"
    pkg.write_bytes(_wxapkg([
        ("/app-config.json", b'{"pages": ["pages/index/index"]}'),
        ("/pages/index/index.js", b"wx.getLocation({})"),
        ("/../../escape.txt", b"owned"),
        ("/../outside/x.js", b"owned"),
    ]))
    out = tmp_path / "out"
    code, err = run([str(pkg), "-o", str(out)], capsys)
    assert code == 0, err
    result = load(out)
    unsafe = sorted(lim["where"] for lim in result["limitations"] if lim["kind"] == "unsafe_path")
    assert unsafe == ["/../../escape.txt", "/../outside/x.js"]
    assert result["complete"] is False
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "outside").exists()
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert all(not name.startswith("..") for name in written)


MINIPROGRAM_INPUTS = [
    ("wxapkg/jamielhf-test.wxapkg", []),
    ("wxapkg/haoduojisuanqi-calculator.wxapkg", []),
    ("wxapkg/tiaoyitiao-minigame.wxapkg", []),
    ("wxapkg/partyhistory-v18-__APP__.dec.wxapkg", ["--subpackage", "wxapkg/partyhistory-v18-_packageA_.dec.wxapkg"]),
    ("miniprogram/umeng-mp-demos-wx", []),
    ("miniprogram/wechat-miniprogram-demo-subset", []),
]


@pytest.mark.corpus
@pytest.mark.parametrize(("name", "extra"), MINIPROGRAM_INPUTS, ids=[n for n, _ in MINIPROGRAM_INPUTS])
def test_every_finding_of_a_corpus_mini_program_shows_its_evidence(name: str, extra: list[str], corpus: Path,
                                                                    tmp_path: Path, capsys) -> None:
    from scanner.model.view import ResultView

    args = [str(corpus / name), "-o", str(tmp_path / "out"), "--category", "38"]
    args += [str(corpus / e) if e.endswith(".wxapkg") else e for e in extra]
    code, err = run(args, capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["findings"], "a corpus mini-program with no finding would not exercise the evidence"
    assert ResultView(result).unresolved() == []
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'class="evidence ev-missing"' not in html
