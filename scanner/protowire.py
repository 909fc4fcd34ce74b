"""Protobuf wire format read without a schema: (field number, wire type, value) triples.

One reader for every protobuf PIScan meets: request bodies in traffic
(:mod:`scanner.traffic.protobuf`) and the protobuf XML and resource tables of Android App Bundles
(:mod:`scanner.apk.appbundle`). It parses one message level at a time, so nesting is the
caller's to bound, and it stops at ``max_fields`` fields.
"""

from __future__ import annotations

ProtoField = tuple[int, int, "int | bytes | memoryview"]  #: field number, wire type, value (bytes views stay views)
MAX_FIELDS = 4096


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
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


def parse_protobuf(data: bytes | memoryview, max_fields: int = MAX_FIELDS) -> list[ProtoField] | None:
    """Parse one message level; ``None`` unless the bytes parse exactly (or past ``max_fields``)."""
    fields: list[ProtoField] = []
    pos = 0
    try:
        while pos < len(data):
            key, pos = _varint(data, pos)
            number, wire = key >> 3, key & 7
            if number == 0 or len(fields) >= max_fields:
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


