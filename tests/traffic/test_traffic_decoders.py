"""Decoding before matching: content encodings, JSON, forms, multipart, base64, protobuf, caps."""

from __future__ import annotations

import base64
import gzip
import json
import os
import zlib

import brotli
import pytest
import zstandard

from scanner.traffic.decoders import decode_request, decompress, parse_protobuf
from scanner.traffic.observation import RequestData


def _req(body: bytes = b"", headers: tuple[tuple[bytes, bytes], ...] = (), url: str = "https://h.example/p") -> RequestData:
    return RequestData("f", 0.0, "POST", "https", "h.example", 443, url, "/p", "HTTP/1.1", headers, body)


def _fields(decoded) -> dict[str, str]:
    return {f.location: f.text for f in decoded.fields}


DOC = {"device": {"imei": "861234567890127", "ids": ["a1", {"oaid": "x-y"}]}}


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
    ("zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_content_encodings_then_nested_json(encoding, compress) -> None:
    body = compress(json.dumps(DOC).encode())
    fields = _fields(decode_request(_req(body, ((b"Content-Encoding", encoding.encode()),))))
    assert fields["body:$.device.imei"] == "861234567890127"
    assert fields["body:$.device.ids[0]"] == "a1"
    assert fields["body:$.device.ids[1].oaid"] == "x-y"


def test_bad_compressed_body_is_opaque_not_clean() -> None:
    decoded = decode_request(_req(b"not gzip at all", ((b"Content-Encoding", b"gzip"),)))
    assert decoded.opaque and "gzip" in decoded.opaque_reason
    assert [f.location for f in decoded.fields] == ["path:0"]


def test_query_path_form_cookie_and_header_json() -> None:
    req = _req(
        b"a=1&imei=861234567890127&j=%7B%22k%22%3A%22v%22%7D",
        ((b"Content-Type", b"application/x-www-form-urlencoded"),
         (b"Cookie", b"sid=abc; dev=%7B%22mac%22%3A%22ac%3A37%22%7D"),
         (b"X-Info", b'{"model": "Redmi", "net": {"ssid": "PIScan-Lab"}}')),
        url="https://h.example/v1/861234567890127/x?lat=39.9&lng=116.4",
    )
    fields = _fields(decode_request(req))
    assert fields["path:1"] == "861234567890127"
    assert fields["query:lat"] == "39.9"
    assert fields["body:form:imei"] == "861234567890127"
    assert fields["body:form:j:$.k"] == "v"
    assert fields["cookie:sid"] == "abc"
    assert fields["cookie:dev:$.mac"] == "ac:37"
    assert fields["header:X-Info:$.net.ssid"] == "PIScan-Lab"


def test_base64_values_decode_to_json_and_text() -> None:
    inner = base64.b64encode(json.dumps({"imsi": "460001234567890"}).encode()).decode()
    text = base64.urlsafe_b64encode(b"piscan-clipboard-canary-7f3a").decode()
    fields = _fields(decode_request(_req(json.dumps({"p": inner, "c": text}).encode())))
    assert fields["body:$.p:base64:$.imsi"] == "460001234567890"
    decoded = [f for f in decode_request(_req(json.dumps({"c": text}).encode())).fields if f.location == "body:$.c:base64"]
    assert decoded[0].text == "piscan-clipboard-canary-7f3a" and decoded[0].transforms == "base64" and decoded[0].chain == "json:$.c → base64"


def test_multipart_parts_are_decoded_by_their_type() -> None:
    boundary = "XyZ"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n"
            '{"iccid": "89860012345678901234"}\r\n'
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello canary\r\n--{boundary}--\r\n").encode()
    fields = _fields(decode_request(_req(body, ((b"Content-Type", f"multipart/form-data; boundary={boundary}".encode()),))))
    assert fields["body:multipart:meta:$.iccid"] == "89860012345678901234"
    assert fields["body:multipart:note"] == "hello canary"


def test_protobuf_recursive_field_paths() -> None:
    # field 1 { field 3: "460001234567890", field 5 { field 1: 42 } }, field 2: 150
    inner5 = b"\x08\x2a"
    inner = b"\x1a\x0f460001234567890" + b"\x2a" + bytes([len(inner5)]) + inner5
    body = b"\x0a" + bytes([len(inner)]) + inner + b"\x10\x96\x01"
    assert parse_protobuf(body) == [(1, 2, inner), (2, 0, 150)]
    fields = _fields(decode_request(_req(body, ((b"Content-Type", b"application/x-protobuf"),))))
    assert fields["body:protobuf:1.3"] == "460001234567890"
    assert fields["body:protobuf:1.5.1"] == "42"
    assert fields["body:protobuf:2"] == "150"


def test_high_entropy_body_is_opaque_with_reason() -> None:
    decoded = decode_request(_req(os.urandom(4096), ((b"Content-Type", b"ut/a"),)))
    assert decoded.opaque
    assert decoded.opaque_reason.startswith("opaque: likely encrypted or compressed") and "ut/a" in decoded.opaque_reason


def test_body_cap_cuts_and_records_it() -> None:
    big = json.dumps({"pad": "x" * 5000, "imei": "861234567890127"}).encode()
    decoded = decode_request(_req(gzip.compress(big), ((b"Content-Encoding", b"gzip"),)), body_cap=1000)
    assert decoded.truncated
    assert all("861234567890127" not in f.text for f in decoded.fields)
    assert decompress(gzip.compress(b"a" * 10_000), "gzip", 100) == (b"a" * 100, True)


def test_nested_compression_has_a_per_request_budget() -> None:
    """A form of 400 base64 gzip values, each inflating to 1 MiB: the request stops inflating
    at its 8 MiB budget and says it was cut, instead of inflating 400 MiB."""
    import time
    from urllib.parse import quote

    from scanner.traffic.decoders import INFLATE_BUDGET

    bomb = quote(base64.b64encode(gzip.compress(b"\0" * (1 << 20))).decode())
    body = "&".join(f"f{i}={bomb}" for i in range(400)).encode()
    start = time.monotonic()
    decoded = decode_request(_req(body, ((b"Content-Type", b"application/x-www-form-urlencoded"),)))
    assert decoded.truncated and decoded.inflate_left <= 0
    assert sum(len(f.text) for f in decoded.fields) < 2 * INFLATE_BUDGET
    assert time.monotonic() - start < 30


def test_json_deeper_than_the_nesting_limit_is_read_as_text_in_every_process() -> None:
    """The limit is PIScan's own (JSON_NESTING), not the interpreter's stack: a pool process and
    the writer, at different stack depths, read the same document the same way (review of issue 14)."""
    from scanner.traffic.decoders import JSON_NESTING

    def nested(levels: int) -> bytes:
        return ('{"a":' * levels + '"861234567890127"' + "}" * levels).encode()

    shallow = decode_request(_req(nested(JSON_NESTING), ((b"content-type", b"application/json"),)))
    assert [f.location for f in shallow.fields if f.location.startswith("body")] == ["body:$" + ".a" * JSON_NESTING]
    deep = decode_request(_req(nested(JSON_NESTING + 1), ((b"content-type", b"application/json"),)))
    assert [f.location for f in deep.fields if f.location.startswith("body")] == ["body"] and not deep.opaque_items


def _reference_json_fields(value: object, path: str = "$") -> list[tuple[str, str, str, str]]:
    """What the decoder must read from a JSON body of plain values, written the obvious way:
    (location, text, chain, kind) of each short string and number, a list of three or more
    strings joined, and a coordinate pair by its keys."""
    from scanner.traffic.coords import pair_in

    out: list[tuple[str, str, str, str]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)  # type: ignore[union-attr]
    for key, item in items:
        step = f".{key}" if isinstance(value, dict) else f"[{key}]"
        if isinstance(item, (dict, list)):
            out += _reference_json_fields(item, path + step)
        elif isinstance(item, str) or (isinstance(item, (int, float)) and not isinstance(item, bool)):
            out.append((f"body:{path}{step}", str(item), f"json:{path}{step}", ""))
    if isinstance(value, dict):
        found = pair_in(path, value)
        if found is not None:
            lat_key, lon_key, lat, lon = found
            out.append((f"body:{path}.{{{lat_key},{lon_key}}}", f"{lat},{lon}", f"json:{path}:{{{lat_key},{lon_key}}}", "pair"))
    else:
        strings = [item for item in value if isinstance(item, str)]  # type: ignore[union-attr]
        if len(strings) >= 3:
            out.append((f"body:{path}[*]", ",".join(strings), f"json:{path}[*]", "list"))
    return out


def test_json_values_are_read_as_the_obvious_walk_reads_them() -> None:
    """The decoder keeps JSON values as lean tuples, turned into fields only when asked
    (issue 14: 64 KiB batches). Seeded random documents of short values, nested objects and
    arrays, coordinate objects (any key case) and string lists give exactly the fields of the
    obvious walk above, in the same order."""
    import random

    rng = random.Random(14)
    keys = ["a", "lat", "LNG", "Latitude", "longitude", "x", "y", "pos", "loc", "apps", "id", "0", "list"]

    def leaf() -> object:
        return rng.choice([rng.randint(-10**13, 10**13), round(rng.uniform(-200, 200), rng.randint(0, 7)), True, None,
                           "", "com.tencent.mm", "8612345", "page_12", "中文", " x", rng.choice(keys)])

    def doc(depth: int = 0) -> object:
        if rng.random() < 0.1:  # a coordinate object, as SDKs write them
            lat, lon = round(rng.uniform(18, 53), 6), round(rng.uniform(73, 135), 6)
            return rng.choice([{"lat": lat, "LNG": lon}, {"Latitude": str(lat), "longitude": lon, "a": 1},
                               {"x": lon, "y": lat}, {"lat": int(lat * 1e6), "lng": int(lon * 1e6)}])
        if depth > 3 or rng.random() < 0.35:
            return leaf()
        if rng.random() < 0.5:
            return {rng.choice(keys): doc(depth + 1) for _ in range(rng.randint(0, 5))}
        return [doc(depth + 1) for _ in range(rng.randint(0, 5))]

    compared = pairs = 0
    for _ in range(400):
        value = doc()
        if not isinstance(value, (dict, list)):
            continue
        decoded = decode_request(_req(json.dumps(value, ensure_ascii=False).encode(), ((b"content-type", b"application/json"),)))
        got = [(f.location, f.text, f.chain, f.kind) for f in decoded.fields if f.location.startswith("body")]
        assert got == _reference_json_fields(value), value
        compared += len(got)
        pairs += sum(kind == "pair" for *_, kind in got)
    assert compared > 1000 and pairs > 20


def test_only_small_key_sets_are_remembered_for_the_coordinate_test() -> None:
    """Hostile bodies of many-keyed or long-keyed objects cannot fill the key-set memory."""
    from scanner.traffic.coords import KNOWN_KEY_SETS

    before = len(KNOWN_KEY_SETS)
    for n in range(20):
        many = {f"k{n}_{i}": i for i in range(100)}
        long = {"k" * 2000 + str(n): 1, "lat": 39.9}
        decode_request(_req(json.dumps([many, long]).encode(), ((b"content-type", b"application/json"),)))
    assert len(KNOWN_KEY_SETS) == before
    decode_request(_req(b'{"lat": 39.9, "lng": 116.3}', ((b"content-type", b"application/json"),)))
    assert len(KNOWN_KEY_SETS) <= before + 1


@pytest.mark.parametrize("value", ["\\ud800%41", "a=\\udfff&b=%41", "%\\ud800aaaaaaaaaaaaaaaaa"])
def test_a_lone_surrogate_beside_percent_escapes_does_not_stop_the_analysis(value: str) -> None:
    """JSON may carry a lone surrogate; percent-decoding a value that holds one raised
    UnicodeEncodeError, and the request became an "analysis error" with no match at all, so an
    app could hide PI behind one such value (hostile review of issue 14)."""
    from scanner.traffic.analyze import Analyzer
    from scanner.traffic.party import PartyResolver

    body = ('{"a": "' + value + '", "imei": "861234567890127"}').encode()
    analyzer = Analyzer(None, PartyResolver("com.example.app"))
    matches, _opaque, _truncated = analyzer.read(_req(body, ((b"content-type", b"application/json"),)))
    assert [(m.pi_type, m.location) for m in matches] == [("imei", "body:$.imei")]
