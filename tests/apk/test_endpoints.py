"""Endpoint extraction: URLs, conservative bare hosts, e-mail addresses, sources, cleartext."""

from __future__ import annotations

import pytest

from scanner.apk.endpoints import extract_endpoints, find_endpoints, is_bare_host, url_host


def values(strings: list[str], kind: str | None = None) -> list[str]:
    return [e.value for e in find_endpoints([("classes.dex", "dex", strings)]) if kind is None or e.kind == kind]


@pytest.mark.parametrize(
    "package",
    ["com.tencent.mm", "cn.jpush.android", "com.google.android.gms.ads", "com.tencent.smtt.sdk.app",
     "org.apache.http.client", "io.reactivex.disposables", "android.intent.action.VIEW", "java.lang.String",
     "com.umeng.analytics.pro.ax", "kotlin.io", "androidx.core.app"],
)
def test_java_package_names_are_not_hosts(package: str) -> None:
    assert values([package]) == []
    assert not is_bare_host(package.lower())


@pytest.mark.parametrize("name", ["libjpush219.so", "config.json", "index.html", "app.py", "readme.md",
                                  "run.sh", "icon@2x.png", "1.2.3.4", "R.string.app", "v1.0.0"])
def test_file_names_and_versions_are_not_endpoints(name: str) -> None:
    assert values([name]) == []


@pytest.mark.parametrize("code", ["if (this.id) {", "var n = plus.os.name;", "window.top.location", "res.info",
                                  "row.th = 1", "this.app.start()", "e.target.name"])
def test_script_member_access_is_not_a_host(code: str) -> None:
    # hybrid apps ship JavaScript in assets/; property chains must not become hosts
    assert values([code]) == []


def test_url_stops_at_non_ascii_text() -> None:
    assert values(["请在 https://www.instapaper.com/上注册"]) == ["https://www.instapaper.com/"]


def test_bare_hosts() -> None:
    found = values(["ulogs.umeng.com", "cn.bing.com", "see api.github.io for docs", "ANDROID.BUGLY.QQ.COM",
                    "x.y.example.cn/path"], "host")
    # upper-case tokens are not trusted as hosts; "cn.bing.com" is a host although it starts like a package
    assert found == ["api.github.io", "cn.bing.com", "ulogs.umeng.com", "x.y.example.cn"]


def test_urls_hosts_and_cleartext() -> None:
    eps = {e.value: e for e in find_endpoints([("classes.dex", "dex", [
        "http://stream.dcloud.net.cn/collect/startup?appid=%s&imei=%s",
        "HTTPS://Api.Weixin.QQ.com/sns/oauth2/access_token?secret=",
        "wss://push.example.cn:8443/ws", "ws://10.0.0.2:9000/", "url(\"https://cdn.example.com/a.png\");",
        "http://schemas.android.com/apk/res/android", "http://www.w3.org/2000/svg", "http://%s/x",
    ])])}
    assert sorted(eps) == [
        "http://stream.dcloud.net.cn/collect/startup?appid=%s&imei=%s",
        "https://Api.Weixin.QQ.com/sns/oauth2/access_token?secret=",
        "https://cdn.example.com/a.png",
        "ws://10.0.0.2:9000/",
        "wss://push.example.cn:8443/ws",
    ]
    assert eps["http://stream.dcloud.net.cn/collect/startup?appid=%s&imei=%s"].cleartext is True
    assert eps["ws://10.0.0.2:9000/"].cleartext is True and eps["ws://10.0.0.2:9000/"].host == "10.0.0.2"
    weixin = eps["https://Api.Weixin.QQ.com/sns/oauth2/access_token?secret="]
    assert (weixin.host, weixin.cleartext) == ("api.weixin.qq.com", False)
    assert eps["wss://push.example.cn:8443/ws"].host == "push.example.cn"


def test_url_host_parsing() -> None:
    assert url_host("https://user:pw@Example.COM:8080/p?q#f") == "example.com"
    assert url_host("http://[2001:db8::1]:80/") == "[2001:db8::1]"
    assert url_host("http://%s/x") is None
    assert url_host("https://localhost/") is None  # no dot: not a public endpoint


def test_emails() -> None:
    found = values(["Contact: Foo.Bar@Example.COM.", "icon@2x.png", "user@localhost", "a@b.c",
                    "https://u:p@host.example.com/"], "email")
    assert found == ["foo.bar@example.com"]


def test_sources_are_merged_and_sorted() -> None:
    rows = extract_endpoints([
        ("classes2.dex", "dex", ["https://a.example.com/x"]),
        ("assets/www/index.js", "asset", ["fetch('https://a.example.com/x')"]),
        ("classes.dex", "dex", ["https://a.example.com/x", "https://a.example.com/x"]),
        ("resources.arsc", "resource", ["mail admin@example.org"]),
    ])
    assert rows == [
        {"id": "endpoint:email:admin@example.org", "kind": "email", "value": "admin@example.org",
         "host": "example.org", "cleartext": False, "sources": [{"file": "resources.arsc", "kind": "resource"}]},
        {"id": "endpoint:url:https://a.example.com/x", "kind": "url", "value": "https://a.example.com/x",
         "host": "a.example.com", "cleartext": False,
         "sources": [{"file": "assets/www/index.js", "kind": "asset"}, {"file": "classes.dex", "kind": "dex"},
                     {"file": "classes2.dex", "kind": "dex"}]},
    ]


def test_bad_source_kind() -> None:
    with pytest.raises(ValueError, match="not 'code'"):
        extract_endpoints([("x", "code", ["https://a.example.com"])])


def test_many_strings_stay_linear() -> None:
    strings = [f"com.example.pkg{i}.Cls" for i in range(50_000)] + ["https://t.example.com/z"] * 10
    assert values(strings) == ["https://t.example.com/z"]
