"""Dalvik instruction widths and linear walks over one method's instructions, without objects.

Offsets here are byte offsets into the DEX data. A walk starts at the method's first instruction
and advances by the width of each opcode (table :data:`WIDTH`, in bytes), so every position it
visits is an instruction boundary. ``nop`` units whose high byte is 1, 2 or 3 are the
packed-switch, sparse-switch and fill-array-data payloads and are skipped whole, as the Dalvik
verifier and androguard's linear sweep do.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

# Width in code units per opcode (Dalvik formats, dalvik-bytecode reference).
_UNITS = [1] * 256
for _op, _u in {
    0x02: 2, 0x03: 3, 0x05: 2, 0x06: 3, 0x08: 2, 0x09: 3,
    0x13: 2, 0x14: 3, 0x15: 2, 0x16: 2, 0x17: 3, 0x18: 5, 0x19: 2, 0x1A: 2, 0x1B: 3, 0x1C: 2,
    0x1F: 2, 0x20: 2, 0x22: 2, 0x23: 2, 0x24: 3, 0x25: 3, 0x26: 3, 0x29: 2, 0x2A: 3, 0x2B: 3, 0x2C: 3,
    0xFA: 4, 0xFB: 4, 0xFC: 3, 0xFD: 3, 0xFE: 2, 0xFF: 2,
}.items():
    _UNITS[_op] = _u
for _lo, _hi, _u in (
    (0x2D, 0x3D, 2),  # cmp*, if-test, if-testz
    (0x44, 0x6D, 2),  # aget/aput, iget/iput, sget/sput
    (0x6E, 0x72, 3), (0x74, 0x78, 3),  # invoke-kind, invoke-kind/range
    (0x90, 0xAF, 2),  # binop
    (0xD0, 0xE2, 2),  # binop/lit16, binop/lit8
):
    for _op in range(_lo, _hi + 1):
        _UNITS[_op] = _u

#: instruction width in bytes, indexed by opcode
WIDTH: bytes = bytes(2 * u for u in _UNITS)

INVOKE_35C = frozenset(range(0x6E, 0x73))  # invoke-virtual/super/direct/static/interface
INVOKE_3RC = frozenset(range(0x74, 0x79))  # .../range
INVOKE_OPS = INVOKE_35C | INVOKE_3RC  # method-ref invokes that androguard turns into xrefs
INVOKE_STATIC = frozenset((0x71, 0x77))
INVOKE_VIRTUAL_LIKE = frozenset((0x6E, 0x72, 0x74, 0x78))  # virtual, interface (+range)
INVOKE_SUPER = frozenset((0x6F, 0x75))
FIELD_READ_OPS = frozenset(range(0x52, 0x59)) | frozenset(range(0x60, 0x67))  # iget*, sget*
SGET_SPUT = frozenset(range(0x60, 0x6E))
MOVE_OBJECT, MOVE_OBJECT_16 = 0x07, 0x09  # move-object, /from16, /16
SGET_OBJECT = 0x62
CONST_STRING = 0x1A
CONST_STRING_JUMBO = 0x1B
NEW_INSTANCE = 0x22

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


def payload_width(data: bytes, pos: int) -> int:
    """Width in bytes of the instruction at ``pos`` when its opcode byte is 0 (nop or a payload)."""
    ident = data[pos + 1]
    if ident == 1:  # packed-switch-payload: ident, size, first_key(2 units), targets(size*2 units)
        return (4 + _U16.unpack_from(data, pos + 2)[0] * 2) * 2
    if ident == 2:  # sparse-switch-payload: ident, size, keys(size*2), targets(size*2)
        return (2 + _U16.unpack_from(data, pos + 2)[0] * 4) * 2
    if ident == 3:  # fill-array-data-payload: ident, element_width, size(2 units), data
        width = _U16.unpack_from(data, pos + 2)[0]
        size = _U32.unpack_from(data, pos + 4)[0]
        return (4 + (size * width + 1) // 2) * 2
    return 2


def boundaries_hit(data: bytes, start: int, end: int, targets: list[int]) -> list[int]:
    """Those of the sorted byte positions ``targets`` that are instruction starts of the method
    whose instructions span ``[start, end)``."""
    want = set(targets)
    last = targets[-1]
    hits: list[int] = []
    width = WIDTH
    pos = start
    while pos <= last and pos < end:
        if pos in want:
            hits.append(pos)
        op = data[pos]
        pos += width[op] if op else payload_width(data, pos)
    return hits


def invoke_registers(data: bytes, pos: int) -> list[int]:
    """Argument registers of the invoke instruction at ``pos`` (35c or 3rc format)."""
    op = data[pos]
    if op in INVOKE_3RC or op in (0xFB, 0xFD):
        count = data[pos + 1]
        first = _U16.unpack_from(data, pos + 4)[0]
        return list(range(first, first + count))
    count = data[pos + 1] >> 4
    regs = [data[pos + 4] & 0xF, data[pos + 4] >> 4, data[pos + 5] & 0xF, data[pos + 5] >> 4, data[pos + 1] & 0xF]
    return regs[:count]


def const_strings_before(data: bytes, start: int, stop: int,
                         static_strings: Callable[[], dict[int, int]] | None = None) -> dict[int, int]:
    """Register -> string index of the last string constant into each register, walking the
    method linearly from ``start`` up to (excluding) byte position ``stop``: ``const-string[/jumbo]``,
    ``move-object`` of a register that holds one, and, with ``static_strings`` (called at the
    first ``sget-object``: field id -> string id, :mod:`scanner.apk.static_strings`), ``sget-object``
    of such a field.

    This is the documented, deliberately simple argument tracking: it ignores control flow and
    other writes to the register, so it answers "which constant string was last loaded into this
    register before the call, in code order".
    """
    regs: dict[int, int] = {}
    width = WIDTH
    pos = start
    while pos < stop:
        op = data[pos]
        track_string(regs, data, pos, op, static_strings)
        pos += width[op] if op else payload_width(data, pos)
    return regs


def track_string(regs: dict[int, int], data: bytes, pos: int, op: int,
                 static_strings: Callable[[], dict[int, int]] | None = None) -> None:
    """Update ``regs`` (register -> string id) for the instruction at ``pos``: ``const-string``
    and ``/jumbo`` load one, ``move-object`` copies (or clears) one, ``sget-object`` of a field in
    ``static_strings()`` loads its constant (another ``sget-object`` clears the register)."""
    if op == CONST_STRING:
        regs[data[pos + 1]] = _U16.unpack_from(data, pos + 2)[0]
    elif op == CONST_STRING_JUMBO:
        regs[data[pos + 1]] = _U32.unpack_from(data, pos + 2)[0]
    elif MOVE_OBJECT <= op <= MOVE_OBJECT_16:
        copy_register(regs, data, pos)
    elif op == SGET_OBJECT:
        statics = static_strings() if static_strings is not None else {}
        field = _U16.unpack_from(data, pos + 2)[0]
        if field in statics:
            regs[data[pos + 1]] = statics[field]
        else:
            regs.pop(data[pos + 1], None)


def copy_register(held: dict[int, Any], data: bytes, pos: int) -> None:
    """Apply the ``move-object`` at ``pos`` to ``held`` (register -> what it is known to hold):
    the destination gets the source's value, or forgets its own when the source has none."""
    dest, src = move_registers(data, pos)
    if src in held:
        held[dest] = held[src]
    else:
        held.pop(dest, None)


def move_registers(data: bytes, pos: int) -> tuple[int, int]:
    """(destination, source) registers of a ``move-object``, ``/from16`` or ``/16`` at ``pos``."""
    op = data[pos]
    if op == MOVE_OBJECT:
        return data[pos + 1] & 0xF, data[pos + 1] >> 4
    if op == MOVE_OBJECT + 1:
        return data[pos + 1], _U16.unpack_from(data, pos + 2)[0]
    return _U16.unpack_from(data, pos + 2)[0], _U16.unpack_from(data, pos + 4)[0]


def method_refs(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(byte position, opcode, index) of every invoke (method id), new-instance (type id) and
    sget/sput (field id) instruction of one method, in code order -- the call-graph walk."""
    out: list[tuple[int, int, int]] = []
    width = WIDTH
    unpack = _U16.unpack_from
    pos = start
    while pos < end:
        op = data[pos]
        if op == 0:
            pos += payload_width(data, pos)
            continue
        if 0x60 <= op <= 0x78 and op != 0x73 or op == NEW_INSTANCE:
            out.append((pos, op, unpack(data, pos + 2)[0]))
        pos += width[op]
    return out
