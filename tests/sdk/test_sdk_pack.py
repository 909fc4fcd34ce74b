"""The SDK knowledge pack: size, provenance, vocabulary, reproducible build, loader errors."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from scanner.errors import UsageError
from scanner.pi import vocabulary
from scanner.resources import rules_dir
from scanner.sdk.pack import SOURCES, load_sdk_pack, pack_sha256

PACK_DIR = rules_dir() / "sdks"


@pytest.fixture(scope="module")
def pack():
    return load_sdk_pack()


def test_pack_size_and_chinese_coverage(pack) -> None:
    assert pack.id == "piscan-sdks"
    assert len(pack) >= 600
    chinese = [s for s in pack.sdks if s.origin == "cn"]
    assert len(chinese) >= 200
    # the Chinese SDKs the public lists miss are in, with their operating entity
    expected_vendors = {
        "getui": "每日互动股份有限公司",
        "gdt": "深圳市腾讯计算机系统有限公司",
        "xiaomi_push": "北京小米移动软件有限公司",
        "oppo_push": "广东欢太科技有限公司",
        "vivo_push": "维沃移动通信有限公司",
        "meizu_push": "珠海市魅族通讯设备有限公司",
        "honor_push": "荣耀终端有限公司",
        "huawei_push": "华为软件技术有限公司",
        "kuaishou_ads": "北京快手广告有限公司",
        "alibaba_utdid": "阿里巴巴（中国）有限公司",
        "sharesdk": "上海游昆信息技术有限公司",
        "weibo_sdk": "北京微梦创科网络技术有限公司",
        "iflytek": "科大讯飞股份有限公司",
        "cmcc_onetap": "中移互联网有限公司",
        "sensorsdata": "神策网络科技（北京）有限公司",
        "growingio": "北京易数科技有限公司",
        "talkingdata": "北京腾云天下科技有限公司",
        "shumei": "北京数美时代科技有限公司",
        "tongdun": "同盾科技有限公司",
        "jpush": "深圳市和讯华谷信息技术有限公司",
    }
    for sdk_id, entity in expected_vendors.items():
        rec = pack.get(sdk_id)
        assert rec is not None, sdk_id
        assert rec.vendor_zh == entity, sdk_id
        assert rec.origin == "cn"


def test_every_record_has_provenance_and_valid_fields(pack) -> None:
    vocab = vocabulary()
    ids = [s.id for s in pack.sdks]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids)
    for rec in pack.sdks:
        assert rec.provenance, rec.id
        assert set(rec.provenance) <= set(SOURCES)
        assert rec.signatures, rec.id
        for sig in rec.signatures:
            assert sig.sources and set(sig.sources) <= set(rec.provenance), (rec.id, sig.value)
        for pi in rec.pi_types:
            assert pi in vocab, (rec.id, pi)


def test_known_records_merge_every_source(pack) -> None:
    umeng = pack.get("umeng_analytics")
    assert set(umeng.provenance) == {"apk-analyzer", "appscan", "curated", "libchecker"}
    by_value = {s.value: s for s in umeng.signatures}
    assert by_value["com.umeng.analytics"].sources == ("appscan", "curated")
    assert by_value["UMENG_APPKEY"].kind == "meta_data"
    bugly = pack.get("bugly")
    libs = {s.value: s.sources for s in bugly.of_kind("native_lib")}
    assert "libchecker" in libs["libBugly.so"]
    # the generic com.bytedance namespace is never Pangle's
    pangle = pack.get("pangle")
    assert "com.bytedance" not in {s.value for s in pangle.of_kind("code_prefix")}
    assert "com.bytedance.sdk.openadsdk" in {s.value for s in pangle.of_kind("code_prefix")}
    # AppScan files cn.jiguang under JPush; the curated record rejects it (JMLink etc. share it)
    assert "cn.jiguang" not in {s.value for s in pack.get("jpush").of_kind("code_prefix")}
    assert "cn.jiguang" in {s.value for s in pack.get("jiguang_core").of_kind("code_prefix")}


def test_the_shipped_pack_holds_no_copyleft_data(pack) -> None:
    """εxodus (AGPL-3.0, via GPL-3.0 MobSF) is left out of the Apache-2.0 pack: no record and no
    signature rests on it, and the pack states each source's licence."""
    assert all("exodus" not in rec.provenance for rec in pack.sdks)
    meta = yaml.safe_load((PACK_DIR / "_pack.yaml").read_text(encoding="utf-8"))
    assert meta["licence"] == "Apache-2.0"
    assert {row["id"]: row["licence"] for row in meta["sources"]} == {
        "apk-analyzer": "MIT", "appscan": "Apache-2.0", "curated": "Apache-2.0", "libchecker": "Apache-2.0"}


