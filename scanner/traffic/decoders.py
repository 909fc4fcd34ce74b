"""Decode a request into text fields with locations, before any PI matching.

Content encodings (gzip, deflate, br, zstd) are undone with a size cap; the body is then read as
JSON (nested paths like ``$.device.imei``), a form, multipart parts, protobuf wire format
(``protobuf:1.3``) or text. Query parameters, path segments, headers and cookies become fields
too, and JSON found inside headers, cookies or base64 values is walked recursively. Bodies that
cannot be decoded are reported as opaque with a reason, never as clean.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import operator
import re
import zlib
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl, unquote, urlsplit

import brotli
import zstandard

from .observation import RequestData

DEFAULT_BODY_CAP = 1 << 20  #: bytes of decoded body analysed per request
_MAX_DEPTH = 6
_B64_RE = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
_TEXT_BYTES = bytes(b for b in range(256) if b in _PRINTABLE or b >= 0x80)  # deleted to count the rest
_SKIP_HEADERS = frozenset({"host", "content-length", "content-type", "content-encoding", "connection",
                           "accept", "accept-encoding", "accept-language", "transfer-encoding", "cookie"})


class Field(NamedTuple):
    """One decoded text value and where it was found (a named tuple: a 64 KiB JSON body makes
    thousands of them, and a frozen dataclass costs three times as much to build)."""

    location: str
    text: str
    via: str = ""  #: "base64" when the text came out of a base64 value, else ""
    aggregate: bool = False  #: a list's items joined for list detectors; profile matching skips it


class JoinedFields:
    """Field texts joined by NUL, so that each detector runs one regex scan per request instead
    of one per field (a 64 KiB JSON body has thousands of fields; per-field scans cost ~20 ms).
    No detector's pattern matches NUL, and NUL is not a letter or digit, so a hit never spans
    two fields and lookarounds at a field's edge behave as at the start or end of a string."""

    SEP = "\x00"

    def __init__(self, fields: list[Field]) -> None:
        self.fields = fields
        self.text = self.SEP.join(f.text for f in fields)
        self.starts: list[int] = []
        pos = 0
        for fld in fields:
            self.starts.append(pos)
            pos += len(fld.text) + 1

    def field_at(self, offset: int) -> Field:
        """The field holding character ``offset`` of the joined text."""
        return self.fields[bisect_right(self.starts, offset) - 1]

    def before(self, offset: int, width: int) -> str:
        """Up to ``width`` characters before ``offset``, within its own field."""
        start = self.starts[bisect_right(self.starts, offset) - 1]
        return self.text[max(start, offset - width):offset]


@dataclass
class Decoded:
    """Everything readable in one request."""

    fields: list[Field] = field(default_factory=list)
    opaque: bool = False
    opaque_reason: str | None = None
    truncated: bool = False


def decode_request(req: RequestData, body_cap: int = DEFAULT_BODY_CAP) -> Decoded:
    """Split a request into located text fields (URL, headers, cookies, body)."""
    out = Decoded()
    parts = urlsplit(req.url)
    for index, segment in enumerate(s for s in parts.path.split("/") if s):
        _add_text(out, f"path:{index}", unquote(segment), 0)
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        _add_text(out, f"query:{key}", value, 0)
    for raw_key, raw_value in req.headers:
        name = raw_key.decode("latin-1")
        value = raw_value.decode("utf-8", "replace")
        lower = name.lower()
        if lower == "cookie":
            for cookie in value.split(";"):
                ckey, sep, cvalue = cookie.strip().partition("=")
                if sep:
                    _add_text(out, f"cookie:{ckey}", unquote(cvalue), 0)
        elif lower not in _SKIP_HEADERS:
            _add_text(out, f"header:{name}", value, 0)
    if req.content:
        _decode_body(out, req, body_cap)
    return out


def _decode_body(out: Decoded, req: RequestData, body_cap: int) -> None:
    encoding = (req.header("content-encoding") or "").lower()
    raw = req.content
    if len(raw) > body_cap:
        raw = raw[:body_cap]
        out.truncated = True
    try:
        body, cut = decompress(raw, encoding, body_cap)
    except ValueError as exc:
        out.opaque, out.opaque_reason = True, str(exc)
        return
    out.truncated = out.truncated or cut
    _decode_payload(out, "body", body, req.header("content-type") or "", 0)


