"""String constants held by static fields of one DEX: ``field id -> string id``.

Two sources, both without running code:

- a class's ``static_values`` (the encoded array of initial values of its static fields, in the
  order of the class data's static field list), where d8 puts ``static final String NAME =
  "getDeviceId"`` when the field is read through ``sget-object`` rather than inlined;
- ``<clinit>`` methods that load a ``const-string`` and store it with ``sput-object``.

Code that reads the field (``sget-object``) then holds that constant, which is how SDKs pass
``"android_id"`` or a reflective method name through a field. A malformed part yields no
constants (never an exception): it is evidence we could not read, not evidence of absence.
"""

from __future__ import annotations

import struct

from .bytecode import WIDTH, payload_width, track_string
from .dex import DexError, DexFile, _uleb

_SPUT_OBJECT = 0x69
_VALUE_STRING = 0x17
_VALUE_ARRAY = 0x1C
_VALUE_ANNOTATION = 0x1D
_NO_PAYLOAD = frozenset((0x1E, 0x1F))  # null, boolean
_MAX_NESTING = 32
_U16 = struct.Struct("<H")


def static_strings(dex: DexFile) -> dict[int, int]:
    """Field id -> string id of every static field with a constant string (cached on the DEX)."""
    cached: dict[int, int] | None = getattr(dex, "_static_strings", None)
    if cached is not None:
        return cached
    out: dict[int, int] = {}
    try:
        _from_static_values(dex, out)
    except (IndexError, ValueError, DexError):
        pass
    try:
        _from_clinit(dex, out)
    except (IndexError, ValueError, DexError):
        pass
    dex._static_strings = out  # type: ignore[attr-defined]
    return out


def _from_static_values(dex: DexFile, out: dict[int, int]) -> None:
    data, raw = dex.data, dex._class_raw
    for i in range(0, len(raw), 8):
        data_off, values_off = raw[i + 6], raw[i + 7]
        if not data_off or not values_off:
            continue
        n_static, pos = _uleb(data, data_off)
        _, pos = _uleb(data, pos)
        _, pos = _uleb(data, pos)
        _, pos = _uleb(data, pos)
        fields, idx = [], 0
        for _ in range(n_static):
            diff, pos = _uleb(data, pos)
            _access, pos = _uleb(data, pos)
            idx += diff
            fields.append(idx)
        size, pos = _uleb(data, values_off)
        for k in range(min(size, len(fields))):
            header = data[pos]
            kind, arg = header & 0x1F, header >> 5
            if kind == _VALUE_STRING:
                out[fields[k]] = int.from_bytes(data[pos + 1:pos + 2 + arg], "little")
            pos = _skip_value(data, pos, 0)


def _skip_value(data: bytes, pos: int, depth: int) -> int:
    """Position after the encoded_value at ``pos``."""
    if depth > _MAX_NESTING:
        raise ValueError("encoded value nested too deeply")
    header = data[pos]
    kind, arg = header & 0x1F, header >> 5
    pos += 1
    if kind in _NO_PAYLOAD:
        return pos
    if kind == _VALUE_ARRAY:
        size, pos = _uleb(data, pos)
        for _ in range(size):
            pos = _skip_value(data, pos, depth + 1)
        return pos
    if kind == _VALUE_ANNOTATION:
        _type, pos = _uleb(data, pos)
        size, pos = _uleb(data, pos)
        for _ in range(size):
            _name, pos = _uleb(data, pos)
            pos = _skip_value(data, pos, depth + 1)
        return pos
    if pos + arg + 1 > len(data):
        raise ValueError("encoded value past the end of the file")
    return pos + arg + 1


def _from_clinit(dex: DexFile, out: dict[int, int]) -> None:
    data = dex.data
    clinit = dex.find_string("<clinit>")
    if clinit is None:
        return
    for methods in dex.class_methods():
        for method_idx, _access, code_off in methods:
            if not code_off or dex.method_name[method_idx] != clinit:
                continue
            start, end = dex.code_span(code_off)
            regs: dict[int, int] = {}
            pos = start
            while pos < end:
                op = data[pos]
                if op == _SPUT_OBJECT and data[pos + 1] in regs:
                    out[_U16.unpack_from(data, pos + 2)[0]] = regs[data[pos + 1]]
                else:
                    track_string(regs, data, pos, op)
                pos += WIDTH[op] if op else payload_width(data, pos)
