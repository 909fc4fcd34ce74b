"""Mini-program declarations (scanner/miniprogram/config.py)."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.miniprogram.config import SubPackage, parse_config, strip_json_comments
from scanner.miniprogram.wxapkg import parse_wxapkg


def _j(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def test_app_json_declarations() -> None:
    files = {
        "app.json": _j({
            "pages": ["pages/index/index", "pages/me/me"],
            "subpackages": [{"root": "packageA/", "name": "a", "pages": ["pages/x/x"]}],
            "permission": {"scope.userLocation": {"desc": "  "}, "scope.record": {"desc": "录音用于语音输入"}},
            "requiredPrivateInfos": ["getLocation", "chooseAddress", "getLocation"],
            "__usePrivacyCheck__": True,
            "plugins": {"myPlugin": {"version": "1.0.2", "provider": "wxidxxxxxxxxxxxxxxxx"}},
            "window": {"navigationBarTitleText": "演示"},
        }),
        "project.config.json": _j({"appid": "wx1111111111111111", "projectname": "demo"}),
    }
    config = parse_config(files)
    assert config.app_id == "wx1111111111111111"
    assert config.name == "演示"
    assert config.pages == ("pages/index/index", "pages/me/me")
    assert config.subpackages == (SubPackage(root="packageA", name="a", pages=("packageA/pages/x/x",)),)
    assert config.permission_scopes == (
        {"scope": "scope.record", "desc": "录音用于语音输入"},
        {"scope": "scope.userLocation", "desc": None},
    )
    assert config.required_private_infos == ("chooseAddress", "getLocation")
    assert config.use_privacy_check is True
    assert config.plugins == ({"name": "myPlugin", "provider": "wxidxxxxxxxxxxxxxxxx", "version": "1.0.2"},)
    assert config.config_files == ("app.json", "project.config.json")
    assert config.limitations == ()


def test_uni_app_manifest_with_comments() -> None:
    manifest = b"""{
    // uni-app allows comments here
    "name": "uni demo",
    "versionName": "1.2.0",
    "versionCode": 120,
    /* the WeChat block */
    "mp-weixin": {
        "appid": "wx2222222222222222",
        "requiredPrivateInfos": ["getFuzzyLocation"],
        "permission": {"scope.userFuzzyLocation": {"desc": "see https://example.cn//x"}}
    }
}"""
    config = parse_config({"manifest.json": manifest})
    assert (config.app_id, config.name, config.version_name, config.version_code) == (
        "wx2222222222222222", "uni demo", "1.2.0", "120"
    )
    assert config.required_private_infos == ("getFuzzyLocation",)
    assert config.permission_scopes == ({"scope": "scope.userFuzzyLocation", "desc": "see https://example.cn//x"},)


def test_strip_json_comments_keeps_slashes_in_strings() -> None:
    text = '{"u": "http://a/*b*/c", // x\n "v": "\\"//"} /* end */'
    assert json.loads(strip_json_comments(text)) == {"u": "http://a/*b*/c", "v": '"//'}


def test_invalid_json_is_a_limitation_not_an_error() -> None:
    config = parse_config({"app.json": b"{ not json", "project.config.json": _j({"appid": "wx3333333333333333"})})
    assert config.app_id == "wx3333333333333333"
    assert len(config.limitations) == 1
    lim = config.limitations[0]
    assert (lim.kind, lim.where) == ("entry_unreadable", "app.json")
    assert lim.detail.startswith("not valid JSON")


def test_compiled_app_config_from_corpus(corpus: Path) -> None:
    data = (corpus / "wxapkg" / "jamielhf-test.wxapkg").read_bytes()
    entry = next(e for e in parse_wxapkg(data) if e.name == "/app-config.json")
    config = parse_config({"app-config.json": data[entry.offset : entry.offset + entry.size]})
    assert config.permission_scopes == (
        {"scope": "scope.userLocation", "desc": "你的信息将用于查看附近报名，以及将报名发布给你附近的人"},
    )
    assert config.name == "小萝卜报名"
    assert [s.root for s in config.subpackages] == ["orgPackage", "ownerPackage"]
    # compiled app-config.json lists subpackage pages under "pages" too; they stay with their subpackage
    assert "pages/index/index" in config.pages
    assert not any(p.startswith("orgPackage/") for p in config.pages)
    assert "orgPackage/pages/org/org" in config.subpackages[0].pages
    assert config.app_id is None
