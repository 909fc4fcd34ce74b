"""Privacy-API use and URL literals in mini-program JavaScript (scanner/miniprogram/jsapi.py)."""

from __future__ import annotations

from pathlib import Path

from scanner.miniprogram.jsapi import JsScan, scan_js
from scanner.miniprogram.privacy_apis import privacy_table
from scanner.miniprogram.wxapkg import parse_wxapkg

NAMES = set(privacy_table().apis) | set(privacy_table().handling_apis)


def _scan(code: str, path: str = "pages/a.js") -> JsScan:
    return scan_js(code.encode("utf-8"), path, NAMES)


def _uses(scan: JsScan) -> list[tuple[str, str, int, str | None]]:
    return [(u.api, u.where.file, u.where.line, u.where.function) for u in scan.api_uses]


def test_comments_and_strings_do_not_count() -> None:
    code = """// wx.getLocation({}) in a line comment
/* wx.getLocation( in a block comment */
var s = "wx.getLocation(";
var t = 'wx.getClipboardData()';
var u = `template wx.getLocation( text`;
function real() { wx.getLocation({type: 'wgs84'}) }
"""
    assert _uses(_scan(code)) == [("getLocation", "pages/a.js", 6, "real")]


def test_aliases_subscripts_uni_and_references() -> None:
    code = """function a() {
  var w = wx;
  w.getLocation({});
}
function b() {
  w.chooseAddress({});
}
var k = wx;
k["getClipboardData"]({});
uni.chooseLocation({}); Taro.getUserInfo({});
promisify(wx.getUserProfile);
wx.showToast({title: 'x'});
const { getFuzzyLocation, showModal, chooseMedia: pick } = wx;
const { getWeRunData } = other;
"""
    assert _uses(_scan(code)) == [
        ("getLocation", "pages/a.js", 3, "a"),
        ("getClipboardData", "pages/a.js", 9, None),
        ("chooseLocation", "pages/a.js", 10, None),
        ("getUserInfo", "pages/a.js", 10, None),
        ("getUserProfile", "pages/a.js", 11, None),
        ("getFuzzyLocation", "pages/a.js", 13, None),
        ("chooseMedia", "pages/a.js", 13, None),
    ]


def test_authorize_scope_and_privacy_handling_apis() -> None:
    code = """Page({
  onLoad() {
    wx.authorize({ scope: 'scope.userLocation', success() {} })
    wx.authorize({ scope: dynamicScope })
    wx.onNeedPrivacyAuthorization(resolve => {})
  }
})
"""
    scan = _scan(code)
    assert [(u.api, u.scope, u.where.line, u.where.function) for u in scan.api_uses] == [
        ("authorize", "scope.userLocation", 3, "onLoad"),
        ("authorize", None, 4, "onLoad"),
        ("onNeedPrivacyAuthorization", None, 5, "onLoad"),
    ]


def test_function_names() -> None:
    code = """const getPos = () => { wx.getLocation({}) }
module.exports.pick = function () { wx.chooseImage({}) }
class P { tap() { wx.chooseMedia({}) } }
Page({ onShow: function () { wx.login({ success: function (r) { wx.getUserInfo({}) } }) } })
"""
    assert [(u.api, u.where.function) for u in _scan(code).api_uses] == [
        ("getLocation", "getPos"),
        ("chooseImage", "pick"),
        ("chooseMedia", "tap"),
        ("login", "onShow"),
        ("getUserInfo", "onShow.success"),
    ]


def test_define_wrappers_name_the_file_and_count_lines_inside() -> None:
    code = """var __wxAppCode__ = {};
\tdefine("utils/util.js", function(require, module, exports){ \t\t\t
"use strict";var x=1;
wx.getClipboardData({});
\t\t\t});
\tdefine("pages/index/index.js", function(require, module, exports){ "use strict";Page({onLoad:function(){wx.getLocation({})}}) });
definePlugin("plugin://wxa75efa648b60994b", function(define, require, module, exports, global, wx) {
  define("src/log.js", function(require, module, exports){
wx.getSystemInfoSync()
  });
  wx.getNetworkType({});
});
wx.makePhoneCall({});
"""
    scan = _scan(code, "app-service.js")
    rows = [(u.api, u.where.file, u.where.line, u.where.container, u.where.container_line, u.where.function)
            for u in scan.api_uses]
    assert rows == [
        ("getClipboardData", "utils/util.js", 2, "app-service.js", 4, None),
        ("getLocation", "pages/index/index.js", 1, "app-service.js", 6, "onLoad"),
        ("getSystemInfoSync", "__plugin__/wxa75efa648b60994b/src/log.js", 1, "app-service.js", 9, None),
        ("getNetworkType", "__plugin__/wxa75efa648b60994b/app-service.js", 11, "app-service.js", 11, None),
        ("makePhoneCall", "app-service.js", 13, "app-service.js", 13, None),
    ]
    assert scan.modules == ("pages/index/index.js", "src/log.js", "utils/util.js")


def test_url_literals_and_request_hosts() -> None:
    code = """const BASE = 'https://api.example.cn/v1'
function up() {
  wx.request({ url: `https://Upload.Example.cn/file?id=${id}` })
  wx.connectSocket({ url: 'wss://ws.example.cn' })
  const notUrl = 'see http:// docs'
  const relative = '/api/x'
}
// 'https://in-comment.example.cn' is ignored
"""
    scan = _scan(code)
    assert [(u.host, u.where.line, u.where.function) for u in scan.urls] == [
        ("api.example.cn", 1, None),
        ("upload.example.cn", 3, "up"),
        ("ws.example.cn", 4, "up"),
    ]


def test_corpus_compiled_package(corpus: Path) -> None:
    data = (corpus / "wxapkg" / "jamielhf-test.wxapkg").read_bytes()
    entry = next(e for e in parse_wxapkg(data) if e.name == "/app-service.js")
    scan = scan_js(data[entry.offset : entry.offset + entry.size], "app-service.js", NAMES)
    assert not scan.has_errors
    rows = {(u.api, u.where.file, u.where.line, u.where.function, u.where.container_line) for u in scan.api_uses}
    assert ("getLocation", "pages/index/index.js", 1, "onPullDownRefresh", 3499) in rows
    assert ("chooseLocation", "pages/publisher/publisher.js", 1, "tapChooseLocation", 3505) in rows
    assert ("makePhoneCall", "pages/detail/detail.js", 1, "callOwnerPhone", 3514) in rows
    assert ("requestPayment", "pages/join/join.js", 1, "onPay", 3517) in rows
    scopes = {(u.api, u.scope, u.where.file) for u in scan.api_uses if u.api == "authorize"}
    assert scopes == {("authorize", "scope.userLocation", "pages/index/index.js")}
    assert "api.xiaobaoming.com" in {u.host for u in scan.urls}


def test_context_object_methods_on_any_receiver() -> None:
    code = """Page({ onReady() { this.map = wx.createMapContext('m'); this.map.moveToLocation() } })
const s = 'ctx.moveToLocation()'
"""
    scan = scan_js(code.encode(), "pages/map.js", NAMES, privacy_table().methods)
    assert [(u.api, u.where.line, u.where.function) for u in scan.api_uses] == [("moveToLocation", 1, "onReady")]
