"""The traffic detection set: PI in every encoding the decoder reads, and negative controls.

Each :class:`Case` is one request (or one WebSocket message) with the profile-matched items it
must yield (``expect``: PI type and a fragment of the claim's location) or, for a negative
control, the promise that it yields no claim about this phone. The values are those of
``samples/device-profile.yaml``. Used by ``tests/traffic/test_detection_set.py`` (sent through a
real mitmdump over HTTP/1.1, HTTP/2 and WSS) and by ``bench/traffic_bench.py`` (offline speed on
the mixed set, :func:`request_data`). Random payloads (the encrypted-body controls) come from a
seeded generator, so the set is the same on every run.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from scanner.traffic.observation import RequestData

_RANDOM = random.Random(20261204)


def _random_bytes(n: int) -> bytes:
    return _RANDOM.randbytes(n)


REPO = Path(__file__).resolve().parents[2]  # the repository (scanner/testing/ is two below)
PROFILE = REPO / "samples" / "device-profile.yaml"
IMEI, IMEI2, IMSI, ICCID = "861234567890127", "861234567890135", "460001234567890", "89860012345678901234"
SERIAL, AID = "R58M12ABCDE", "9774d56d682e549c"
OAID, GAID = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", "38400000-8cf0-11bd-b23e-10b96e40000d"
MAC, BSSID, BT = "ac:37:43:12:34:56", "f4:6d:04:aa:bb:cc", "ac:37:43:65:43:21"
PHONE, LAT, LON = "13800138000", 39.9087, 116.3975
CLIP, APPS = "piscan-clipboard-canary-7f3a", ["org.piscan.canary.alpha", "org.piscan.canary.beta", "com.tencent.mm"]
FORM = "application/x-www-form-urlencoded"


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def js(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def varint(n: int) -> bytes:
    """Protobuf base-128 varint."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_bytes(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(data)) + data


def pb_double(number: int, value: float) -> bytes:
    """A double protobuf field (wire type 1)."""
    return varint(number << 3 | 1) + struct.pack("<d", value)


def raw_deflate(data: bytes) -> bytes:
    return zlib.compress(data)[2:-4]


@dataclass
class Case:
    """One request (or WebSocket message) and what it must, or must not, yield."""

    name: str
    body: bytes = b""
    content_type: str = ""
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    expect: list[tuple[str, str]] = field(default_factory=list)  #: (pi_type, fragment of the claim's location)
    negative: bool = False  #: must yield no claim about this phone
    opaque: bool = False  #: must list an opaque item
    http2: bool = False
    websocket: bool = False
    encoding: str = ""  #: Content-Encoding


