"""Deterministic, realistic SDK requests for tests, the sample session and the benchmark.

Hosts, paths and header shapes follow ``corpus/traffic/SDK-ENDPOINTS.md`` (strings found in the
corpus APKs and public reports: Umeng ``ulogs.umeng.com/unify_logs`` with ``Content-Type: ut/a``
envelopes, Bugly ``android.bugly.qq.com/rqd/async`` JCE packages, DCloud
``stream.dcloud.net.cn/collect/startup?appid=%s&imei=%s&s=%d``, Alibaba
``amdcopen.m.taobao.com/amdc/mobileDispatch``) plus JPush and Getui hosts from the SDK pack. The
identifier values are those of ``samples/device-profile.yaml``. Bodies said to be encrypted are
deterministic pseudo-random bytes; everything else is plain JSON, forms or query strings.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator

from mitmproxy import http
from mitmproxy.test import tflow

IMEI = "861234567890127"
ANDROID_ID = "9774d56d682e549c"
OAID = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
WIFI_MAC = "ac:37:43:12:34:56"
T0 = 1_764_358_800.0  #: 2025-11-28T19:40:00Z


def pseudo_random(seed: str, size: int) -> bytes:
    """Deterministic high-entropy bytes (stand-in for an encrypted SDK envelope)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def make_flow(index: int, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
              timestamp: float, status: int = 200) -> http.HTTPFlow:
    """A finished HTTP flow with a fixed id and fixed timestamps."""
    request = http.Request.make(method, url, b"", dict(headers))
    request.raw_content = body  # as sent: make() would content-encode it a second time
    request.timestamp_start = timestamp
    request.timestamp_end = timestamp + 0.01
    flow = tflow.tflow(req=request, resp=True)
    flow.id = str(uuid.UUID(int=index + 1))
    flow.response.status_code = status
    flow.response.timestamp_start = timestamp + 0.05
    flow.response.timestamp_end = timestamp + 0.06
    flow.client_conn.timestamp_start = flow.server_conn.timestamp_start = timestamp - 0.1
    return flow