def test_pack_version_and_sha256_are_stable(pack) -> None:
    meta = yaml.safe_load((PACK_DIR / "_pack.yaml").read_text(encoding="utf-8"))
    assert pack.version == str(meta["version"])
    assert meta["sdk_count"] == len(pack)
    assert pack.sha256 == pack_sha256(sorted(PACK_DIR.glob("*.yaml")))
    assert len(pack.sha256) == 64
    assert pack.provenance_row() == {"pack_id": "piscan-sdks", "kind": "sdks", "version": pack.version, "sha256": pack.sha256}


def _build_module():
    path = rules_dir() / "build_sdk_pack.py"
    if not path.is_file():
        pytest.skip("rules/build_sdk_pack.py is not shipped in this installation")
    spec = importlib.util.spec_from_file_location("build_sdk_pack", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def test_build_script_reproduces_the_committed_pack(corpus: Path) -> None:
    build = _build_module()
    files, _notes = build.build(corpus / "signatures")
    committed = {p.name: p.read_text(encoding="utf-8") for p in PACK_DIR.glob("*.yaml")}
    assert sorted(files) == sorted(committed)
    for name, text in files.items():
        assert text == committed[name], f"{name} differs from a fresh build: run rules/build_sdk_pack.py"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@pytest.fixture()
def small_pack(tmp_path: Path) -> Path:
    """A copy of the pack metadata plus two real records (JPush, Getui) in push.yaml."""
    folder = tmp_path / "sdks"
    folder.mkdir()
    shutil.copy(PACK_DIR / "_pack.yaml", folder / "_pack.yaml")
    data = yaml.load((PACK_DIR / "push.yaml").read_text(encoding="utf-8"), Loader=_LOADER)
    data["sdks"] = [r for r in data["sdks"] if r["id"] in ("jpush", "getui")]
    (folder / "push.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["sdks"][0]["pi_types"].append("shoe_size"), r"sdks\[0\]\.pi_types\[\d+\]: 'shoe_size' is not one of"),
        (lambda d: d["sdks"][0].update(provenance=[]), r"sdks\[0\]\.provenance: must not be empty"),
        (lambda d: d["sdks"][0]["signatures"].update(telepathy={"x": ["curated"]}),
         r"sdks\[0\]\.signatures\.telepathy: unknown key; valid keys: action, class_suffix"),
        (lambda d: d["sdks"][0]["signatures"]["code_prefix"].update({"cn.jpush.android": ["rumour"]}),
         r"sdks\[0\]\.signatures\.code_prefix\.cn\.jpush\.android\[0\]: 'rumour' is not one of: apk-analyzer"),
        (lambda d: d["sdks"][0]["signatures"]["native_lib"].update({"re:libjpush(": ["curated"]}),
         r"sdks\[0\]\.signatures\.native_lib: bad regular expression 'libjpush\('"),
        (lambda d: d["sdks"].append(dict(d["sdks"][0])), r"sdks\[2\]\.id: duplicate id 'getui'"),
        (lambda d: d["sdks"][0].update(origin="mars"), r"sdks\[0\]\.origin: 'mars' is not one of: cn, intl, unknown"),
    ],
)
def test_loader_rejects_a_broken_pack(small_pack: Path, edit, message: str) -> None:
    folder = small_pack
    target = folder / "push.yaml"
    data = yaml.load(target.read_text(encoding="utf-8"), Loader=_LOADER)
    assert load_sdk_pack(folder).get("jpush") is not None  # valid before the edit
    edit(data)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(UsageError, match=message) as info:
        load_sdk_pack(folder)
    assert info.value.path == str(target) and isinstance(info.value.lineno, int)


def test_loader_rejects_a_folder_without_pack_metadata(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no _pack.yaml"):
        load_sdk_pack(tmp_path)


def test_loader_reports_yaml_syntax_errors(small_pack: Path) -> None:
    folder = small_pack
    (folder / "push.yaml").write_text("sdks: [\n  - {id: x", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_sdk_pack(folder)


def test_pack_files_are_yaml_and_the_fast_path_agrees() -> None:
    from scanner.datapack import _parse

    text = (PACK_DIR / "push.yaml").read_text(encoding="utf-8")
    fast = _parse(text)
    assert fast == yaml.load(text, Loader=_LOADER)
    assert fast["category"] == "push"
    assert [r["id"] for r in fast["sdks"]] == sorted(r["id"] for r in fast["sdks"])
