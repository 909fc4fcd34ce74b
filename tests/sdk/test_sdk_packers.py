"""Packer detection on crafted APKs and the packer table's validation (scanner/sdk/packers.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import jsonschema
import pytest

from scanner.apk.archive import open_apk
from scanner.apk.code import load_dex_index
from scanner.errors import UsageError
from scanner.schema import result_schema
from scanner.datapack import parse
from scanner.sdk.packers import PACKERS_KIND, PackerEvidence, detect_packers, load_packers


def _crafted_apk(corpus: Path, tmp_path: Path, extra: dict[str, bytes]) -> Path:
    """Copy the smallest edge APK's entries and add the given ones (a packer's files)."""
    source = min((corpus / "apk" / "edge").glob("*.apk"), key=lambda p: p.stat().st_size)
    out = tmp_path / "packed.apk"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        for name, data in extra.items():
            dst.writestr(name, data)
    return out


def test_jiagu_is_named_from_its_native_library_and_asset(corpus: Path, tmp_path: Path) -> None:
    apk_path = _crafted_apk(corpus, tmp_path, {
        "lib/armeabi-v7a/libjiagu.so": b"\x7fELF stub",
        "assets/libjiagu_a64.so": b"\x7fELF stub",
        "assets/jiagu.dat": b"x",
    })
    apk = open_apk(apk_path)
    index = load_dex_index(apk)
    rows = detect_packers(None, PackerEvidence(entries=apk.entries, class_names=index.class_names()))
    assert rows == [{
        "id": "packer:jiagu_360",
        "packer_id": "jiagu_360",
        "name": "360加固保 (Jiagu)",
        "vendor": "北京鸿享技术服务有限公司 / Qihoo 360",
        "signals": [
            {"kind": "file", "value": "assets/libjiagu_a64.so", "detail": "matches assets/libjiagu[^/]*\\.so"},
            {"kind": "native_lib", "value": "libjiagu.so", "detail": None},
        ],
    }]
    jsonschema.validate(rows, result_schema()["properties"]["facts"]["properties"]["packers"])


def test_legu_and_stub_application_class(corpus: Path, tmp_path: Path) -> None:
    apk_path = _crafted_apk(corpus, tmp_path, {"lib/arm64-v8a/libshella-4.1.0.29.so": b"x", "assets/0OO00l111l1l": b"x"})
    apk = open_apk(apk_path)
    rows = detect_packers(None, PackerEvidence(entries=apk.entries, application_class="com.tencent.StubShell.TxAppEntry"))
    assert [r["packer_id"] for r in rows] == ["tencent_legu"]
    assert {(s["kind"], s["value"]) for s in rows[0]["signals"]} == {
        ("native_lib", "libshella-4.1.0.29.so"), ("file", "assets/0OO00l111l1l"), ("class", "com.tencent.StubShell.TxAppEntry"),
    }
    app_signal = [s for s in rows[0]["signals"] if s["kind"] == "class"][0]
    assert app_signal["detail"] == "the manifest's application class"


def test_min_signals_rule_needs_two_dexprotector_files() -> None:
    one = detect_packers(None, PackerEvidence(entries=["assets/dp.mp3"]))
    assert one == []
    two = detect_packers(None, PackerEvidence(entries=["assets/dp.mp3", "assets/dp.arm-v7.so.dat"]))
    assert [r["packer_id"] for r in two] == ["dexprotector"]


@pytest.mark.parametrize("apk_name", ["umeng-crossweather-qwe.apk", "jpush-hbuilder-hello.apk", "getactivity-androidproject-2019-09.apk"])
def test_unpacked_corpus_apps_have_no_packer(corpus: Path, apk_name: str) -> None:
    apk = open_apk(corpus / "apk" / apk_name)
    index = load_dex_index(apk)
    assert detect_packers(None, PackerEvidence(entries=apk.entries, class_names=index.class_names())) == []


def test_shipped_table_covers_the_main_chinese_packers() -> None:
    table = load_packers()
    ids = {p.id for p in table.packers}
    assert {"jiagu_360", "tencent_legu", "bangcle", "secneo", "ijiami", "baidu_protect", "alibaba_mobisec", "netease_yidun", "naga", "apkprotect", "kiwi", "dexprotector"} <= ids
    assert len(table.sha256) == 64
    assert table.provenance_row() == {"pack_id": "piscan-packers", "kind": "packers", "version": table.version, "sha256": table.sha256}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("packers: []", ":1: (pack): missing required key 'version'"),
        ("version: '1'\npackers: [{id: a, name: A, signals: []}]", ":2: packers[0].signals: must not be empty"),
        ("version: '1'\npackers: [{id: a, name: A, signals: [{telepathy: x}]}]",
         ":2: packers[0].signals[0].telepathy: unknown key; valid keys: class, file, native_lib"),
        ("version: '1'\npackers: [{id: a, name: A, signals: [{file: 're:('}]}]", ":2: packers[0].signals[0].file: bad regular expression"),
        ("version: '1'\npackers:\n- {id: a, name: A, signals: [{file: x}]}\n- {id: a, name: B, signals: [{file: y}]}",
         ":4: packers[1].id: duplicate id 'a'"),
        ("version: '1'\npackers: [", ":2: (yaml): not valid YAML"),
    ],
)
def test_parse_packers_errors(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "packers.yaml"
    with pytest.raises(UsageError) as info:
        parse(PACKERS_KIND, text, path)
    assert info.value.path == str(path)
    assert info.value.line().startswith(str(path) + message)


def test_sdk_evidence_is_accepted_with_the_shipped_table() -> None:
    from scanner.sdk.detect import SdkEvidence

    ev = SdkEvidence(
        class_names=["com.secneo.apkwrapper.ApplicationWrapper", "com.example.Main"],
        native_libs=["libDexHelper.so"],
        asset_names=["assets/classes0.jar", "assets/index.html"],
    )
    rows = detect_packers(ev)
    assert [r["packer_id"] for r in rows] == ["secneo"]
    assert {(s["kind"], s["value"]) for s in rows[0]["signals"]} == {
        ("class", "com.secneo.apkwrapper.ApplicationWrapper"), ("file", "assets/classes0.jar"), ("native_lib", "libDexHelper.so"),
    }
    assert detect_packers(load_packers(), ev) == rows
