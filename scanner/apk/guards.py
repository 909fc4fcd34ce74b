"""Consent guards: a stored consent flag checked before a call on its path from the entry point.

Apps that wait for consent typically write ``if (!prefs.getBoolean("agreed", false)) return;``
before starting SDKs or reading identifiers. A call behind such a check is not pre-consent, even
though the call graph reaches it from ``Application.onCreate``. For each method on a call site's
reach path (the entry point down to the caller) this looks, in code order before the step to the
next method (or before the call itself), for

1. a read of a boolean consent flag: ``SharedPreferences.getBoolean(key, …)``, MMKV
   ``decodeBool(key[, …])`` or any ``get…(String, …)Z`` whose constant key names consent
   (agree, consent, privacy, policy, protocol, accept, 同意, 隐私, 协议); a static boolean field
   whose name names consent (``sget-boolean``); or a call to a ``()Z`` method so named
   (``PrivacyManager.isAgreed()``);
2. then a conditional branch on the register that received it (``if-eqz``/``if-nez``).

This is a documented heuristic without a control-flow graph: "before in code order" stands in
for "dominates". It can be fooled by a check whose branch does not skip the call; the report
therefore names the flag and where it is read, so an examiner can confirm it in the smali.
"""

from __future__ import annotations

import re
from typing import Any

from .bytecode import (
    _U16,
    CONST_STRING,
    CONST_STRING_JUMBO,
    INVOKE_OPS,
    WIDTH,
    invoke_registers,
    method_refs,
    payload_width,
)
from .callgraph import CallGraph
from .dex import DexFile, DexError, dotted

MethodKey = tuple[str, str, str]

CONSENT_WORDS = re.compile(r"(?i)(agree|consent|privacy|policy|protocol|accept|authori[sz]|同意|隐私|协议)")
_SGET_BOOLEAN = 0x63
_MOVE_RESULT = 0x0A
_IF_Z = frozenset((0x38, 0x39))  # if-eqz, if-nez


def _flag_read(dex: DexFile, data: bytes, pos: int, op: int, consts: dict[int, int]) -> tuple[str, str] | None:
    """(flag, store) when the invoke at ``pos`` reads a consent flag, else ``None``."""
    (idx,) = _U16.unpack_from(data, pos + 2)
    cls, name, proto = dex.method_ref(idx)
    if not proto.endswith(")Z"):
        return None
    store = dotted(cls).rsplit(".", 1)[-1]
    if proto.startswith("(Ljava/lang/String;"):
        regs = invoke_registers(data, pos)
        key_reg = regs[1] if op not in (0x71, 0x77) and len(regs) > 1 else (regs[0] if regs else None)
        if key_reg is not None and key_reg in consts:
            key = dex.string(consts[key_reg])
            if CONSENT_WORDS.search(key):
                return key, store
        return None
    if proto == "()Z" and CONSENT_WORDS.search(name):
        return f"{name}()", store
    return None


def flag_check_before(dex: DexFile, start: int, stop: int) -> dict[str, Any] | None:
    """The first consent-flag read followed by a branch on it in ``[start, stop)``, or ``None``."""
    data = dex.data
    consts: dict[int, int] = {}
    pending: tuple[str, str, int] | None = None  # flag, store, position of the read
    flag_reg: int | None = None
    flag_info: tuple[str, str, int] | None = None
    pos = start
    while pos < stop:
        op = data[pos]
        if op == 0:
            pos += payload_width(data, pos)
            continue
        if op == CONST_STRING:
            consts[data[pos + 1]] = _U16.unpack_from(data, pos + 2)[0]
        elif op == CONST_STRING_JUMBO:
            consts[data[pos + 1]] = int.from_bytes(data[pos + 2:pos + 6], "little")
        elif op in INVOKE_OPS:
            hit = _flag_read(dex, data, pos, op, consts)
            pending = (hit[0], hit[1], pos) if hit else None
        elif op == _MOVE_RESULT and pending is not None:
            flag_reg, flag_info, pending = data[pos + 1], pending, None
        elif op == _SGET_BOOLEAN:
            (fidx,) = _U16.unpack_from(data, pos + 2)
            fcls, fname, _ftype = dex.field_ref(fidx)
            if CONSENT_WORDS.search(fname):
                flag_reg, flag_info = data[pos + 1], (fname, dotted(fcls).rsplit(".", 1)[-1], pos)
        elif op in _IF_Z and flag_reg is not None and data[pos + 1] == flag_reg and flag_info is not None:
            flag, store, read_at = flag_info
            return {"flag": flag, "store": store, "read_at": read_at, "branch_at": pos}
        if op not in INVOKE_OPS:
            pending = None  # a flag read counts only when its move-result follows at once
        pos += WIDTH[op]
    return None


def stop_at_consent_check(dex: DexFile, start: int, end: int) -> int:
    """Where a consent-aware walk of a method's code ends: at the branch of its first consent check,
    else at ``end`` (see :class:`scanner.apk.callgraph.CallGraph`)."""
    try:
        found = flag_check_before(dex, start, end)
    except (DexError, IndexError, ValueError):
        return end
    return found["branch_at"] if found is not None else end


def _step_position(dex: DexFile, start: int, end: int, target: MethodKey) -> int | None:
    """Byte position of the first invoke in ``[start, end)`` of a method with ``target``'s name and
    prototype (the reference may name a subclass or an interface, as virtual calls do), or ``None``."""
    for pos, op, idx in method_refs(dex.data, start, end):
        if op in INVOKE_OPS and idx < dex.method_id_count:
            _cls, name, proto = dex.method_ref(idx)
            if (name, proto) == (target[1], target[2]):
                return pos
    return None


def consent_guard(graph: CallGraph, path: list[MethodKey], site_dex: str, site_pos: int) -> dict[str, Any] | None:
    """The consent check guarding a call site reached along ``path``, as
    ``{"flag", "store", "where"}`` (``where`` names the method and byte offset of the read), or ``None``."""
    for i, key in enumerate(path):
        where = graph.hierarchy.code_of(key)
        if where is None:
            continue
        dex, code_off = where
        try:
            start, end = dex.code_span(code_off)
            if i + 1 < len(path):
                stop = _step_position(dex, start, end, path[i + 1])
            else:
                stop = site_pos if dex.name == site_dex and start <= site_pos < end else None
            if stop is None:
                continue
            found = flag_check_before(dex, start, stop)
        except (DexError, IndexError, ValueError):  # hostile bytecode: no guard claimed
            continue
        if found is not None:
            label = f"{dotted(key[0])}.{key[1]}{key[2]}@{found['read_at'] - start:#x}"
            return {"flag": found["flag"], "store": found["store"], "where": label}
    return None