def sdk_requests() -> list[tuple[str, str, list[tuple[str, str]], bytes]]:
    """(method, url, headers, body) of one round of typical Chinese-SDK requests."""
    umeng_sdk = "a/9.6.3 1.0.0/Android/shop/Redmi Note 12/13 9b1c"
    getui = {"action": "register", "cid": "", "imei": IMEI, "mac": WIFI_MAC.replace(":", ""),
             "oaid": OAID, "model": "Redmi Note 12", "apps": ["com.tencent.mm", "com.taobao.taobao",
                                                               "org.piscan.canary.alpha"]}
    jpush = {"platform": "a", "imei_md5": hashlib.md5(IMEI.encode()).hexdigest(),
             "android_id": hashlib.sha1(ANDROID_ID.encode()).hexdigest(), "lat": 39.9088, "lng": 116.3977}
    return [
        ("POST", "https://ulogs.umeng.com/unify_logs",
         [("Content-Type", "ut/a"), ("Msg-Type", "envelope/json"), ("X-Umeng-Sdk", umeng_sdk),
          ("X-Umeng-UTC", "1764358800000")], pseudo_random("umeng", 1536)),
        ("POST", "https://android.bugly.qq.com/rqd/async?aid=4b1d",
         [("Content-Type", "application/octet-stream"), ("wup_version", "3.0")], pseudo_random("bugly", 900)),
        ("GET", f"http://stream.dcloud.net.cn/collect/startup?appid=HBuilder&imei={IMEI}&s=0", [], b""),
        ("GET", "http://amdcopen.m.taobao.com/amdc/mobileDispatch?appkey=umeng%3A5f1a2b3c4d5e6f7a8b9c0d1e"
                "&deviceId=XnJ4bWZ1c2VydGRpZDAx&platform=android&v=5.0", [], b""),
        ("POST", "https://tsis.jpush.cn/v1/report",
         [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
         gzip.compress(json.dumps(jpush).encode(), mtime=0)),
        ("POST", "https://sdk.open.phone.igexin.com/api.php",
         [("Content-Type", "application/x-www-form-urlencoded")],
         ("data=" + base64.b64encode(json.dumps(getui).encode()).decode()).encode()),
        ("POST", "https://api.example.com/v2/login", [("Content-Type", "application/json")],
         json.dumps({"user": "demo", "device": {"android_id": ANDROID_ID}}).encode()),
        ("GET", "https://cdn.unknown-tracker.net/p.gif?t=1", [], b""),
    ]


def sdk_flows(rounds: int = 1, start: float = T0, step: float = 1.0) -> Iterator[http.HTTPFlow]:
    """``rounds`` rounds of :func:`sdk_requests` as finished flows, one request every ``step`` s."""
    requests = sdk_requests()
    for index in range(rounds * len(requests)):
        method, url, headers, body = requests[index % len(requests)]
        yield make_flow(index, method, url, headers, body, start + index * step)


def clean_flows(count: int, start: float = T0) -> Iterator[http.HTTPFlow]:
    """Requests holding no profile value (for false-positive and overhead measurements)."""
    for index in range(count):
        doc = {"event": "page_view", "page": f"/item/{index}", "ts": int(start * 1000) + index,
               "session": hashlib.sha1(f"s{index}".encode()).hexdigest()[:16], "screen": "1080x2400"}
        yield make_flow(index, "POST", f"https://log.example-analytics.com/collect?n={index}",
                        [("Content-Type", "application/json")], json.dumps(doc).encode(), start + index * 0.01)


DEMO_PACKAGE = "cn.piscan.demo"
DEMO_UMENG_APPKEY = "5f0000000000000000000000"  #: the demo APK's manifest meta-data UMENG_APPKEY
_PHONE_UA = "Dalvik/2.1.0 (Linux; U; Android 13; Redmi Note 12 Build/TKQ1.221114.001)"


def _umeng_demo(event: str, extra: dict[str, object]) -> tuple[str, str, list[tuple[str, str]], bytes]:
    header = {"appkey": DEMO_UMENG_APPKEY, "package_name": DEMO_PACKAGE, "app_version": "1.0.0", "os": "Android",
              "sdk_version": "9.6.3", "event": event, **extra}
    return ("POST", "https://ulogs.umeng.com/unify_logs",
            [("Content-Type", "application/json"), ("User-Agent", _PHONE_UA)], json.dumps({"header": header}).encode())


def demo_session_requests() -> list[tuple[str, str, list[tuple[str, str]], bytes]]:
    """(method, url, headers, body) of the sample session recorded for the demo APK
    (``samples/piscan-demo.apk``, ``cn.piscan.demo``) on a phone where another app
    (``com.example.shop``) is running too.

    The demo app's requests carry its ties: its own host ``stat.piscan-demo.cn`` (named in its
    code), ``api.piscan-demo.cn``, and Umeng requests with its package and manifest app key. The
    other app's Getui, DCloud, JPush and Bugly requests carry none, so a scan of the demo APK
    lists them as unattributed. Index 0-4 before consent, 5-8 after, 9-11 in the background.
    """
    jpush = {"platform": "a", "imei_md5": hashlib.md5(IMEI.encode()).hexdigest(), "lat": 39.9088, "lng": 116.3977}
    getui = {"action": "register", "imei": IMEI, "mac": WIFI_MAC.replace(":", ""), "pkg": "com.example.shop",
             "apps": ["com.tencent.mm", DEMO_PACKAGE, "com.taobao.taobao"]}  # the list names the demo app: no tie
    return [
        ("GET", f"http://stat.piscan-demo.cn/collect?imei={IMEI}", [("User-Agent", _PHONE_UA)], b""),
        _umeng_demo("launch", {"android_id": ANDROID_ID, "oaid": OAID}),
        ("POST", "https://sdk.open.phone.igexin.com/api.php", [("Content-Type", "application/x-www-form-urlencoded")],
         ("data=" + base64.b64encode(json.dumps(getui).encode()).decode()).encode()),
        ("GET", f"http://stream.dcloud.net.cn/collect/startup?appid=HBuilder&imei={IMEI}&s=0", [], b""),
        ("GET", "https://cdn.unknown-tracker.net/p.gif?t=1", [], b""),
        ("POST", "https://api.piscan-demo.cn/v1/privacy/consent", [("Content-Type", "application/json")],
         json.dumps({"agreed": True, "device": {"android_id": ANDROID_ID}}).encode()),
        _umeng_demo("page", {"android_id": ANDROID_ID, "imei": IMEI, "mac": WIFI_MAC}),
        ("POST", "https://tsis.jpush.cn/v1/report", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
         gzip.compress(json.dumps(jpush).encode(), mtime=0)),
        ("GET", f"http://stat.piscan-demo.cn/collect?imei={IMEI}", [("User-Agent", _PHONE_UA)], b""),
        _umeng_demo("heartbeat", {"android_id": ANDROID_ID}),
        ("POST", "https://android.bugly.qq.com/rqd/async?aid=4b1d",
         [("Content-Type", "application/octet-stream"), ("wup_version", "3.0")], pseudo_random("bugly", 900)),
        _umeng_demo("heartbeat", {"android_id": ANDROID_ID}),
    ]


def demo_session_flows(start: float = T0, step: float = 20.0) -> Iterator[http.HTTPFlow]:
    """:func:`demo_session_requests` as finished flows, one every ``step`` seconds."""
    for index, (method, url, headers, body) in enumerate(demo_session_requests()):
        yield make_flow(index, method, url, headers, body, start + index * step)
