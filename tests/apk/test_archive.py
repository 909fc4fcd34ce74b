"""open_apk: bad inputs become one-line InputErrors; bundles open their base APK; edge files."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from scanner.testing.corpus import REPO, apk_params, corpus_edge_apks
from scanner.apk.archive import ApkInput, open_apk
from scanner.errors import InputError
from scanner.hashing import digest_file


def _write(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_opens_the_sample_apk(sample_apk: Path) -> None:
    apk = open_apk(sample_apk)
    assert isinstance(apk, ApkInput)
    assert apk.apk.get_package() == "cn.piscan.demo"
    assert apk.digests == digest_file(sample_apk)
    assert apk.note is None
    assert "AndroidManifest.xml" in apk.entries and list(apk.entries) == sorted(apk.entries)
    assert apk.read("AndroidManifest.xml")[:2] == b"\x03\x00"  # binary XML chunk type
    assert apk.has("classes.dex") and not apk.has("nope.txt")


def test_read_of_a_missing_entry_is_an_input_error(sample_apk: Path) -> None:
    apk = open_apk(sample_apk)
    with pytest.raises(InputError, match=r"cannot read entry 'assets/none\.txt'"):
        apk.read("assets/none.txt")


def _bad_inputs(tmp: Path) -> list[tuple[Path, str]]:
    good = (REPO / "samples" / "piscan-demo.apk").read_bytes()
    (tmp / "empty.apk").write_bytes(b"")
    (tmp / "text.apk").write_bytes(b"hello, not an apk\n" * 4)
    (tmp / "truncated.apk").write_bytes(good[: len(good) // 2])
    (tmp / "cut-tail.apk").write_bytes(good[:-8])
    _write(tmp / "nomanifest.apk", {"classes.dex": b"dex\n035\x00"})
    _write(tmp / "badxml.apk", {"AndroidManifest.xml": b"\x03\x00\x08\x00" + b"garbage!" * 8})
    _write(tmp / "textxml.apk", {"AndroidManifest.xml": b'<manifest package="a.b"/>'})
    _write(tmp / "emptybundle.xapk", {"manifest.json": b"{}", "icon.png": b"\x89PNG"})
    (tmp / "folder.apk").mkdir()
    return [
        (tmp / "missing.apk", "no such file"),
        (tmp / "folder.apk", "is a directory"),
        (tmp / "empty.apk", "empty file, not a zip"),
        (tmp / "text.apk", "not a zip archive"),
        (tmp / "truncated.apk", "truncated or damaged zip"),
        (tmp / "cut-tail.apk", "truncated or damaged zip"),
        (tmp / "nomanifest.apk", "no AndroidManifest.xml"),
        (tmp / "badxml.apk", "corrupt binary XML"),
        (tmp / "textxml.apk", "corrupt binary XML"),
        (tmp / "emptybundle.xapk", "no base APK"),
    ]


def test_bad_inputs_raise_one_line_input_errors(tmp_path: Path) -> None:
    for path, message in _bad_inputs(tmp_path):
        with pytest.raises(InputError) as info:
            open_apk(path)
        line = info.value.line()
        assert message in line, (path.name, line)
        assert line.startswith(str(path)) and "\n" not in line
        assert isinstance(info.value, ValueError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file, so permission denial cannot be staged")
def test_unreadable_file(tmp_path: Path, sample_apk: Path) -> None:
    locked = tmp_path / "locked.apk"
    locked.write_bytes(sample_apk.read_bytes())
    locked.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        open_apk(locked)


@pytest.mark.parametrize("base_name", ["base.apk", "cn.piscan.demo.apk"])
def test_bundle_opens_its_base_apk(tmp_path: Path, sample_apk: Path, base_name: str) -> None:
    bundle = _write(tmp_path / "app.xapk", {
        "manifest.json": b'{"package_name": "cn.piscan.demo"}',
        base_name: sample_apk.read_bytes(),
        "config.arm64_v8a.apk": b"PK\x05\x06" + b"\x00" * 18,
    })
    apk = open_apk(bundle)
    assert apk.note == f"base APK {base_name!r} of an XAPK bundle, with 1 split APK(s)"  # the config split is read too
    assert apk.apk.get_package() == "cn.piscan.demo"
    assert apk.digests == digest_file(bundle)  # the file the user gave, not the inner APK
    assert apk.path == bundle


def test_apks_bundle_and_apk_inside_an_apk(tmp_path: Path, sample_apk: Path) -> None:
    apks = _write(tmp_path / "app.apks", {"base.apk": sample_apk.read_bytes(), "split_config.xxhdpi.apk": b"x"})
    assert open_apk(apks).note == "base APK 'base.apk' of an APKS bundle"
    nested = _write(tmp_path / "nested.apk", {"base.apk": sample_apk.read_bytes()})
    assert open_apk(nested).note == "base APK 'base.apk' of an APK bundle"


def test_bundle_whose_base_is_not_an_apk(tmp_path: Path) -> None:
    bundle = _write(tmp_path / "app.apks", {"base.apk": b"not a zip at all"})
    with pytest.raises(InputError, match="not a zip archive"):
        open_apk(bundle)


def test_androguard_is_silent(sample_apk: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # a manifest-less zip makes androguard log a warning; none of it may reach stderr
    _write(tmp_path / "nomanifest.apk", {"a.txt": b"x"})
    with pytest.raises(InputError):
        open_apk(tmp_path / "nomanifest.apk")
    open_apk(sample_apk).apk.get_app_name()
    assert capfd.readouterr().err == ""


EXPECTED_EDGE = {
    # file: package when it opens (all edge files of the corpus are valid APKs)
    "duplicate.permisssions_9999999.apk": "duplicate.permisssions",
    "issue-1128-poc1.apk": "android.appsecurity.cts.tinyapp",
    "janus.apk": "com.example",
    "no_targetsdk_minsdk1_unsigned.apk": "org.fdroid.ci",
    "souch.smsbypass_9.apk": "souch.smsbypass",
    "v2.only.sig_2.apk": "v2.only.sig",
}


@pytest.mark.corpus
@pytest.mark.parametrize("path", apk_params(corpus_edge_apks()))
def test_edge_files_open_or_fail_cleanly(path: Path) -> None:
    try:
        apk = open_apk(path)
    except InputError as exc:
        assert path.name not in EXPECTED_EDGE, exc.line()
        assert "\n" not in exc.line() and str(path) in exc.line()
        return
    assert apk.apk.get_package() == EXPECTED_EDGE[path.name]
    assert apk.digests["size"] == path.stat().st_size
