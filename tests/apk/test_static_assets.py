"""Endpoint sources from assets and res/raw: text only, capped, damaged entries become limitations."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

import scanner.apk.static as static
from scanner.apk.archive import open_apk
from scanner.apk.labels import ResourceTable
from scanner.apk.static import collect_static, endpoint_sources


def apk_with_assets(tmp_path: Path, sample_apk: Path, entries: dict[str, bytes]) -> Path:
    path = tmp_path / "with-assets.apk"
    shutil.copyfile(sample_apk, path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_text_assets_are_searched_and_binaries_skipped(tmp_path: Path, sample_apk: Path) -> None:
    path = apk_with_assets(tmp_path, sample_apk, {
        "assets/www/app.js": b"var api = 'http://api.example.cn/v1/upload'; // mail ops@example.cn\n",
        "assets/blob.bin": b"\x00\x01http://hidden.example.com/\x00",
        "assets/data.dat": b"https://not-searched.example.com/",  # binary extension
        "res/raw/endpoints.txt": b"wss://push.example.com/ws\n",
    })
    facts = collect_static(open_apk(path))
    rows = {e["value"]: e for e in facts.sections["endpoints"]}
    assert rows["http://api.example.cn/v1/upload"]["sources"] == [{"file": "assets/www/app.js", "kind": "asset"}]
    assert rows["http://api.example.cn/v1/upload"]["cleartext"] is True
    assert rows["ops@example.cn"]["kind"] == "email"
    assert rows["wss://push.example.com/ws"]["sources"] == [{"file": "res/raw/endpoints.txt", "kind": "resource"}]
    assert not any("hidden" in v or "not-searched" in v for v in rows)


def test_oversized_text_asset_is_searched_partly_and_reported(tmp_path: Path, sample_apk: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(static, "ASSET_CAP", 64)
    body = b"https://head.example.com/\n" + b"x" * 100 + b"\nhttps://tail.example.com/\n"
    apk = open_apk(apk_with_assets(tmp_path, sample_apk, {"assets/big.txt": body}))
    limitations: list = []
    sources = endpoint_sources(apk, ResourceTable(apk.apk), limitations)
    big = next(strings for file, kind, strings in sources if file == "assets/big.txt")
    assert big[0] == "https://head.example.com/" and not any("tail" in s for s in big)
    assert [(lim.kind, lim.where) for lim in limitations] == [("not_collected", "assets/big.txt")]


def test_damaged_asset_becomes_a_limitation(tmp_path: Path, sample_apk: Path) -> None:
    path = apk_with_assets(tmp_path, sample_apk, {"assets/config.txt": b"https://cfg.example.com/ " * 200})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("assets/config.txt")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + 16] = b"\xff" * 16  # corrupt the deflate stream
    path.write_bytes(bytes(data))
    facts = collect_static(open_apk(path))
    assert [(lim.kind, lim.where) for lim in facts.limitations] == [("entry_unreadable", "assets/config.txt")]
    assert facts.app["package"] == "cn.piscan.demo"  # everything else is still collected
