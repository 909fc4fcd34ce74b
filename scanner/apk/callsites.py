"""Find the call sites (invoke-*) and field reads (iget*/sget*) of catalogue APIs in one DEX.

Definition (the same as androguard's ``Analysis`` xrefs, which the oracle test compares with):
a site is an instruction of a method defined in the DEX whose method id (for ``invoke-virtual``,
``-super``, ``-direct``, ``-static``, ``-interface`` and their ``/range`` forms, opcodes 0x6e-0x72
and 0x74-0x78) or field id (``iget*``/``sget*``, 0x52-0x58 and 0x60-0x66) spells *exactly* the
catalogue descriptor: same class descriptor, name and prototype. androguard keys its
``MethodAnalysis`` objects by ``(class, name, descriptor)`` as written in the method id
(``Analysis._resolve_method``), so a call made through a subclass reference such as
``Lcom/x/MyTM;->getDeviceId()`` is a different (external) method there, and is not a site of
``TelephonyManager.getDeviceId`` here either. ``invoke-polymorphic``/``invoke-custom`` (0xfa-0xfd)
are walked with their correct widths but, like androguard, never yield method sites.

How it is fast: catalogue descriptors are first resolved to method/field indices of this DEX by
binary search in its sorted id tables; one compiled regular expression then finds candidate
4-byte patterns (opcode, any byte, little-endian index) across the whole file; each candidate is
kept only if it lies in a code item and a linear walk of that method from its first instruction
lands exactly on it (instruction boundary; switch/array payloads skipped whole).

``offset`` is the position of the instruction in 16-bit code units from the start of the
method's ``insns`` array (androguard's ``get_instructions_idx`` offset is the same in bytes).

Argument-constrained entries (``Settings$Secure.getString`` with ``"android_id"``) count only
when the parameter's register last held an accepted string constant before the call, in code
order within the method: loaded by ``const-string``, moved with ``move-object``, or read with
``sget-object`` from a static field holding that constant (:mod:`scanner.apk.static_strings`;
see :func:`scanner.apk.bytecode.const_strings_before`).

A method entry of the catalogue (every overload) covers every method id of the DEX with that
class and name that no exact entry spells; its sites report the overload actually called.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .bytecode import (
    FIELD_READ_OPS,
    INVOKE_OPS,
    INVOKE_STATIC,
    boundaries_hit,
    const_strings_before,
    invoke_registers,
    method_refs,
)
from .catalogue import ApiCatalogue, ApiEntry
from .dex import DexFile, dotted
from .static_strings import static_strings

_INVOKE_CLASS = b"[\x6e-\x72\x74-\x78]"
_FIELD_CLASS = b"[\x52-\x58\x60-\x66]"


@dataclass(frozen=True)
class CallSite:
    """One sensitive-API use: which entry, which caller, where."""

    api_id: str
    api: str
    access: str
    dex: str
    caller_class: str  # dotted
    caller_method: str
    caller_descriptor: str  # (params)ret
    caller_class_desc: str  # Lcom/x/App;
    offset: int  # code units from the start of the caller's insns
    argument: str | None
    file_offset: int = -1  # bytes from the start of the DEX file to the instruction
    self_ref: str | None = None  # package_name | own_process: the method looks itself up (see _self_ref)

    @property
    def caller_key(self) -> tuple[str, str, str]:
        """(class descriptor, name, prototype) of the calling method."""
        return (self.caller_class_desc, self.caller_method, self.caller_descriptor)

    def sort_key(self) -> tuple[str, str, str, str, int, str]:
        """The documented ``api_calls`` order: api id, caller class, caller method, dex, offset
        (then the caller's prototype, to order overloads deterministically)."""
        return (self.api_id, self.caller_class, self.caller_method, self.dex, self.offset, self.caller_descriptor)


def resolve_members(dex: DexFile, catalogue: ApiCatalogue) -> tuple[dict[int, tuple[ApiEntry, ...]],
                                                                     dict[int, tuple[ApiEntry, ...]]]:
    """Method and field ids of this DEX that the catalogue covers, with their entries: exact
    descriptors first, then every other overload of a method entry's class and name."""
    methods: dict[int, tuple[ApiEntry, ...]] = {}
    fields: dict[int, tuple[ApiEntry, ...]] = {}
    wide: list[tuple[str, str, tuple[ApiEntry, ...]]] = []
    for (cls, name, proto), entries in catalogue.by_key().items():
        if proto is None:
            wide.append((cls, name, entries))
        elif entries[0].access == "invoke":
            for idx in dex.find_method_ids(cls, name, proto):
                methods[idx] = entries
        else:
            for idx in dex.find_field_ids(cls, name, proto):
                fields[idx] = entries
    for cls, name, entries in wide:
        for idx in dex.find_method_ids(cls, name, None):
            methods.setdefault(idx, entries)
    return methods, fields


def member_pattern(methods: dict[int, tuple[ApiEntry, ...]], fields: dict[int, tuple[ApiEntry, ...]]) -> re.Pattern[bytes]:
    parts = []
    if methods:
        alts = b"|".join(re.escape(struct.pack("<H", i)) for i in sorted(methods))
        parts.append(_INVOKE_CLASS + b"." + b"(?:" + alts + b")")
    if fields:
        alts = b"|".join(re.escape(struct.pack("<H", i)) for i in sorted(fields))
        parts.append(_FIELD_CLASS + b"." + b"(?:" + alts + b")")
    return re.compile(b"|".join(parts), re.DOTALL)


def candidate_positions(dex: DexFile, pattern: re.Pattern[bytes]) -> dict[tuple[int, int], list[int]]:
    """Candidate byte positions grouped by the (insns start, insns end) of their code item."""
    data = dex.data
    grouped: dict[tuple[int, int], list[int]] = {}
    search = pattern.search
    pos, stop = dex.code_bounds()
    while True:
        m = search(data, pos, stop)
        if m is None:
            break
        at = m.start()
        pos = at + 1  # overlapping candidates are tried too
        if at & 1:
            continue
        span = dex.method_at(at)
        if span is not None:
            grouped.setdefault((span[1], span[2]), []).append(at)
    return grouped


def find_call_sites(dex: DexFile, catalogue: ApiCatalogue, *, apply_arguments: bool = True) -> list[CallSite]:
    """Every catalogue site in ``dex``. With ``apply_arguments=False`` argument constraints are
    ignored (every call to the descriptor counts; ``argument`` still reports the constant seen)."""
    methods, fields = resolve_members(dex, catalogue)
    if not methods and not fields:
        return []
    data = dex.data
    sites: list[CallSite] = []
    for (start, end), positions in candidate_positions(dex, member_pattern(methods, fields)).items():
        hits = boundaries_hit(data, start, end, positions)
        if not hits:
            continue
        for pos in hits:
            op = data[pos]
            (idx,) = struct.unpack_from("<H", data, pos + 2)
            if op in INVOKE_OPS:
                entries = methods.get(idx)
            elif op in FIELD_READ_OPS:
                entries = fields.get(idx)
            else:
                entries = None
            if not entries:
                continue
            for caller_midx in dex.methods_at_start(start):
                caller_cls, caller_name, caller_proto = dex.method_ref(caller_midx)
                for entry in entries:
                    value: str | None = None
                    if entry.argument is not None:
                        consts = const_strings_before(data, start, pos, lambda: static_strings(dex))
                        value = _argument_value(dex, data, pos, op, entry, consts)
                        if apply_arguments and (value is None or not entry.argument.accepts(value)):
                            continue
                    sites.append(CallSite(
                        api_id=entry.id, api=entry.site_descriptor(dex.proto(dex.method_proto[idx])) if entry.all_overloads
                        else entry.descriptor, access=entry.access, dex=dex.name,
                        caller_class=dotted(caller_cls), caller_method=caller_name, caller_descriptor=caller_proto,
                        caller_class_desc=caller_cls, offset=(pos - start) // 2, argument=value,
                        file_offset=pos, self_ref=_self_ref(dex, start, end, pos, entry.self_check),
                    ))
    sites.sort(key=CallSite.sort_key)
    return sites


_OWN_PACKAGE = ("getPackageName", "()Ljava/lang/String;")
_OWN_PID = ("Landroid/os/Process;", "myPid", "()I")


def _self_ref(dex: DexFile, start: int, end: int, pos: int, kind: str | None) -> str | None:
    """``kind`` when the calling method shows the call is a self-check, else ``None``.

    ``package_name``: the method calls ``getPackageName()`` (on any Context) before the lookup, the
    usual ``pm.getPackageInfo(ctx.getPackageName(), 0)``. ``own_process``: the method calls
    ``Process.myPid()`` or ``getPackageName()`` anywhere, the usual comparison of each running
    process with its own. A heuristic without data flow: documented in docs/rules.md, and the fact
    keeps the call with its classification, so an examiner can look at it.
    """
    if kind is None:
        return None
    stop = pos if kind == "package_name" else end
    for _at, op, idx in method_refs(dex.data, start, stop):
        if op not in INVOKE_OPS:
            continue
        try:
            cls, name, proto = dex.method_ref(idx)
        except (IndexError, ValueError):  # a hostile DEX: an index past its tables is no evidence
            continue
        if (name, proto) == _OWN_PACKAGE or (kind == "own_process" and (cls, name, proto) == _OWN_PID):
            return kind
    return None


def _argument_value(dex: DexFile, data: bytes, pos: int, op: int, entry: ApiEntry,
                    consts: dict[int, int]) -> str | None:
    """The const-string last loaded into the register of the constrained parameter, or None."""
    assert entry.argument is not None
    params = dex.proto_param_types(dex.method_proto[struct.unpack_from("<H", data, pos + 2)[0]])
    slot = 0 if op in INVOKE_STATIC else 1  # `this` takes the first register
    for ptype in params[: entry.argument.param]:
        slot += 2 if ptype in ("J", "D") else 1
    regs = invoke_registers(data, pos)
    if slot >= len(regs):
        return None
    sidx = consts.get(regs[slot])
    if sidx is None or sidx >= dex.string_count:
        return None
    return dex.string(sidx)
