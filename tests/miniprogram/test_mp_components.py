"""The component path to PI in a mini-program: open-type on a custom component, a {{ }}-bound
open-type resolved from the page's data, bracket and aliased wx access, uni-app and Taro
wrappers attributed to their framework; all with file and line."""

from __future__ import annotations

from pathlib import Path

from scanner.miniprogram.collect import collect_miniprogram
from scanner.miniprogram.wxml import binding_key
from scanner.result import new_result
from scanner.schema import validation_errors

INDEX_WXML = """<view class="list">
  <my-cell open-type="getUserInfo" bind:getuserinfo="onUser">profile</my-cell>
  <button open-type="{{ button.openType }}" bindgetphonenumber="onPhone">phone</button>
  <my-cell open-type="{{ unknownKey }}">nothing resolvable</my-cell>
  <view open-type="share">not PI</view>
</view>
"""
INDEX_JS = """Page({
  data: { button: { openType: 'getPhoneNumber' } },
  onLoad() {
    wx['getLocation']({ type: 'gcj02' })
    const api = wx
    api.chooseAddress({})
    uni.getLocation({})
    Taro.getClipboardData()
  }
})
"""
CELL_WXML = """<button open-type="{{ openType }}" bind:getuserinfo="forward"><slot/></button>
"""
CELL_JS = """Component({
  properties: { openType: { type: String, value: 'getUserInfo' } },
  methods: { forward(e) { this.triggerEvent('getuserinfo', e.detail) } }
})
"""


def _tree(root: Path) -> Path:
    files = {
        "app.json": '{"pages": ["pages/index/index"], "usingComponents": {"my-cell": "/components/cell/cell"}}',
        "app.js": "App({})\n",
        "pages/index/index.wxml": INDEX_WXML,
        "pages/index/index.js": INDEX_JS,
        "components/cell/cell.wxml": CELL_WXML,
        "components/cell/cell.js": CELL_JS,
        "components/cell/cell.json": '{"component": true}',
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def test_binding_keys() -> None:
    assert binding_key("{{ button.openType }}") == "openType"
    assert binding_key("{{openType}}") == "openType"
    assert binding_key("{{ cfg['openType'] }}") == "openType"
    assert binding_key("{{ a ? 'getUserInfo' : '' }}") is None


def test_component_path_is_found_with_file_and_line(tmp_path: Path) -> None:
    facts = collect_miniprogram(_tree(tmp_path / "mp"), wxid=None, subpackages=[], unpack_dir=tmp_path / "unpacked")
    mp = facts.sections["miniprogram"]
    buttons = {(b["tag"], b["open_type"], b["file"], b["line"], b["bound_from"]) for b in mp["buttons"]}
    assert buttons == {
        ("my-cell", "getUserInfo", "pages/index/index.wxml", 2, None),
        ("button", "getPhoneNumber", "pages/index/index.wxml", 3, "pages/index/index.js:2"),
        ("button", "getUserInfo", "components/cell/cell.wxml", 1, "components/cell/cell.js:2"),
    }
    uses = {(u["api"], u["file"], u["line"], u["framework"]) for u in mp["api_uses"]}
    assert {("getLocation", "pages/index/index.js", 4, "wx"),          # bracket access
            ("chooseAddress", "pages/index/index.js", 6, "wx"),        # const api = wx; api.chooseAddress()
            ("getLocation", "pages/index/index.js", 7, "uni"),         # uni-app
            ("getClipboardData", "pages/index/index.js", 8, "Taro")} <= uses
    result = new_result(command=["piscan", "scan", "mp"], inputs=facts.inputs, reproducible=True)
    result["app"] = facts.app
    result["facts"].update(facts.sections)
    assert validation_errors(result) == []