def decompress(data: bytes, encoding: str, cap: int) -> tuple[bytes, bool]:
    """Undo a Content-Encoding chain; return at most ``cap`` bytes and whether they were cut.

    Raises ``ValueError`` naming the encoding when the data does not decode.
    """
    cut = False
    for name in [e.strip() for e in encoding.split(",") if e.strip()][::-1]:
        try:
            if name in ("gzip", "x-gzip", "deflate"):
                wbits = 47 if name != "deflate" else (15 if data[:1] == b"\x78" else -15)
                dec = zlib.decompressobj(wbits)
                result = dec.decompress(data, cap + 1)
            elif name == "br":
                result = _brotli(data, cap)
            elif name == "zstd":
                reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
                result = reader.read(cap + 1)
            elif name == "identity":
                continue
            else:
                raise ValueError(f"unsupported content encoding {name!r}")
        except (zlib.error, brotli.error, zstandard.ZstdError) as exc:
            raise ValueError(f"body does not decode as {name}: {exc}") from None
        if len(result) > cap:
            result, cut = result[:cap], True
        data = result
    return data, cut


def _brotli(data: bytes, cap: int) -> bytes:
    dec = brotli.Decompressor()
    chunks: list[bytes] = []
    size = 0
    for start in range(0, len(data), 65536):
        piece = dec.process(data[start:start + 65536])
        chunks.append(piece)
        size += len(piece)
        if size > cap:
            break
    return b"".join(chunks)


def _decode_payload(out: Decoded, loc: str, body: bytes, content_type: str, depth: int) -> None:
    """Decode a body or a nested part by content type, falling back to sniffing."""
    stripped = body.lstrip()
    raw_type, content_type = content_type, content_type.lower()
    if "multipart/" in content_type:
        _multipart(out, loc, body, raw_type, depth)
        return
    if "protobuf" in content_type or "proto" in content_type.split(";")[0]:
        fields = parse_protobuf(body)
        if fields is not None:
            _protobuf_fields(out, f"{loc}:protobuf", fields, depth)
            return
    if stripped[:1] in (b"{", b"[") and _json(out, loc, stripped, depth):
        return
    text = _as_text(body)
    if text is not None:
        if "x-www-form-urlencoded" in content_type or _looks_like_form(text):
            for key, value in parse_qsl(text, keep_blank_values=False):
                _add_text(out, f"{loc}:form:{key}", value, depth + 1)
            return
        _add_text(out, loc, text, depth)
        return
    fields = parse_protobuf(body)
    if fields is not None and _plausible_protobuf(fields):
        _protobuf_fields(out, f"{loc}:protobuf", fields, depth)
        return
    if loc == "body" or not out.opaque:
        out.opaque = True
        out.opaque_reason = opaque_reason(body, content_type)


def opaque_reason(body: bytes, content_type: str) -> str:
    """Why a binary body could not be inspected (entropy tells encrypted/compressed apart)."""
    entropy = shannon_entropy(body[:65536])
    kind = content_type.split(";")[0].strip() or "no content type"
    if entropy >= 7.0:
        return f"high-entropy binary body ({entropy:.2f} bits/byte, {kind}): encrypted or compressed"
    return f"binary body of unknown format ({entropy:.2f} bits/byte, {kind})"


