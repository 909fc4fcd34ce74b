"""Protobuf wire format read without a schema (field number, wire type, value).

Used by the request decoder for ``application/x-protobuf`` bodies and for binary leaves that
parse exactly. Fixed-width fields are also offered as IEEE doubles/floats, because location
SDKs send coordinates that way.
"""

from __future__ import annotations

import math
import struct

ProtoField = tuple[int, int, "int | bytes"]  #: field number, wire type, value
MAX_FIELDS = 4096


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
            if number == 0 or len(fields) >= MAX_FIELDS:
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


def plausible(fields: list[ProtoField], strict: bool = False) -> bool:
    """Random bytes rarely parse; demand small field numbers so noise is not taken as protobuf.
    ``strict`` (bytes found inside a text value, where chance parses are common) also wants
    field numbers below 64 and at least one length-delimited field of printable ASCII."""
    if not all(number < 1000 for number, _, _ in fields) or len(fields) > MAX_FIELDS:
        return False
    if strict:
        return all(number < 64 for number, _, _ in fields) and any(
            isinstance(value, bytes) and len(value) >= 4 and value.isascii() and value.decode("ascii").isprintable()
            for _, _, value in fields)
    return True


def as_coordinate(wire: int, value: int) -> float | None:
    """A fixed64 (double) or fixed32 (float) field read as a coordinate, when it looks like one:
    finite, not an integer, at most 180 in magnitude and not near zero."""
    if wire == 1:
        number = struct.unpack("<d", value.to_bytes(8, "little"))[0]
    elif wire == 5:
        number = struct.unpack("<f", value.to_bytes(4, "little"))[0]
    else:
        return None
    if not math.isfinite(number) or not 0.01 < abs(number) <= 180 or number == int(number):
        return None
    return round(number, 7)