ZH = "设备名称"
CASES = [
    # --- positives: query, path, headers, cookies -------------------------------------------------
    Case("query-plain", query=f"imei={IMEI}&aid={AID}", expect=[("imei", "query:imei"), ("android_id", "query:aid")]),
    Case("query-latlng", query=f"lat={LAT}&lng={LON}&t=1", expect=[("location_precise", "query.{lat,lng}")]),
    Case("query-double-url", query="d=" + quote(quote(json.dumps({"oaid": OAID}))), expect=[("advertising_id", "query:d")]),
    Case("header-plain", headers={"X-Aid": AID, "X-Imsi-B64": base64.urlsafe_b64encode(js({"imsi": IMSI, "iccid": ICCID})).decode()},
         expect=[("android_id", "header:X-Aid"), ("imsi", "header:X-Imsi-B64:base64"), ("iccid", "header:X-Imsi-B64:base64")]),
    Case("cookie-b64", headers={"Cookie": f"o={b64(OAID)}; c={b64(CLIP)}"},
         expect=[("advertising_id", "cookie:o:base64"), ("clipboard", "cookie:c:base64")]),
    Case("jwt", headers={"X-Session": "eyJhbGciOiJIUzI1NiJ9." + base64.urlsafe_b64encode(js({"aid": AID, "sub": "u1"})).decode().rstrip("=")
                         + ".c2lnbmF0dXJl"}, expect=[("android_id", ":jwt:$.aid")]),
    # --- JSON bodies ------------------------------------------------------------------------------
    Case("json-plain", js({"imei": IMEI, "mac": MAC, "bt": BT, "tel": "+86" + PHONE}), "application/json",
         expect=[("imei", "$.imei"), ("mac_address", "$.mac"), ("bluetooth_mac", "$.bt"), ("phone_number", "$.tel")]),
    Case("json-hashes", js({"i": hashlib.md5(IMEI.encode()).hexdigest(), "a": hashlib.sha1(AID.encode()).hexdigest(),
                            "o": hashlib.sha256(OAID.encode()).hexdigest(), "m": MAC.replace(":", "").upper()}), "application/json",
         expect=[("imei", "$.i"), ("android_id", "$.a"), ("advertising_id", "$.o"), ("mac_address", "$.m")]),
    Case("json-imei-list", js({"imeis": [IMEI, IMEI2], "pad": ["a", "b", "c"]}), "application/json",
         expect=[("imei", "$.imeis[0]"), ("imei", "$.imeis[1]")]),
    Case("json-xy", js({"location": {"x": LON, "y": LAT}, "acc": 20}), "application/json",
         expect=[("location_precise", "$.location.{y,x}")]),
    Case("json-e6", js({"poi": {"latE6": 0, "lat": round(LAT * 1e6), "lng": round(LON * 1e6)}}), "application/json",
         expect=[("location_precise", "$.poi.{lat,lng}")]),
    Case("json-lonlat-string", js({"location": f"{LON},{LAT}"}), "application/json", expect=[("location_precise", "$.location")]),
    Case("json-apps-clip", js({"apps": APPS, "clip": CLIP, "gaid": GAID}), "application/json",
         expect=[("installed_apps", "$.apps"), ("clipboard", "$.clip"), ("advertising_id", "$.gaid")]),
    Case("json-gzip-body", js({"wifi": {"bssid": BSSID, "ssid": "PIScan-Lab"}, "serial": SERIAL}), "application/json", encoding="gzip",
         expect=[("wifi_info", "$.wifi.bssid"), ("wifi_info", "$.wifi.ssid"), ("serial_number", "$.serial")]),
    Case("json-zlib-b64", js({"blob": b64(zlib.compress(js({"imsi": IMSI, "iccid": ICCID})))}), "application/json",
         expect=[("imsi", ":base64:zlib:$.imsi"), ("iccid", ":base64:zlib:$.iccid")]),
    Case("json-deflate-b64", js({"z": b64(raw_deflate(js({"android_id": AID, "pad": "x" * 40})))}), "application/json",
         expect=[("android_id", ":deflate:$.android_id")]),
    Case("json-hex", js({"h": js({"imei": IMEI, "sn": SERIAL}).hex(), "hi": IMEI.encode().hex()}), "application/json",
         expect=[("imei", ":hex:$.imei"), ("serial_number", ":hex:$.sn"), ("imei", "$.hi:hex")]),
    # --- forms --------------------------------------------------------------------------------------
    Case("form-b64-json", ("ext=" + quote(b64(js({"oaid": OAID, "imei": IMEI, "aid": AID})))).encode(), FORM,
         expect=[("advertising_id", "form:ext:base64:$.oaid"), ("imei", "form:ext:base64:$.imei"), ("android_id", "form:ext:base64:$.aid")]),
    Case("form-sensors", ("crc=1&gzip=1&data_list=" + quote(b64(gzip.compress(js([{"distinct_id": AID, "properties": {
        "$imei": IMEI, "$oaid": OAID, "$mac": MAC}}]))))).encode(), FORM,
        expect=[("android_id", "data_list:base64:gzip:$[0].distinct_id"), ("imei", "gzip:$[0].properties.$imei"),
                ("advertising_id", "gzip:$[0].properties.$oaid"), ("mac_address", "gzip:$[0].properties.$mac")]),
    Case("form-latlng", f"latitude={LAT}&longitude={LON}&city=bj".encode(), FORM, expect=[("location_precise", "{latitude,longitude}")]),
    Case("form-urljson", ("j=" + quote(json.dumps({"mobile": PHONE}))).encode(), FORM, expect=[("phone_number", "form:j:$.mobile")]),
    Case("form-gbk", (f"name={quote(ZH.encode('gb18030'))}&imei={IMEI}&dev=" + quote("Examiner Redmi".encode("gb18030"))).encode(),
         FORM + "; charset=GBK", expect=[("imei", "form:imei"), ("device_info", "form:dev")]),
    Case("form-gbk-raw", f"note={ZH}&imsi={IMSI}".encode("gb18030"), FORM, expect=[("imsi", "form:imsi")]),
    Case("form-b64-zlib", ("g=" + quote(b64(zlib.compress(GAID.encode())))).encode(), FORM, expect=[("advertising_id", "form:g:base64:zlib")]),
    # --- XML, multipart, protobuf, text -------------------------------------------------------------
    Case("xml", f'<req><dev imei="{IMEI}"><oaid>{OAID}</oaid></dev><gps><lat>{LAT}</lat><lon>{LON}</lon></gps></req>'.encode(),
         "text/xml", expect=[("imei", "xml:/req/dev/@imei"), ("advertising_id", "xml:/req/dev/oaid"), ("location_precise", "xml:/req/gps")]),
    Case("multipart", (b"--B\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n"
                       + js({"sn": SERIAL, "imsi": IMSI}) + b"\r\n--B--\r\n"), "multipart/form-data; boundary=B",
         expect=[("serial_number", "multipart:meta:$.sn"), ("imsi", "multipart:meta:$.imsi")]),
    Case("protobuf", pb_bytes(1, pb_bytes(3, IMSI.encode()) + pb_bytes(4, b64(OAID).encode())) + pb_double(5, LAT) + pb_double(6, LON),
         "application/x-protobuf", expect=[("imsi", "protobuf:1.3"), ("advertising_id", "protobuf:1.4:base64"),
                                           ("location_precise", "protobuf:{5,6}")]),
    Case("text-body", f"device {AID} serial {SERIAL}".encode(), "text/plain",
         expect=[("android_id", "body"), ("serial_number", "body")]),
    # --- HTTP/2 ---------------------------------------------------------------------------------------
    Case("h2-query", query=f"imei={IMEI}", http2=True, expect=[("imei", "query:imei")]),
    Case("h2-json", js({"oaid": OAID, "loc": {"lat": LAT, "lng": LON}}), "application/json", http2=True,
         expect=[("advertising_id", "$.oaid"), ("location_precise", "$.loc.{lat,lng}")]),
    Case("h2-form", f"aid={AID}".encode(), FORM, http2=True, expect=[("android_id", "form:aid")]),
    # --- WebSocket (WSS) messages --------------------------------------------------------------------
    Case("ws-json", js({"imei": IMEI, "oaid": OAID}), websocket=True, expect=[("imei", "message:$.imei"), ("advertising_id", "message:$.oaid")]),
    Case("ws-b64", b64(js({"aid": AID, "lat": LAT, "lon": LON})).encode(), websocket=True,
         expect=[("android_id", "message:base64:$.aid"), ("location_precise", "message:base64:$.{lat,lon}")]),
    Case("ws-protobuf", pb_bytes(2, IMSI.encode()) + pb_bytes(3, MAC.encode()), websocket=True,
         expect=[("imsi", "message:protobuf:2"), ("mac_address", "message:protobuf:3")]),
    # --- negative controls --------------------------------------------------------------------------
    Case("neg-order-id", js({"order_id": "490154203237518", "amount": 12}), "application/json", negative=True),
    Case("neg-bssids", js({"wifi_list": [{"bssid": "f4:6d:04:11:22:33"}, {"bssid": "f4:6d:04:44:55:66"}], "router": "00:1a:2b:3c:4d:5e"}),
         "application/json", negative=True),
    Case("neg-poi", js({"poi": {"lat": 31.2304, "lng": 121.4737}, "name": "上海"}), "application/json", negative=True),
    Case("neg-poi-query", query="location=121.4737,31.2304&radius=500", negative=True),
    Case("neg-aes-body", _random_bytes(64), "application/octet-stream", negative=True, opaque=True),
    Case("neg-aes-short", _random_bytes(32), "application/octet-stream", negative=True, opaque=True),
    Case("neg-aes-in-form", ("d=" + quote(b64(_random_bytes(96)))).encode(), FORM, negative=True, opaque=True),
    Case("neg-tokens", js({"token": _random_bytes(16).hex(), "nonce": b64(_random_bytes(18)), "req": "550e8400-e29b-41d4-a716-446655440000",
                           "sign": hashlib.sha256(b"x").hexdigest()}), "application/json", negative=True),
    Case("neg-timestamps", js({"ts": 1764836400123, "t": 1764836400, "dur": 1500.25}), "application/json", negative=True),
    Case("neg-peer-bt", js({"bt_devices": ["3c:5a:b4:01:02:03", "3c:5a:b4:01:02:04"]}), "application/json", negative=True),
    Case("neg-other-mobile", js({"mobile": "13912340000"}), "application/json", negative=True),
    Case("neg-other-imei-md5", js({"i": hashlib.md5(b"861234567890143").hexdigest()}), "application/json", negative=True),
    Case("neg-layout-xy", js({"button": {"x": 39.5, "y": 116.25}, "scale": "0.8765,0.1234"}), "application/json", negative=True),
    Case("neg-e6-price", js({"price": 39908700, "stock": 116397500}), "application/json", negative=True),
    Case("neg-two-packages", js({"cfg": "com.example.app,com.example.lib"}), "application/json", negative=True),
    Case("neg-other-imei", query="sn=490154203237518", negative=True),
]


def request_data(case: Case, host: str = "127.0.0.1", port: int = 443, timestamp: float = 1764836400.0) -> RequestData:
    """The request (or WebSocket message) a case sends, as the analyser sees it."""
    headers = dict(case.headers)
    if case.content_type:
        headers["Content-Type"] = case.content_type
    body = case.body
    if case.encoding == "gzip":
        body, headers["Content-Encoding"] = gzip.compress(body, mtime=0), "gzip"
    path = (f"/ws/{case.name}" if case.websocket else f"/c/{case.name}") + (f"?{case.query}" if case.query else "")
    return RequestData(
        flow_id=case.name, timestamp=timestamp, method="WS" if case.websocket else "POST" if body else "GET",
        scheme="https", host=host, port=port, url=f"https://{host}:{port}{path}", path=path,
        http_version="HTTP/2.0" if case.http2 else "HTTP/1.1",
        headers=() if case.websocket else tuple((k.encode(), v.encode("utf-8")) for k, v in headers.items()),
        content=body, timestamp_end=timestamp, channel="websocket" if case.websocket else "http")
