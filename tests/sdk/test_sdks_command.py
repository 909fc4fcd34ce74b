"""``piscan sdks list|show|match`` through ``scanner.cli.main`` (scanner/commands/sdks.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.cli import main


def test_list_by_category(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdks", "list", "--category", "push"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    ids = [line.split("\t")[0] for line in lines]
    assert {"jpush", "getui", "xiaomi_push", "oppo_push", "vivo_push", "honor_push", "huawei_push", "umeng_push"} <= set(ids)
    assert ids == sorted(ids)
    assert all(line.split("\t")[1] == "push" for line in lines)
    assert "jpush\tpush\t极光推送 / JPush (JiGuang)\t深圳市和讯华谷信息技术有限公司" in lines
    assert f"{len(lines)} SDKs (pack piscan-sdks" in out.err


def test_list_json_and_unknown_category(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdks", "list", "--category", "payment", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    alipay = next(r for r in rows if r["id"] == "alipay_sdk")
    assert alipay["vendor"] == {"zh": "支付宝（中国）网络技术有限公司", "en": "Alipay"}
    assert main(["sdks", "list", "--category", "tracking"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("piscan: unknown category 'tracking'; categories: advertising, analytics,")
    assert len(err.strip().splitlines()) == 1


def test_show_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdks", "show", "getui"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "getui: 个推推送 / Getui Push"
    assert "  vendor: 每日互动股份有限公司 / Getui (Daily Interactive)" in out
    assert "    com.igexin.sdk  [appscan, curated]" in out
    assert main(["sdks", "show", "bugly", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["id"] == "bugly" and rec["category"] == "crash_reporting"
    libs = {row["value"]: row["sources"] for row in rec["signatures"]["native_lib"]}
    assert libs["libBugly.so"] == ["curated", "libchecker"]
    assert libs["libBugly-rqd.so"] == ["curated", "libchecker"]
    assert "libchecker" in rec["provenance"]


def test_show_unknown_id_suggests_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdks", "show", "jpsuh"]) == 2
    err = capsys.readouterr().err
    assert err == "piscan: no SDK 'jpsuh' in the pack; did you mean: jpush\n"
    assert main(["sdks", "show", "zzzzqqq"]) == 2
    assert "see 'piscan sdks list'" in capsys.readouterr().err


def test_match_text_output(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdks", "match", str(corpus / "apk" / "myweixintest-wechat-opensdk-release.apk")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("com.ansen.shoenet: ")
    assert "wechat_opensdk  [login_share, high]  微信开放平台SDK（登录/分享/支付） / WeChat OpenSDK (login, share, pay)  (深圳市腾讯计算机系统有限公司)" in out
    assert "    code_prefix: com.tencent.mm.opensdk  (134 classes)" in out
    assert "    host: api.weixin.qq.com" in out
    assert out[-1] == "(3 open-source libraries not listed; use --all)"


def test_match_json_on_the_largest_apk(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sdks", "match", "--json", str(corpus / "apk" / "airtest-yosemite-1.1.0.449.apk")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["app"]["package"] == "com.netease.nie.yosemite"
    assert data["app"]["classes"] == 13184
    assert data["packers"] == []
    x5 = next(r for r in data["sdks"] if r["sdk_id"] == "tencent_x5")
    assert x5["confidence"] == "high" and x5["class_count"] == 383
    assert len(data["pack"]["sha256"]) == 64


def test_match_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.apk"
    bad.write_bytes(b"not a zip at all")
    assert main(["sdks", "match", str(bad)]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"piscan: {bad}") and len(err.strip().splitlines()) == 1
