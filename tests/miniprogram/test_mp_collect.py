"""End-to-end mini-program collection (scanner/miniprogram/collect.py) on the corpus and the sample."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from scanner.errors import InputError, UsageError
from scanner.miniprogram.collect import MiniProgramFacts, collect_miniprogram
from scanner.result import add_limitation, dumps, new_result
from scanner.schema import validation_errors

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "miniprogram"
WXID = "wx6e24c691f9a50e44"


def _collect(path: Path, tmp_path: Path, *, wxid: str | None = None, subs: list[Path] | None = None) -> MiniProgramFacts:
    return collect_miniprogram(path, wxid=wxid, subpackages=subs or [], unpack_dir=tmp_path / "unpacked")


def _uses(facts: MiniProgramFacts, kind: str = "first_party") -> list[dict[str, Any]]:
    return [u for u in facts.sections["miniprogram"]["api_uses"] if u["owner"]["kind"] == kind]


def _as_result(facts: MiniProgramFacts) -> dict[str, Any]:
    result = new_result(command=["piscan", "scan", "x"], inputs=facts.inputs, reproducible=True)
    result["app"] = facts.app
    result["facts"].update(facts.sections)
    for lim in facts.limitations:
        add_limitation(result, lim)
    return result


def test_plain_package_api_uses_with_file_line_function(corpus: Path, tmp_path: Path) -> None:
    facts = _collect(corpus / "wxapkg" / "jamielhf-test.wxapkg", tmp_path)
    mp = facts.sections["miniprogram"]
    by_api: dict[str, set[tuple[str, int, str | None]]] = {}
    for use in _uses(facts):
        by_api.setdefault(use["api"], set()).add((use["file"], use["line"], use["function"]))
    assert by_api["getLocation"] == {
        ("pages/index/index.js", 1, "tapOpenLBS.success"),
        ("pages/index/index.js", 1, "tapOpenLBS.success.success"),
        ("pages/index/index.js", 1, "onPullDownRefresh"),
    }
    assert by_api["chooseLocation"] == {("pages/publisher/publisher.js", 1, "tapChooseLocation")}
    assert by_api["chooseAddress"] == {("pages/join/join.js", 1, "tapChooseAddress")}
    assert by_api["getClipboardData"] == {("pages/noteboard/noteboard.js", 1, "tapNote.success.success")}
    assert by_api["requestPayment"] == {("pages/join/join.js", 1, "onPay")}
    assert by_api["makePhoneCall"] == {("pages/detail/detail.js", 1, "callOwnerPhone")}
    authorize = [u for u in mp["api_uses"] if u["api"] == "authorize"]
    assert [(u["scope"], u["pi_types"], u["file"]) for u in authorize] == [
        ("scope.userLocation", ["location_precise"], "pages/index/index.js")
    ]
    assert mp["permission_scopes"] == [
        {"scope": "scope.userLocation", "desc": "你的信息将用于查看附近报名，以及将报名发布给你附近的人"}
    ]
    assert mp["required_private_infos"] == []
    assert {(b["open_type"], b["file"]) for b in mp["buttons"]} >= {("getUserInfo", "pages/login/login.wxml")}
    assert "api.xiaobaoming.com" in {d["host"] for d in mp["request_domains"]}
    assert facts.app["platform"] == "wechat-miniprogram"
    assert facts.app["label"] == {"default": "小萝卜报名", "zh-CN": None}
    assert facts.inputs == [{
        "role": "wxapkg", "name": "jamielhf-test.wxapkg", "size": 1940354,
        "sha256": "42bd36ba6d6ae473c79b98586fc91d8489c65e61b3b17a48fa55389e7259ec9e",
        "sha1": facts.inputs[0]["sha1"], "md5": facts.inputs[0]["md5"],
    }]
    assert (tmp_path / "unpacked" / "jamielhf-test" / "app-service.js").is_file()
    assert validation_errors(_as_result(facts)) == []


def test_base_library_yields_no_app_calls(corpus: Path, tmp_path: Path) -> None:
    facts = _collect(corpus / "wxapkg" / "zaratustran-wxapp-parser-baselib-test.wxapkg", tmp_path)
    mp = facts.sections["miniprogram"]
    assert _uses(facts) == []
    assert all(u["owner"] == {"kind": "base_library", "sdk_id": None} for u in mp["api_uses"])
    assert all(d["owner"]["kind"] == "base_library" for d in mp["request_domains"])
    assert mp["buttons"] == [] and mp["privacy_handling"] == {"apis": []}
    assert [(lim.kind, lim.where) for lim in facts.limitations] == [
        ("not_collected", "zaratustran-wxapp-parser-baselib-test")
    ]


def test_truncated_package_is_input_error(corpus: Path, tmp_path: Path) -> None:
    path = corpus / "wxapkg" / "jamielhf-test1-truncated.wxapkg"
    with pytest.raises(InputError, match="not a wxapkg: bad magic") as info:
        _collect(path, tmp_path)
    assert info.value.exit_code == 3 and "\n" not in info.value.line()


def test_missing_input_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        _collect(tmp_path / "nope.wxapkg", tmp_path)


def test_encrypted_without_wxid_says_pass_wxid(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"pass --wxid") as info:
        _collect(corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg", tmp_path)
    assert "\n" not in info.value.line()
    with pytest.raises(UsageError, match="is not a mini-program id"):
        _collect(corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg", tmp_path, wxid="bogus")


def test_wxid_taken_from_the_path(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "Applet" / WXID / "18"
    cache.mkdir(parents=True)
    link = cache / "__APP__.wxapkg"
    os.symlink(corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg", link)
    facts = _collect(link, tmp_path)
    assert facts.app["input_note"] == f"PC-encrypted, decrypted with wxid {WXID}"
    assert facts.app["package"] == WXID


def test_encrypted_main_with_subpackage_merged(corpus: Path, tmp_path: Path) -> None:
    facts = _collect(
        corpus / "wxapkg" / "partyhistory-v18-__APP__.pc-encrypted.wxapkg", tmp_path, wxid=WXID,
        subs=[corpus / "wxapkg" / "partyhistory-v18-_packageA_.dec.wxapkg"],
    )
    mp = facts.sections["miniprogram"]
    assert facts.app["package"] == WXID and mp["app_id"] == WXID
    assert facts.app["label"]["default"] == "一起学党史"
    assert [(p["name"], p["role"], p["files"], p["encrypted"]) for p in mp["packages"]] == [
        ("partyhistory-v18-__APP__.pc-encrypted", "wxapkg", 65, True),
        ("partyhistory-v18-_packageA_.dec", "subpackage", 90, False),
    ]
    assert [i["role"] for i in facts.inputs] == ["wxapkg", "subpackage"]
    assert mp["plugins"] == [{"name": "tencentvideo", "provider": "wxa75efa648b60994b", "version": "1.2.4"}]
    assert [s["root"] for s in mp["subpackages"]][:1] == ["packageA"]
    files = {(u["api"], u["file"], u["line"]) for u in _uses(facts)}
    # main package and subpackage code side by side
    assert ("getUserProfile", "pages/index/index.js", 474) in files
    assert ("setClipboardData", "packageA/pages/group/group.js", 400) in files
    # the tencentvideo plugin's own code is not the app's
    plugin = {(u["api"], u["file"]) for u in _uses(facts, "sdk")}
    assert ("getNetworkType", "__plugin__/wxa75efa648b60994b/src/module/network.js") in plugin
    assert all(u["owner"]["sdk_id"] == "plugin:wxa75efa648b60994b" for u in _uses(facts, "sdk"))
    assert (tmp_path / "unpacked" / "partyhistory-v18-_packageA_.dec" / "packageA" / "app-service.js").is_file()
    assert validation_errors(_as_result(facts)) == []


def test_official_demo_subset_tree(corpus: Path, tmp_path: Path) -> None:
    tree = corpus / "miniprogram" / "wechat-miniprogram-demo-subset"
    facts = _collect(tree, tmp_path)
    mp = facts.sections["miniprogram"]
    assert facts.limitations == []
    assert mp["app_id"] == "wxe5f52902cf4de896"
    assert mp["required_private_infos"] == ["chooseAddress", "chooseLocation", "getLocation"]
    assert mp["permission_scopes"] == [{"scope": "scope.userLocation", "desc": "你的位置信息将用于小程序位置接口的效果展示"}]
    button_file = "miniprogram/packageComponent/pages/form/button/button.wxml"
    assert {(b["open_type"], b["file"], b["line"], b["pi_types"][0]) for b in mp["buttons"] if b["file"] == button_file} == {
        ("getPhoneNumber", button_file, 36, "phone_number"),
        ("getRealtimePhoneNumber", button_file, 37, "phone_number"),
        ("getUserInfo", button_file, 39, "user_profile"),
        ("chooseAvatar", button_file, 40, "user_profile"),
    }
    apis = {u["api"] for u in _uses(facts)}
    assert {"getLocation", "chooseLocation", "chooseAddress", "getUserProfile", "chooseInvoiceTitle",
            "startSoterAuthentication", "getClipboardData", "setClipboardData", "addPhoneContact",
            "makePhoneCall", "scanCode", "startWifi", "startBluetoothDevicesDiscovery", "getBatteryInfo",
            "onCompassChange", "onAccelerometerChange"} <= apis
    # app.json lists pages that were trimmed from the tree: they are reported, not fatal
    assert "packageAPI" in [s["root"] for s in mp["subpackages"]]
    assert not (tree / "miniprogram" / "page" / "component" / "index.js").exists()
    assert facts.inputs[0]["role"] == "source-tree"
    assert facts.inputs[0]["sha256"] == "95903ccdf0c45727da32eb2887be42c89e1683b21e3d514163b577419e697770"


def test_minigame_layout(corpus: Path, tmp_path: Path) -> None:
    facts = _collect(corpus / "wxapkg" / "tiaoyitiao-minigame.wxapkg", tmp_path)
    mp = facts.sections["miniprogram"]
    assert mp["is_game"] is True
    rows = {(u["api"], u["file"]) for u in _uses(facts)}
    assert ("login", "js/network/network.js") in rows
    assert ("chooseImage", "js/pages/pages2d/verify.js") in rows
    assert ("getNetworkType", "js/shareApp.js") in rows
    assert ("getSystemInfoSync", "js/index.js") in rows
    assert "wxagame.weixin.qq.com" in {d["host"] for d in mp["request_domains"]}


def test_umeng_sdk_attribution(corpus: Path, tmp_path: Path) -> None:
    facts = _collect(corpus / "miniprogram" / "umeng-mp-demos-wx", tmp_path)
    mp = facts.sections["miniprogram"]
    sdk_uses = {(u["api"], u["file"], u["owner"]["sdk_id"]) for u in _uses(facts, "sdk")}
    assert {("getSystemInfo", "uma.js", "umeng_miniprogram"), ("getNetworkType", "uma.js", "umeng_miniprogram"),
            ("getAccountInfoSync", "uma.js", "umeng_miniprogram"), ("login", "uma.js", "umeng_miniprogram")} <= sdk_uses
    assert all(u["file"] != "uma.js" for u in _uses(facts))
    hosts = {(d["host"], d["owner"]["sdk_id"]) for d in mp["request_domains"]}
    assert {("ulogs.umeng.com", "umeng_miniprogram"), ("pslog.umeng.com", "umeng_miniprogram"),
            ("umini.shujupie.com", "umeng_miniprogram")} <= hosts
    [sdk] = facts.sections["sdks"]
    assert (sdk["id"], sdk["sdk_id"], sdk["confidence"], sdk["name"]["en"]) == (
        "sdk:umeng_miniprogram", "umeng_miniprogram", "high", "Umeng mini-program analytics SDK"
    )
    assert {"kind": "code_prefix", "value": "uma.js", "detail": "SDK file"} in sdk["signals"]
    assert {s["value"] for s in sdk["signals"] if s["kind"] == "host"} >= {"ulogs.umeng.com", "umini.shujupie.com"}
    assert validation_errors(_as_result(facts)) == []


def test_sample_tree_facts(tmp_path: Path) -> None:
    facts = _collect(SAMPLE, tmp_path)
    mp = facts.sections["miniprogram"]
    assert facts.limitations == []
    assert facts.app["package"] == "wx5049a1d7e2c3b8f0"
    assert facts.app["label"]["default"] == "PIScan 演示"
    assert mp["required_private_infos"] == ["chooseAddress"]
    assert mp["permission_scopes"] == [{"scope": "scope.userLocation", "desc": None}]
    uses = {(u["api"], u["file"], u["line"], u["function"], u["scope"]) for u in mp["api_uses"]}
    assert uses == {
        ("getLocation", "pages/index/index.js", 9, "onLoad", None),
        ("getClipboardData", "app.js", 7, "onLaunch", None),
        ("authorize", "pages/profile/profile.js", 9, "pickAddress", "scope.address"),
        ("chooseAddress", "pages/profile/profile.js", 12, "pickAddress.success", None),
    }
    assert [(b["tag"], b["open_type"], b["file"], b["line"]) for b in mp["buttons"]] == [
        ("button", "chooseAvatar", "pages/profile/profile.wxml", 2),
        ("button", "getPhoneNumber", "pages/index/index.wxml", 4),
        ("input", "nickname", "pages/profile/profile.wxml", 5),
    ]
    assert [(d["host"], d["file"], d["line"]) for d in mp["request_domains"]] == [
        ("api.piscan-demo.cn", "utils/api.js", 2),
        ("collect.piscan-demo.cn", "utils/api.js", 6),
    ]
    assert mp["privacy_handling"] == {"apis": []}
    assert validation_errors(_as_result(facts)) == []


def test_output_is_deterministic(tmp_path: Path) -> None:
    first = _collect(SAMPLE, tmp_path / "a")
    second = _collect(SAMPLE, tmp_path / "b")
    assert dumps(_as_result(first)) == dumps(_as_result(second))


def test_source_tree_symlinks_are_not_followed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.json").write_text('{"pages": ["pages/a"]}', encoding="utf-8")
    (tree / "app.js").write_text("wx.getLocation({})\n", encoding="utf-8")
    secret = tmp_path / "secret.js"
    secret.write_text("wx.chooseAddress({})\n", encoding="utf-8")
    os.symlink(secret, tree / "linked.js")
    facts = _collect(tree, tmp_path)
    assert [u["api"] for u in facts.sections["miniprogram"]["api_uses"]] == ["getLocation"]
    assert [(lim.kind, lim.where) for lim in facts.limitations] == [("unsafe_path", "linked.js")]


def test_source_tree_scope_npm_and_cloud_functions(tmp_path: Path) -> None:
    tree = tmp_path / "proj"
    (tree / "miniprogram" / "miniprogram_npm" / "geo-helper").mkdir(parents=True)
    (tree / "cloudfunctions" / "login").mkdir(parents=True)
    (tree / "node_modules" / "devtool").mkdir(parents=True)
    (tree / "project.config.json").write_text('{"miniprogramRoot": "miniprogram/", "appid": "wx9999999999999999"}', encoding="utf-8")
    (tree / "miniprogram" / "app.json").write_text('{"pages": ["pages/a/a"], "requiredPrivateInfos": ["getLocation"]}', encoding="utf-8")
    (tree / "miniprogram" / "app.js").write_text(
        "App({ onLaunch() { wx.getLocation({}); wx.createMapContext('m').moveToLocation() } })\n", encoding="utf-8")
    (tree / "miniprogram" / "miniprogram_npm" / "geo-helper" / "index.js").write_text(
        "module.exports = function locate() { return wx.getLocation({}) }\n", encoding="utf-8")
    (tree / "cloudfunctions" / "login" / "index.js").write_text("const u = 'https://server-only.example.cn'\n", encoding="utf-8")
    (tree / "node_modules" / "devtool" / "index.js").write_text("wx.getClipboardData({})\n", encoding="utf-8")
    facts = _collect(tree, tmp_path)
    mp = facts.sections["miniprogram"]
    assert mp["app_id"] == "wx9999999999999999"
    assert mp["config_files"] == ["miniprogram/app.json", "project.config.json"]
    assert [(u["api"], u["file"], u["function"], u["owner"]) for u in mp["api_uses"]] == [
        ("MapContext.moveToLocation", "miniprogram/app.js", "onLaunch", {"kind": "first_party", "sdk_id": None}),
        ("getLocation", "miniprogram/app.js", "onLaunch", {"kind": "first_party", "sdk_id": None}),
        ("getLocation", "miniprogram/miniprogram_npm/geo-helper/index.js", "locate", {"kind": "sdk", "sdk_id": "npm:geo-helper"}),
    ]
    assert mp["request_domains"] == []
    assert facts.limitations == []


def test_failed_input_creates_nothing(corpus: Path, tmp_path: Path) -> None:
    for name in ("jamielhf-test1-truncated.wxapkg", "partyhistory-v18-__APP__.pc-encrypted.wxapkg"):
        with pytest.raises(InputError):
            _collect(corpus / "wxapkg" / name, tmp_path)
    assert list(tmp_path.iterdir()) == []
