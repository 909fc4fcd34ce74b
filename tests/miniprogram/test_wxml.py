"""PI-collecting WXML components, in source and compiled form (scanner/miniprogram/wxml.py)."""

from __future__ import annotations

from pathlib import Path

from scanner.miniprogram.wxapkg import parse_wxapkg
from scanner.miniprogram.wxml import is_compiled_wxml, scan_compiled_wxml, scan_wxml


def test_source_wxml() -> None:
    text = """<view>
  <!-- <button open-type="getPhoneNumber">hidden</button> -->
  <button class="a"
          open-type="getPhoneNumber|agreePrivacyAuthorization" bindgetphonenumber="x">ok</button>
  <button open-type="{{dynamic}}">dyn</button>
  <button open-type='share'>share</button>
  <button bindtap="go">plain</button>
  <input type="nickname" value="{{a > b ? 1 : 2}}"/>
  <input type="text"/>
  <camera device-position="back"></camera>
  <live-pusher url="rtmp://x"/>
  <wxs module="m">var s = '<button open-type="chooseAvatar">'</wxs>
</view>
"""
    rows = [(e.tag, e.open_types, e.input_type, e.line) for e in scan_wxml(text, "pages/a.wxml")]
    assert rows == [
        ("button", ("getPhoneNumber", "agreePrivacyAuthorization"), None, 3),
        ("button", ("share",), None, 6),
        ("input", (), "nickname", 8),
        ("input", (), "text", 9),
        ("camera", (), None, 10),
        ("live-pusher", (), None, 11),
    ]


COMPILED = """var x=['./pages/login/login.wxml','./pages/me/me.wxml'];d_[x[0]]={}
function gz$gwx_1(){
if( __WXML_GLOBAL__.ops_cached.$gwx_1)return __WXML_GLOBAL__.ops_cached.$gwx_1
__WXML_GLOBAL__.ops_cached.$gwx_1=[];
(function(z){var a=11;function Z(ops){z.push(ops)}
Z([3,'onPhone'])
Z([3,'btn'])
Z([3,'getPhoneNumber'])
Z([3,'nickname'])
Z(z[2])
})(__WXML_GLOBAL__.ops_cached.$gwx_1);return __WXML_GLOBAL__.ops_cached.$gwx_1
}
var m0=function(e,s,r,gg){
var z=gz$gwx_1()
var oB=_mz(z,'button',['bindgetphonenumber',0,'class',1,'openType',1],[],e,s,gg)
var xC=_mz(z,'input',['type',3],[],e,s,gg)
var oD=_n('button')
_rz(z,oD,'openType',4,e,s,gg)
var fE=_n('camera')
return r
}
e_[x[0]]={f:m0,j:[],i:[],ti:[],ic:[]}
"""


def test_compiled_wxml_resolves_static_attributes() -> None:
    # _mz indexes: the first is absolute, later ones are added to a base that the runtime sets
    # from the first non-zero index: ['b',0,'class',1,'openType',1] -> z[0], z[1], z[2].
    assert is_compiled_wxml(COMPILED)
    rows = [(e.tag, e.open_types, e.input_type, e.file, e.line, e.container_line)
            for e in scan_compiled_wxml(COMPILED, "app-wxss.js")]
    assert rows == [
        ("button", ("getPhoneNumber",), None, "pages/login/login.wxml", None, 15),
        ("input", (), "nickname", "pages/login/login.wxml", None, 16),
        ("button", ("getPhoneNumber",), None, "pages/login/login.wxml", None, 17),
        ("camera", (), None, "pages/login/login.wxml", None, 19),
    ]


def test_corpus_compiled_wxml(corpus: Path) -> None:
    data = (corpus / "wxapkg" / "jamielhf-test.wxapkg").read_bytes()
    entry = next(e for e in parse_wxapkg(data) if e.name == "/app-wxss.js")
    text = data[entry.offset : entry.offset + entry.size].decode("utf-8")
    buttons = {(e.file, e.open_types) for e in scan_compiled_wxml(text, "app-wxss.js") if e.tag == "button"}
    assert ("pages/login/login.wxml", ("getUserInfo",)) in buttons
    assert ("pages/detail/detail.wxml", ("getUserInfo",)) in buttons
    assert {ot for _, ots in buttons for ot in ots} == {"getUserInfo", "feedback", "share"}


def test_corpus_page_frame_html(corpus: Path) -> None:
    data = (corpus / "wxapkg" / "haoduojisuanqi-calculator.wxapkg").read_bytes()
    entry = next(e for e in parse_wxapkg(data) if e.name == "/page-frame.html")
    text = data[entry.offset : entry.offset + entry.size].decode("utf-8")
    rows = {(e.tag, e.open_types, e.input_type, e.file) for e in scan_compiled_wxml(text, "page-frame.html")}
    assert ("button", ("share",), None, "pages/age/age.wxml") in rows
    assert ("input", (), "digit", "pages/loan/loan.wxml") in rows
    assert {e[0] for e in rows} == {"button", "input"}
