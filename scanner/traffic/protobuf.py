"""Protobuf wire format read without a schema (field number, wire type, value).

Used by the request decoder for ``application/x-protobuf`` bodies and for binary leaves that
parse exactly. Fixed-width fields are also offered as IEEE doubles/floats, because location
SDKs send coordinates that way.
"""

from __future__ import annotations

import math
import struct

from ..protowire import MAX_FIELDS, ProtoField, parse_protobuf

__all__ = ["MAX_FIELDS", "ProtoField", "as_coordinate", "parse_protobuf", "plausible"]


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
