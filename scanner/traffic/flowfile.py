"""Encode flow records in mitmproxy's native dump format (tnetstring) without its slow path.

``mitmproxy.io.FlowWriter`` encodes every value of every record with a recursive Python
function, including the two connection states each flow carries, which are the same for every
request on a keep-alive connection and make up most of a record. Here a connection state is
encoded once (:class:`Encoded`) and its bytes are spliced into each record that refers to it.
The output is byte for byte what ``mitmproxy.io.tnetstring.dumps`` gives for the same state
(dictionary entries in its reversed order included), so mitmproxy reads the file as its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


_SHORT = 40
_SHORT_STRINGS_MAX = 4096
_SHORT_STRINGS: dict[str, bytes] = {}


class Encoded(bytes):
    """A value already encoded as a tnetstring; written as it is."""


def dumps(value: Any) -> bytes:
    """The tnetstring of ``value``, as ``mitmproxy.io.tnetstring.dumps`` writes it."""
    out: list[bytes] = []
    _put(out, value)
    return b"".join(out)


def encode(value: Any) -> Encoded:
    """``dumps(value)`` marked for splicing into a larger record."""
    return Encoded(dumps(value))


def _put(out: list[bytes], value: Any) -> int:
    """Append the chunks of ``value`` to ``out``; return their total length."""
    writer = _WRITERS.get(type(value))
    if writer is None:
        writer = _writer_for_subclass(value)
    return writer(out, value)


def _put_scalar(out: list[bytes], data: bytes, tag: bytes) -> int:
    head = b"%d:" % len(data)
    out.append(head)
    out.append(data)
    out.append(tag)
    return len(head) + len(data) + 1


def _put_none(out: list[bytes], _value: None) -> int:
    out.append(b"0:~")
    return 3


def _put_bool(out: list[bytes], value: bool) -> int:
    chunk = b"4:true!" if value else b"5:false!"
    out.append(chunk)
    return len(chunk)


def _put_int(out: list[bytes], value: int) -> int:
    return _put_scalar(out, str(value).encode(), b"#")


def _put_float(out: list[bytes], value: float) -> int:
    return _put_scalar(out, repr(value).encode(), b"^")


def _put_bytes(out: list[bytes], value: bytes) -> int:
    return _put_scalar(out, bytes(value), b",")


def _put_str(out: list[bytes], value: str) -> int:
    chunk = _SHORT_STRINGS.get(value)
    if chunk is None:
        chunk = _str_chunk(value)
    out.append(chunk)
    return len(chunk)


def _str_chunk(value: str) -> bytes:
    """A str's tnetstring; short ones (dict keys, versions, modes) are kept for the next record."""
    data = value.encode("utf8")
    chunk = b"%d:%s;" % (len(data), data)
    if len(value) <= _SHORT and len(_SHORT_STRINGS) < _SHORT_STRINGS_MAX:
        _SHORT_STRINGS[value] = chunk
    return chunk


def _put_encoded(out: list[bytes], value: Encoded) -> int:
    out.append(value)
    return len(value)


def _put_container(out: list[bytes], items: Any, tag: bytes) -> int:
    """A list (``items`` are values) or a dict (``items`` alternate keys and values)."""
    slot = len(out)
    out.append(b"")  # the length prefix, known once the items are written
    size = 0
    for item in items:
        kind = type(item)
        # bytes and str (header fields, dict keys) are most of a flow: written here, not by a call
        if kind is bytes:
            head = b"%d:" % len(item)
            out += (head, item, b",")
            size += len(head) + len(item) + 1
        elif kind is str:
            chunk = _SHORT_STRINGS.get(item)
            if chunk is None:
                chunk = _str_chunk(item)
            out.append(chunk)
            size += len(chunk)
        else:
            size += _put(out, item)
    head = b"%d:" % size
    out[slot] = head
    out.append(tag)
    return len(head) + size + 1