def shannon_entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte."""
    if not data:
        return 0.0
    total = len(data)
    # H = log2(n) - sum(c * log2(c)) / n, one logarithm per distinct byte value
    counts = list(Counter(data).values())
    return math.log2(total) - sum(map(operator.mul, counts, map(math.log2, counts))) / total


def _as_text(body: bytes) -> str | None:
    if not body:
        return ""
    sample = body[:4096]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # a cut may split a multi-byte character at the end
        try:
            text = body[:-3].decode("utf-8") + body[-3:].decode("utf-8", "ignore")
        except UnicodeDecodeError:
            return None
    control = len(sample.translate(None, _TEXT_BYTES))
    return text if len(sample) - control >= 0.95 * len(sample) else None


def _looks_like_form(text: str) -> bool:
    head = text[:2048]
    return "=" in head and " " not in head.strip() and "\n" not in head.strip() and bool(
        re.match(r"^[\w.\-\[\]%]+=", head))


def _json(out: Decoded, loc: str, data: bytes | str, depth: int) -> bool:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return False
    if not isinstance(value, (dict, list)):
        return False
    fields = len(out.fields)
    try:
        _walk_json(out, loc + ":$", value, depth)
    except RecursionError:  # nested nearly as deep as the parser allows: read it as text instead
        del out.fields[fields:]
        return False
    return True


def _walk_json(out: Decoded, path: str, value: object, depth: int) -> None:
    if isinstance(value, dict):
        lat = lon = None
        for key, item in value.items():
            child = f"{path}.{key}"
            _walk_json(out, child, item, depth)
            lk = str(key).lower()
            if lk in ("lat", "latitude", "la"):
                lat = item
            elif lk in ("lng", "lon", "longitude", "lo"):
                lon = item
        if lat is not None and lon is not None and not isinstance(lat, (dict, list)) and not isinstance(lon, (dict, list)):
            out.fields.append(Field(f"{path}.{{lat,lon}}", f"{lat},{lon}"))
    elif isinstance(value, list):
        strings = [v for v in value if isinstance(v, str)]
        for index, item in enumerate(value):
            _walk_json(out, f"{path}[{index}]", item, depth)
        if len(strings) >= 3:
            out.fields.append(Field(f"{path}[*]", ",".join(strings), aggregate=True))
    elif isinstance(value, str):
        _add_text(out, path, value, depth + 1)
    elif value is not None and not isinstance(value, bool):
        out.fields.append(Field(path, str(value)))


def _add_text(out: Decoded, loc: str, text: str, depth: int, via: str = "") -> None:
    """Add a text field, or what it decodes to (JSON) when it does; base64 values get both."""
    stripped = text.strip()
    if depth < _MAX_DEPTH and stripped[:1] in ("{", "[") and _json(out, loc, stripped, depth + 1):
        return
    out.fields.append(Field(loc, text, via))
    if depth >= _MAX_DEPTH or len(text) < 2:
        return
    if len(stripped) >= 16 and _B64_RE.match(stripped):
        decoded = _b64decode(stripped)
        if decoded is not None:
            inner = decoded.lstrip()
            if inner[:1] in (b"{", b"[") and _json(out, loc + ":base64", inner, depth + 1):
                return
            text2 = _as_text(decoded)
            if text2 is not None and text2.isprintable():
                _add_text(out, loc + ":base64", text2, depth + 1, "base64")


def _b64decode(text: str) -> bytes | None:
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _multipart(out: Decoded, loc: str, body: bytes, content_type: str, depth: int) -> None:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        out.opaque, out.opaque_reason = True, "multipart body without a readable boundary"
        return
    for index, part in enumerate(message.iter_parts()):
        name = part.get_param("name", header="content-disposition") or str(index)
        payload = part.get_payload(decode=True) or b""
        _decode_payload(out, f"{loc}:multipart:{name}", payload, part.get_content_type(), depth + 1)


# --- protobuf wire format ---------------------------------------------------------------------

ProtoField = tuple[int, int, "int | bytes"]  # field number, wire type, value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def parse_protobuf(data: bytes) -> list[ProtoField] | None:
    """Parse protobuf wire format without a schema; ``None`` unless the bytes parse exactly."""
    fields: list[ProtoField] = []
    pos = 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0:
                return None
            if wire == 0:
                value, pos = _varint(data, pos)
                fields.append((number, wire, value))
            elif wire == 1:
                if pos + 8 > len(data):
                    return None
                fields.append((number, wire, int.from_bytes(data[pos:pos + 8], "little")))
                pos += 8
            elif wire == 2:
                length, pos = _varint(data, pos)
                if pos + length > len(data):
                    return None
                fields.append((number, wire, data[pos:pos + length]))
                pos += length
            elif wire == 5:
                if pos + 4 > len(data):
                    return None
                fields.append((number, wire, int.from_bytes(data[pos:pos + 4], "little")))
                pos += 4
            else:
                return None
    except ValueError:
        return None
    return fields if fields else None


def _plausible_protobuf(fields: list[ProtoField]) -> bool:
    """Random bytes rarely parse; demand small field numbers so noise is not taken as protobuf."""
    return all(number < 1000 for number, _, _ in fields) and len(fields) <= 4096


def _protobuf_fields(out: Decoded, loc: str, fields: list[ProtoField], depth: int) -> None:
    for number, _wire, value in fields:
        path = f"{loc}:{number}" if loc.endswith(":protobuf") else f"{loc}.{number}"
        if isinstance(value, int):
            out.fields.append(Field(path, str(value)))
            continue
        nested = parse_protobuf(value) if depth < _MAX_DEPTH and value else None
        text = _as_text(value)
        if text is not None and (nested is None or text.isprintable()):
            _add_text(out, path, text, depth + 1)
        elif nested is not None and _plausible_protobuf(nested):
            _protobuf_fields(out, path, nested, depth + 1)
        elif value:
            out.opaque = True
            out.opaque_reason = f"undecodable bytes in protobuf field {path.split(':protobuf:')[-1]}"
