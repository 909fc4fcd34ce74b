"""Decode a request into text fields with locations and decoding chains, before any PI matching.

Content encodings (gzip, deflate, br, zstd) are undone with a size cap. Then every value, from
the URL, headers, cookies and the body, goes through one recursive leaf decoder with a depth and
size budget:

- containers: JSON, forms (UTF-8 or GBK/GB18030 percent-encoding), multipart, XML, protobuf
  wire format (fixed-width fields also read as coordinates), JWT payloads;
- transforms: base64 and url-safe base64, hex, URL encoding, gzip, zlib, raw deflate,
  GBK/GB18030 text.

A decoded value replaces its encoded form, so each occurrence is read once, at its deepest
position. Each field carries its ``location`` (``body:form:ext:base64:$.oaid``), its decoding
``chain`` (``form:ext → base64 → json:$.oaid``) and the ``transforms`` undone on the way
(``base64``). A binary leaf that decodes to nothing readable becomes an :class:`OpaqueItem`
(likely encrypted or compressed, with the reason), never a clean field.
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
from email.parser import BytesParser
from email.policy import HTTP
from itertools import accumulate
from operator import itemgetter
from typing import NamedTuple, Union, cast
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import brotli
import zstandard

from .coords import KNOWN_KEY_SETS, may_hold_pair, pair_in
from .observation import OpaqueItem, RequestData, opaque_summary
from .protobuf import ProtoField, as_coordinate, parse_protobuf, plausible

__all__ = ["DEFAULT_BODY_CAP", "Decoded", "Field", "JoinedFields", "OpaqueItem", "Part", "as_field", "decode_request",
           "decompress", "opaque_reason", "parse_protobuf", "shannon_entropy"]

DEFAULT_BODY_CAP = 1 << 20  #: bytes of decoded body analysed per request
MAX_DEPTH = 8  #: nested decodings of one value (base64 in JSON in a form field counts 3)
#: nesting of one JSON document that is walked; a deeper one is read as text. A fixed limit far
#: below the interpreter's keeps the outcome the same in every process, whatever its stack depth
#: (8 nested decodings of 64 levels stay under Python's default recursion limit)
JSON_NESTING = 64
MAX_FIELDS = 50_000  #: fields kept per request; the rest is cut and the request marked truncated
INFLATE_BUDGET = 8 << 20  #: bytes that nested gzip/zlib/deflate values may inflate to, per request
OPAQUE_MIN_BYTES = 48  #: a shorter undecodable token inside a text value is a token, not a hidden payload
ARROW = " → "
_B64_RE = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")
_HEX_RE = re.compile(r"^(?:[0-9a-f]{2}){8,}$|^(?:[0-9A-F]{2}){8,}$")
_HASH_HEX_LENGTHS = frozenset({32, 40, 64, 128})  #: md5, sha1, sha256, sha512 digests stay text
_JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]+\.(eyJ[A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_PCT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_FORM_KEY = re.compile(r"^[\w.\-\[\]%]+$")
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
_TEXT_BYTES = bytes(b for b in range(256) if b in _PRINTABLE or b >= 0x80)  # deleted to count the rest
_SKIP_HEADERS = frozenset({"host", "content-length", "content-type", "content-encoding", "connection",
                           "accept", "accept-encoding", "accept-language", "transfer-encoding", "cookie"})
#: headers whose long opaque values are credentials by convention, not hidden payloads
_TOKEN_HEADERS = frozenset({"authorization", "proxy-authorization", "if-none-match", "etag"})


class Field(NamedTuple):
    """One decoded text value and where it was found (a named tuple: a 64 KiB JSON body makes
    thousands of them, and a frozen dataclass costs three times as much to build)."""

    location: str  #: machine path, e.g. ``body:form:ext:base64:$.oaid``
    text: str
    chain: str = ""  #: decoding chain, e.g. ``form:ext → base64 → json:$.oaid``
    transforms: str = ""  #: the encodings undone on the way, e.g. ``base64 → gzip`` ("" for none)
    kind: str = ""  #: "" a value | "list" a list's items joined (list detectors only) | "pair" a coordinate pair

    @property
    def aggregate(self) -> bool:
        """Built from several values (a list, a coordinate pair) rather than read as one."""
        return self.kind == "list"


#: A JSON value read as its own text, as the decoder keeps it: the plain tuple ``(key, text,
#: place)``, which costs a fifth of an object to build (a 64 KiB analytics batch has thousands of
#: values, and almost none is ever claimed). :func:`as_field` turns it into a :class:`Field`.
#: The text is item 1, as in :class:`Field`; the last item is a place, never a ``kind`` string,
#: which :meth:`JoinedFields.has_lists` relies on.
LeanLeaf = tuple[Union[str, int], str, "_JsonPlace"]
#: One decoded part of a request: a :class:`Field`, or a JSON value as a :data:`LeanLeaf`.
Part = Union[Field, LeanLeaf]
_TEXT_OF = itemgetter(1)
_LAST_OF = itemgetter(-1)


def as_field(part: Part) -> Field:
    """The part as a :class:`Field` (a JSON value's location and chain strings are built here)."""
    if type(part) is tuple:  # a LeanLeaf (a Field is a tuple subclass)
        key, text, place = cast(LeanLeaf, part)
        step = _json_step(key)
        return Field(_place_loc(place) + step, text, _place_chain(place) + step, place[_AT].transforms)
    return cast(Field, part)


class JoinedFields:
    """Field texts joined by NUL, so that each detector runs one regex scan per request instead
    of one per field (a 64 KiB JSON body has thousands of fields; per-field scans cost ~20 ms).
    No detector's pattern matches NUL, and NUL is not a letter or digit, so a hit never spans
    two fields and lookarounds at a field's edge behave as at the start or end of a string."""

    SEP = "\x00"

    def __init__(self, parts: list[Part] | list[Field]) -> None:  # a Field list is a Part list
        self.parts: list[Part] = cast("list[Part]", parts)
        # C iterators only: no Python call per part
        self.texts: list[str] = list(map(_TEXT_OF, parts))
        self.text = self.SEP.join(self.texts)
        # start of text i: the lengths before it plus one separator each
        self.starts: list[int] = list(map(operator.add, accumulate(map(len, self.texts), initial=0), range(len(self.texts))))

    def has_lists(self) -> bool:
        """Whether a part is a list's items joined (``kind`` ``list``, read by list detectors only)."""
        return "list" in map(_LAST_OF, self.parts)  # a LeanLeaf's last item is a place

    def without_lists(self) -> JoinedFields:
        """The same parts less the lists' items joined (self when there are none)."""
        if not self.has_lists():
            return self
        return JoinedFields([p for p in self.parts if _LAST_OF(p) != "list"])

    def field(self, index: int) -> Field:
        """Part ``index`` as a field."""
        return as_field(self.parts[index])

    def field_at(self, offset: int) -> Field:
        """The field holding character ``offset`` of the joined text."""
        return as_field(self.parts[bisect_right(self.starts, offset) - 1])

    def before(self, offset: int, width: int) -> str:
        """Up to ``width`` characters before ``offset``, within its own field."""
        start = self.starts[bisect_right(self.starts, offset) - 1]
        return self.text[max(start, offset - width):offset]


@dataclass
class Decoded:
    """Everything readable in one request, and what was not."""

    #: what was read, in reading order (JSON values as :data:`LeanLeaf`; :attr:`fields` gives fields)
    parts: list[Part] = field(default_factory=list)
    opaque_items: list[OpaqueItem] = field(default_factory=list)
    truncated: bool = False
    inflate_left: int = INFLATE_BUDGET  #: what nested compressed values may still inflate to

    @property
    def fields(self) -> list[Field]:
        """What was read, as fields (a new list: :attr:`parts` is what the decoder appends to)."""
        return list(map(as_field, self.parts))

    @property
    def opaque(self) -> bool:
        """Some part of the request could not be read."""
        return bool(self.opaque_items)

    @property
    def opaque_reason(self) -> str | None:
        """The first opaque item, as one line (``None`` when everything was read)."""
        return opaque_summary(self.opaque_items)


class _At(NamedTuple):
    """Where a value sits: machine location, decoding chain, transforms undone, depth."""

    loc: str
    chain: str
    transforms: str
    depth: int

    def step(self, loc_suffix: str, chain_step: str, transform: str = "") -> _At:
        return _At(self.loc + loc_suffix, f"{self.chain}{ARROW}{chain_step}" if self.chain else chain_step,
                   (f"{self.transforms}{ARROW}{transform}" if self.transforms else transform) if transform else self.transforms,
                   self.depth + 1)


def decode_request(req: RequestData, body_cap: int = DEFAULT_BODY_CAP) -> Decoded:
    """Split a request into located text fields (URL, headers, cookies, body); a WebSocket
    message is its content alone (``message:…``: its URL and headers belong to the handshake)."""
    out = Decoded()
    if req.channel == "websocket":
        _payload(out, _At("message", "", "", 0), req.content[:body_cap], "")
        out.truncated = len(req.content) > body_cap
        return out
    parts = urlsplit(req.url)
    for index, segment in enumerate(s for s in parts.path.split("/") if s):
        _text_leaf(out, _At(f"path:{index}", f"path:{index}", "", 0), unquote(segment), form=False, opaque_ok=False)
    if parts.query:
        _pairs(out, "query", "", "", 0, _form_items(parts.query), "query")
    for raw_key, raw_value in req.headers:
        name = raw_key.decode("latin-1")
        lower = name.lower()
        if lower == "cookie":
            value = raw_value.decode("utf-8", "replace")
            for cookie in value.split(";"):
                ckey, sep, cvalue = cookie.strip().partition("=")
                if sep:
                    _text_leaf(out, _At(f"cookie:{ckey}", f"cookie:{ckey}", "", 0), unquote(cvalue), form=False,
                               opaque_ok=False)
        elif lower not in _SKIP_HEADERS:
            text, transform = _bytes_as_text(raw_value)
            at = _At(f"header:{name}", f"header:{name}", transform or "", 0)
            _text_leaf(out, at, text if text is not None else raw_value.decode("latin-1"), form=False,
                       opaque_ok=lower not in _TOKEN_HEADERS)
    if req.content:
        _decode_body(out, req, body_cap)
    if len(out.parts) > MAX_FIELDS:
        del out.parts[MAX_FIELDS:]
        out.truncated = True
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
        out.opaque_items.append(OpaqueItem("body", "body", f"opaque: {exc}", len(raw)))
        return
    out.truncated = out.truncated or cut
    names = [e.strip() for e in encoding.split(",") if e.strip() and e.strip() != "identity"]
    at = _At("body", ARROW.join(f"content-encoding:{n}" for n in names), "", 0)
    _payload(out, at, body, req.header("content-type") or "")


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


# --- bodies and binary leaves -----------------------------------------------------------------

def _payload(out: Decoded, at: _At, body: bytes, content_type: str) -> None:
    """Decode a body or a multipart part by content type, falling back to sniffing."""
    raw_type, content_type = content_type, content_type.lower()
    if "multipart/" in content_type:
        _multipart(out, at, body, raw_type)
        return
    if "protobuf" in content_type or "proto" in content_type.split(";")[0]:
        fields = parse_protobuf(body)
        if fields is not None:
            _protobuf(out, at.step(":protobuf", "protobuf"), fields)
            return
    form = "x-www-form-urlencoded" in content_type
    if not _bytes_leaf(out, at, body, strict=False, form=True if form else None):
        kind = content_type.split(";")[0].strip() or "no content type"
        out.opaque_items.append(OpaqueItem(at.loc, at.chain or at.loc, opaque_reason(body, kind), len(body)))


def _bytes_leaf(out: Decoded, at: _At, data: bytes, strict: bool, form: bool | None = None) -> bool:
    """Decode bytes: compressed data, text, protobuf. With ``strict`` (bytes that came out of a
    base64 or hex value) only a decoding that yields something readable counts; without, bytes
    that stay unreadable are left to the caller. True when the bytes were read."""
    if not data:
        return not strict
    if at.depth >= MAX_DEPTH:
        return False
    inflated = _inflate(data, out)
    if inflated is not None:
        name, plain = inflated
        return _bytes_leaf(out, at.step(f":{name}", name, name), plain, strict=False, form=form)
    text, transform = _bytes_as_text(data)
    if text is not None and (not strict or (not transform and _readable(text))):
        leaf_at = at.step(f":{transform}", transform, transform) if transform else at
        _text_leaf(out, leaf_at, text, form=form)
        return True
    fields = parse_protobuf(data)
    if fields is not None and plausible(fields, strict=strict):
        _protobuf(out, at.step(":protobuf", "protobuf"), fields)
        return True
    if strict:
        raw = _raw_inflate(data, out)
        if raw is not None:
            return _bytes_leaf(out, at.step(":deflate", "deflate", "deflate"), raw, strict=True, form=form)
    return False


def _readable(text: str) -> bool:
    """Text that a decoding produced by design, not by chance: no control characters, and ASCII
    when short (random bytes rarely spell 16 printable ASCII characters, often a few CJK ones)."""
    if _CONTROL_RE.search(text) is not None:
        return False
    return len(text) >= 32 or text.isascii()


def _inflate(data: bytes, out: Decoded) -> tuple[str, bytes] | None:
    """gzip or zlib data recognised by its header, inflated within the request's inflate budget
    (a form of a thousand small gzip bombs stops there, marked truncated)."""
    if data[:2] == b"\x1f\x8b":
        name, wbits = "gzip", 47
    elif len(data) > 2 and data[0] == 0x78 and (data[0] << 8 | data[1]) % 31 == 0:
        name, wbits = "zlib", 15
    else:
        return None
    plain = _bounded_inflate(data, wbits, out)
    return (name, plain) if plain is not None else None


def _raw_inflate(data: bytes, out: Decoded) -> bytes | None:
    """Raw deflate has no header: accept it only when the stream ends cleanly."""
    return _bounded_inflate(data, -15, out, need_end=True)


def _bounded_inflate(data: bytes, wbits: int, out: Decoded, need_end: bool = False) -> bytes | None:
    if out.inflate_left <= 0:
        out.truncated = True
        return None
    try:
        dec = zlib.decompressobj(wbits)
        plain = dec.decompress(data, min(DEFAULT_BODY_CAP, out.inflate_left))
    except zlib.error:
        return None
    if need_end and (not dec.eof or not plain):
        return None
    out.inflate_left -= len(plain)
    if dec.unconsumed_tail:
        out.truncated = True
    return plain


def opaque_reason(body: bytes, kind: str = "") -> str:
    """Why bytes could not be read, in the words an examiner needs: ``opaque: likely encrypted or
    compressed (…)`` when they look random, else ``opaque: binary data of unknown format (…)``.

    Short data cannot reach 8 bits/byte, so randomness is judged against the most entropy its
    length allows; a length that is a multiple of 16 is noted (AES output)."""
    sample = body[:65536]
    entropy = shannon_entropy(sample)
    ceiling = math.log2(min(len(sample), 256)) if len(sample) > 1 else 1.0
    facts = [f"{len(body):,} bytes", f"{entropy:.2f} bits/byte"]
    if kind:
        facts.append(kind)
    if len(sample) >= 16 and entropy >= 0.85 * ceiling:
        if len(body) % 16 == 0:
            facts.append("length a multiple of 16, as AES output")
        return f"opaque: likely encrypted or compressed ({', '.join(facts)})"
    return f"opaque: binary data of unknown format ({', '.join(facts)})"


def shannon_entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte."""
    if not data:
        return 0.0
    total = len(data)
    # H = log2(n) - sum(c * log2(c)) / n, one logarithm per distinct byte value
    counts = list(Counter(data).values())
    return math.log2(total) - sum(map(operator.mul, counts, map(math.log2, counts))) / total


def _bytes_as_text(data: bytes) -> tuple[str | None, str]:
    """(text, "") for UTF-8, (text, "gb18030") for GBK/GB18030 text, (None, "") for binary."""
    if not data:
        return "", ""
    control = len(data[:4096].translate(None, _TEXT_BYTES))
    if control > 0.05 * min(len(data), 4096):
        return None, ""
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3:  # a cut may split a multi-byte character at the end
            try:
                return data[:exc.start].decode("utf-8"), ""
            except UnicodeDecodeError:
                pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return None, ""


# --- text leaves ------------------------------------------------------------------------------

def _text_leaf(out: Decoded, at: _At, text: str, form: bool | None = None, opaque_ok: bool = True) -> None:
    """Add a text value, or what it decodes to when it does (JSON, XML, form, JWT, URL
    encoding, base64, hex); an undecodable long random-looking value is an opaque item."""
    stripped = text.strip()
    if len(stripped) < 16 and "%" not in stripped and "=" not in stripped and stripped[:1] not in ("{", "[", "<"):
        out.parts.append(Field(at.loc, text, at.chain, at.transforms))  # nothing short can hold an encoding
        return
    if at.depth < MAX_DEPTH and len(stripped) >= 2:
        first = stripped[0]
        if first in ("{", "[") and _json(out, at, stripped):
            return
        if first == "<" and _xml(out, at, stripped):
            return
        jwt = _JWT_RE.match(stripped)
        if jwt is not None:
            payload = _b64decode(jwt.group(1))
            if payload is not None and _json(out, at.step(":jwt", "jwt-payload", "base64"), payload.decode("utf-8", "replace")):
                return
        if form is not False and _looks_like_form(stripped, strict=form is None and at.depth > 0):
            _pairs(out, at.loc + ":form", at.chain, at.transforms, at.depth, _form_items(stripped), at.loc, "form")
            return
        if "%" in stripped and _PCT_RE.search(stripped):
            data = _percent_decoded(stripped)
            decoded, transform = _bytes_as_text(data)
            if decoded is not None and decoded != stripped:
                _text_leaf(out, at.step(":url", "url", "url" + (f"{ARROW}{transform}" if transform else "")), decoded,
                           form=form, opaque_ok=opaque_ok)
                return
        if len(stripped) >= 16:
            if _decoded_binary(out, at, stripped, opaque_ok):
                return
    out.parts.append(Field(at.loc, text, at.chain, at.transforms))


def _decoded_binary(out: Decoded, at: _At, text: str, opaque_ok: bool) -> bool:
    """A hex or base64 value: its decoding when readable; an opaque item when long and random."""
    hexed = _HEX_RE.match(text) is not None
    data = binascii.unhexlify(text) if hexed else _b64decode(text) if _B64_RE.match(text) else None
    if data is None:
        return False
    name = "hex" if hexed else "base64"
    if _bytes_leaf(out, at.step(f":{name}", name, name), data, strict=True):
        return True
    if not opaque_ok or len(data) < OPAQUE_MIN_BYTES or (hexed and len(text) in _HASH_HEX_LENGTHS):
        return False
    if not hexed and re.fullmatch(r"[0-9a-fA-F]+", text):
        return False  # hex digits that also parse as base64: a digest, not a payload
    out.parts.append(Field(at.loc, text, at.chain, at.transforms))  # the token itself stays matchable
    out.opaque_items.append(OpaqueItem(at.loc, at.chain, opaque_reason(data, name), len(data)))
    return True


def _b64decode(text: str) -> bytes | None:
    padded = text.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _looks_like_form(text: str, strict: bool) -> bool:
    """``k=v&k2=v2``; a nested value (``strict``) needs two pairs, so a base64 ``abc=`` is no form."""
    if "=" not in text or " " in text[:2048] or "\n" in text[:2048]:
        return False
    parts = text.split("&", 64)
    if strict and len(parts) < 2:
        return False
    for part in parts[:64]:
        key, sep, _ = part.partition("=")
        if not sep or not key or not _FORM_KEY.match(key):
            return False
    return True


def _percent_decoded(text: str) -> bytes:
    """The bytes a percent-encoded text stands for; a lone surrogate (JSON may carry one) is kept
    as its UTF-8 bytes, which no text decoding accepts, instead of stopping the request's analysis."""
    return unquote_to_bytes(text.encode("utf-8", "surrogatepass"))


def _form_items(text: str) -> list[tuple[str, str, str]]:
    """(key, value, transform) of a form or query string; percent-encoded GBK is read as such."""
    items = []
    for part in text.split("&"):
        key, sep, value = part.partition("=")
        if not sep or not value:
            continue
        raw = _percent_decoded(value.replace("+", " "))
        decoded, transform = _bytes_as_text(raw)
        items.append((unquote(key), decoded if decoded is not None else value, transform))
    return items


def _pairs(out: Decoded, loc: str, prefix: str, transforms: str, depth: int, items: list[tuple[str, str, str]],
           container: str, name: str = "query") -> None:
    """The values of a form or query string (``loc`` ``query`` or ``…:form``), and a coordinate
    pair among them; ``prefix`` is the chain that led to the form."""
    mapping: dict[str, object] = {}
    for key, value, transform in items:
        mapping.setdefault(key, value)
        step = f"{name}:{key}"
        leaf_transforms = ARROW.join(t for t in (transforms, transform) if t)
        _text_leaf(out, _At(f"{loc}:{key}", f"{prefix}{ARROW}{step}" if prefix else step, leaf_transforms, depth + 1), value)
    _add_pair(out, loc, f"{prefix}{ARROW}{name}" if prefix else name, transforms, container, mapping)


def _add_pair(out: Decoded, loc: str, chain: str, transforms: str, container: str, mapping: dict[str, object]) -> None:
    found = pair_in(container, mapping)
    if found is not None:
        _add_found_pair(out, loc, chain, transforms, found)


def _add_found_pair(out: Decoded, loc: str, chain: str, transforms: str, found: tuple[str, str, float, float]) -> None:
    lat_key, lon_key, lat, lon = found
    out.parts.append(Field(f"{loc}.{{{lat_key},{lon_key}}}", f"{lat},{lon}",
                            f"{chain}:{{{lat_key},{lon_key}}}", transforms, "pair"))


# --- JSON and XML -----------------------------------------------------------------------------

def _json(out: Decoded, at: _At, data: bytes | str) -> bool:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return False
    if not isinstance(value, (dict, list)):
        return False
    parts, opaque = len(out.parts), len(out.opaque_items)
    try:
        _walk_json(out, at, _new_place(at, None, "$"), value)
    except _TooDeep:  # read as text instead, whatever was walked so far undone
        del out.parts[parts:]
        del out.opaque_items[opaque:]
        return False
    return True


class _TooDeep(Exception):
    """A JSON document nests deeper than :data:`JSON_NESTING`."""


_OPENERS = ("{", "[", "<")


#: A JSON container's place: ``[at, parent place, key there, path, location, chain]``, the root's
#: parent ``None`` and key ``"$"``. A plain list, built once per container (an object per
#: container costs a third of a 64 KiB batch's walk); the three strings are built on first use
#: and kept, so that each container's are built once however many of its values need them.
_JsonPlace = list
_AT, _PARENT, _KEY, _PATH, _LOC, _CHAIN = range(6)


def _new_place(at: _At, parent: _JsonPlace | None, key: str | int) -> _JsonPlace:
    return [at, parent, key, "$" if parent is None else None, None, None]


def _place_path(place: _JsonPlace) -> str:
    """``$.events[0].props``: the JSON path of a container."""
    path = place[_PATH]
    if path is None:
        path = place[_PATH] = _place_path(place[_PARENT]) + _json_step(place[_KEY])
    return cast(str, path)


def _place_loc(place: _JsonPlace) -> str:
    loc = place[_LOC]
    if loc is None:
        loc = place[_LOC] = f"{place[_AT].loc}:{_place_path(place)}"
    return cast(str, loc)


def _place_chain(place: _JsonPlace) -> str:
    chain = place[_CHAIN]
    if chain is None:
        chain = place[_CHAIN] = _chain(place[_AT], f"json:{_place_path(place)}")
    return cast(str, chain)


def _walk_json(out: Decoded, at: _At, place: _JsonPlace, value: object, level: int = 0) -> None:
    """The leaves of a parsed JSON object or array (``value``, at ``place``), depth first.

    A string that cannot hold an encoding (the first test of :func:`_text_leaf`, repeated here
    to save a call per value) and a number become :data:`LeanLeaf` tuples, without a string
    built per value;
    ``json.loads`` gives exact ``dict``/``list``/``str``/``int``/``float``/``bool`` types,
    hence ``type() is``. An object's keys are looked at for a coordinate pair only when one of
    them can name a coordinate (:func:`~scanner.traffic.coords.may_hold_pair`).
    """
    parts, is_object = out.parts, type(value) is dict
    strings: list[str] = []  # an array's strings, joined for the list detectors
    for key, item in (cast(dict, value).items() if is_object else enumerate(cast(list, value))):
        kind = type(item)
        if kind is str:
            if not is_object:
                strings.append(item)
            if len(item) < 16 and "%" not in item and "=" not in item and item.strip()[:1] not in _OPENERS:
                parts.append((key, item, place))
            else:
                _value_leaf(out, at, place, key, item)
        elif kind is int or kind is float:
            parts.append((key, str(item), place))
        elif kind is dict or kind is list:
            if level + 1 >= JSON_NESTING:  # the child would be container number level + 2
                raise _TooDeep
            _walk_json(out, at, _new_place(at, place, key), item, level + 1)
    if is_object:
        keys = tuple(cast(dict, value))
        may = KNOWN_KEY_SETS.get(keys)
        if may or (may is None and may_hold_pair(keys)):
            found = pair_in(_place_path(place), value)  # type: ignore[arg-type]
            if found is not None:
                _add_found_pair(out, _place_loc(place), _place_chain(place), at.transforms, found)
    elif len(strings) >= 3:
        parts.append(Field(f"{_place_loc(place)}[*]", ",".join(strings), f"{_place_chain(place)}[*]", at.transforms,
                           "list"))


def _value_leaf(out: Decoded, at: _At, place: _JsonPlace, key: str | int, text: str) -> None:
    """A JSON string that may hold an encoding, read by :func:`_text_leaf`."""
    step = _json_step(key)
    _text_leaf(out, _At(_place_loc(place) + step, _place_chain(place) + step, at.transforms, at.depth + 1), text)


def _json_step(key: str | int) -> str:
    """The path step to an object member (``.key``) or an array item (``[3]``)."""
    return f".{key}" if type(key) is str else f"[{key}]"


def _chain(at: _At, step: str) -> str:
    return f"{at.chain}{ARROW}{step}" if at.chain else step


def _xml(out: Decoded, at: _At, text: str) -> bool:
    """Element texts and attributes of an XML value (no DTDs, entities or network: hostile)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError):
        return False
    if root is None:
        return False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        path = root.getroottree().getpath(element)
        mapping: dict[str, object] = {}
        for name, value in element.attrib.items():
            mapping[name] = value
            _text_leaf(out, _At(f"{at.loc}:xml:{path}/@{name}", _chain(at, f"xml:{path}/@{name}"), at.transforms,
                                at.depth + 1), value)
        if element.text and element.text.strip():
            _text_leaf(out, _At(f"{at.loc}:xml:{path}", _chain(at, f"xml:{path}"), at.transforms, at.depth + 1),
                       element.text.strip())
        for child in element:
            if isinstance(child.tag, str) and child.text and len(child) == 0:
                mapping.setdefault(etree.QName(child).localname, child.text.strip())
        _add_pair(out, f"{at.loc}:xml:{path}", _chain(at, f"xml:{path}"), at.transforms, path, mapping)
    return True


# --- multipart and protobuf -------------------------------------------------------------------

def _multipart(out: Decoded, at: _At, body: bytes, content_type: str) -> None:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        out.opaque_items.append(OpaqueItem(at.loc, at.chain or at.loc, "opaque: multipart body without a readable boundary",
                                           len(body)))
        return
    for index, part in enumerate(message.iter_parts()):
        name = part.get_param("name", header="content-disposition") or str(index)
        payload = part.get_payload(decode=True)
        _payload(out, at.step(f":multipart:{name}", f"multipart:{name}"), payload if isinstance(payload, bytes) else b"",
                 part.get_content_type())


def _protobuf(out: Decoded, at: _At, fields: list[ProtoField]) -> None:
    """A message's fields (``loc`` ends in ``:protobuf`` or a field path); fixed-width numbers
    that read as coordinates are given as degrees, and a lat/lon-shaped pair as a pair."""
    coordinates: list[tuple[int, float]] = []
    for number, wire, value in fields:
        path = f"{at.loc}:{number}" if at.loc.endswith(":protobuf") else f"{at.loc}.{number}"
        chain = f"{at.chain}:{number}" if at.chain.endswith("protobuf") else f"{at.chain}.{number}"
        here = _At(path, chain, at.transforms, at.depth + 1)
        if isinstance(value, int):
            coordinate = as_coordinate(wire, value)
            if coordinate is not None:
                coordinates.append((number, coordinate))
            out.parts.append(Field(path, str(coordinate if coordinate is not None else value), chain, at.transforms))
            continue
        if not value:
            continue
        value = cast(bytes, value)  # parse_protobuf gives views only of a view; requests are bytes
        nested = parse_protobuf(value) if at.depth < MAX_DEPTH else None
        text, transform = _bytes_as_text(value)
        if text is not None and (nested is None or text.isprintable()):
            _text_leaf(out, here.step(f":{transform}", transform, transform) if transform else here, text)
        elif nested is not None and plausible(nested):
            _protobuf(out, here, nested)
        elif _bytes_leaf(out, here, value, strict=True):
            pass
        elif len(value) < 16:  # a short binary value (a hash prefix, a MAC): kept as hex, matchable
            out.parts.append(Field(path, value.hex(), chain, ARROW.join(t for t in (at.transforms, "hex") if t)))
        else:
            out.opaque_items.append(OpaqueItem(path, chain, opaque_reason(value, "protobuf bytes field"), len(value)))
    for (n1, a), (n2, b) in zip(coordinates, coordinates[1:]):
        if abs(a) <= 90 and n2 == n1 + 1:
            out.parts.append(Field(f"{at.loc}:{{{n1},{n2}}}", f"{a},{b}", f"{at.chain}:{{{n1},{n2}}}", at.transforms, "pair"))
            break