def _put_list(out: list[bytes], value: list[Any] | tuple[Any, ...]) -> int:
    return _put_container(out, value, b"]")


def _put_dict(out: list[bytes], value: dict[Any, Any]) -> int:
    # mitmproxy's encoder emits a dict's entries last first; readers do not care, but the
    # bytes then match mitmproxy's own writer exactly
    return _put_container(out, (x for pair in reversed(value.items()) for x in pair), b"}")


_WRITERS: dict[type, Callable[[list[bytes], Any], int]] = {
    type(None): _put_none, bool: _put_bool, int: _put_int, float: _put_float, bytes: _put_bytes,
    str: _put_str, list: _put_list, tuple: _put_list, dict: _put_dict, Encoded: _put_encoded,
}


def _writer_for_subclass(value: Any) -> Callable[[list[bytes], Any], int]:
    """Subclasses (an IntEnum, a str subclass) are written as their base type, as mitmproxy does."""
    for base in (bool, int, float, bytes, str, list, tuple, dict):
        if isinstance(value, base):
            return _WRITERS[base]
    raise ValueError(f"unserializable object: {value!r} ({type(value)})")


# --- reading: record boundaries and the few fields PIScan needs, without decoding a whole flow ---

_TAGS = frozenset(b",#^!~}];")
_MAX_PREFIX = 12  #: digits of a tnetstring length (a record of up to 1 TB)


class RecordError(ValueError):
    """Bytes that are not a tnetstring record where one should start."""


def record_span(data: bytes | memoryview, start: int) -> int | None:
    """End offset of the complete tnetstring starting at ``start`` in ``data``; ``None`` if the data
    stops inside it (a record still being written, or cut off); :class:`RecordError` if malformed."""
    colon = bytes(data[start:start + _MAX_PREFIX + 1]).find(b":")
    if colon < 0:
        if len(data) - start > _MAX_PREFIX:
            raise RecordError("no length prefix")
        return None
    digits = bytes(data[start:start + colon])
    if not digits.isdigit():
        raise RecordError(f"bad length prefix {digits[:16]!r}")
    end = start + colon + 1 + int(digits) + 1
    if end > len(data):
        return None
    if data[end - 1] not in _TAGS:
        raise RecordError(f"bad type tag {bytes(data[end - 1:end])!r}")
    return end


def split_records(data: bytes | memoryview) -> tuple[list[tuple[int, int]], int]:
    """``(offset, length)`` of each complete record at the start of ``data``, and the bytes they
    take; stops before an incomplete last record. :class:`RecordError` names a malformed one."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data):
        end = record_span(data, pos)
        if end is None:
            break
        spans.append((pos, end - pos))
        pos = end
    return spans, pos


def dict_items(record: bytes | memoryview) -> dict[str, memoryview]:
    """The top-level entries of a tnetstring dict, each value still encoded (a view, not a copy)."""
    view = memoryview(record)
    colon = bytes(view[:_MAX_PREFIX + 1]).find(b":")
    if colon < 0 or view[-1:] != b"}":
        raise RecordError("not a tnetstring dict")
    pos, stop = colon + 1, len(view) - 1
    out: dict[str, memoryview] = {}
    while pos < stop:
        key_end = record_span(view, pos)
        if key_end is None or key_end > stop:
            raise RecordError("dict key runs past the record")
        key_colon = bytes(view[pos:pos + _MAX_PREFIX + 1]).find(b":")
        key = bytes(view[pos + key_colon + 1:key_end - 1]).decode("utf-8", "surrogateescape")
        value_end = record_span(view, key_end)
        if value_end is None or value_end > stop:
            raise RecordError(f"value of {key!r} runs past the record")
        out[key] = view[key_end:value_end]
        pos = value_end
    return out


def scalar(encoded: bytes | memoryview) -> Any:
    """Decode one small encoded value (a string, number, boolean or null)."""
    from mitmproxy.io import tnetstring

    return tnetstring.loads(bytes(encoded))
