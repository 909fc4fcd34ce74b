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
