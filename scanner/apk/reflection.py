"""Reflective calls to catalogue APIs: ``Class.getMethod("getDeviceId").invoke(tm)``.

SDKs read identifiers through reflection so that a scanner looking for ``invoke-virtual
TelephonyManager->getDeviceId()`` misses them. Within one method this resolves the lookup
``Class.getMethod(name, …)`` / ``getDeclaredMethod(name, …)`` when ``name`` is a constant
string in its register (``const-string``, moved with ``move-object``, or read with
``sget-object`` from a static field that holds a constant: :mod:`scanner.apk.static_strings`),
and the class when it is a constant too
(``const-class``, or ``Class.forName("…")`` whose result is moved into the receiver register).
A lookup whose name names a catalogue method (of that class, when the class is known; by its
name alone otherwise) becomes a call site with ``access: reflection`` at the lookup's offset.

A lookup whose name is not a constant (built, decrypted or passed in) is counted as
unresolved: :func:`find_reflective_sites` returns that count, and the scan reports it as a
limitation, so "not found" is never claimed for code it could not read.

The tracking is linear in code order, like ``const_strings_before``: it ignores branches and
later writes to a register. It is documented as such and errs on the side of resolving.
"""

from __future__ import annotations

from dataclasses import dataclass

from .bytecode import (
    _U16,
    CONST_STRING,
    CONST_STRING_JUMBO,
    INVOKE_OPS,
    MOVE_OBJECT,
    MOVE_OBJECT_16,
    WIDTH,
    boundaries_hit,
    copy_register,
    invoke_registers,
    payload_width,
    track_string,
)
from .catalogue import ApiCatalogue, ApiEntry
from .dex import DexFile, dotted
from .static_strings import static_strings

_LOOKUPS = (("getMethod", "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;"),
            ("getDeclaredMethod", "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;"))
_CLASS = "Ljava/lang/Class;"
_FOR_NAME = ("forName", "(Ljava/lang/String;)Ljava/lang/Class;")
_CONST_CLASS = 0x1C
_MOVE_RESULT_OBJECT = 0x0C


@dataclass(frozen=True)
class ReflectiveSite:
    """One resolved reflective lookup of a catalogue method."""

    entry: ApiEntry
    caller: tuple[str, str, str]  #: (class descriptor, name, prototype)
    start: int  #: the caller's insns start (bytes into the DEX)
    pos: int  #: the lookup instruction (bytes into the DEX)
    target_class: str | None  #: the class named in the code, when it was a constant


def _index(catalogue: ApiCatalogue) -> dict[str, list[ApiEntry]]:
    by_name: dict[str, list[ApiEntry]] = {}
    for entry in catalogue.entries:
        if entry.access == "invoke" and entry.argument is None:
            by_name.setdefault(entry.name, []).append(entry)
    return by_name


def _java_class(name: str) -> str:
    """``android.telephony.TelephonyManager`` -> ``Landroid/telephony/TelephonyManager;``."""
    return "L" + name.replace(".", "/") + ";"


def find_reflective_sites(dex: DexFile, catalogue: ApiCatalogue) -> tuple[list[ReflectiveSite], int]:
    """(resolved reflective lookups of catalogue methods, number of lookups with a computed name)."""
    lookup_ids = {i for name, proto in _LOOKUPS for i in dex.find_method_ids(_CLASS, name, proto)}
    if not lookup_ids:
        return [], 0
    for_name = set(dex.find_method_ids(_CLASS, *_FOR_NAME))
    by_name = _index(catalogue)
    from .callsites import candidate_positions, member_pattern  # the same candidate search as direct calls

    data = dex.data
    sites: list[ReflectiveSite] = []
    unresolved = 0
    for (start, end), positions in candidate_positions(dex, member_pattern({i: () for i in lookup_ids}, {})).items():
        if not boundaries_hit(data, start, end, positions):
            continue
        methods = dex.methods_at_start(start)
        consts: dict[int, int] = {}
        classes: dict[int, str] = {}
        pending_class: str | None = None
        at = start
        while at < end:
            op = data[at]
            if op == 0:
                at += payload_width(data, at)
                continue
            track_string(consts, data, at, op, lambda: static_strings(dex))
            if MOVE_OBJECT <= op <= MOVE_OBJECT_16:
                copy_register(classes, data, at)
            elif op == _CONST_CLASS:
                classes[data[at + 1]] = dex.type_name(_U16.unpack_from(data, at + 2)[0])
            elif op == _MOVE_RESULT_OBJECT and pending_class is not None:
                classes[data[at + 1]] = pending_class
            elif op in INVOKE_OPS:
                idx = _U16.unpack_from(data, at + 2)[0]
                regs = invoke_registers(data, at)
                if idx in for_name and regs and regs[0] in consts:
                    pending_class = _java_class(dex.string(consts[regs[0]]))
                    at += WIDTH[op]
                    continue
                if idx in lookup_ids and len(regs) >= 2:
                    if regs[1] not in consts:
                        unresolved += 1
                    else:
                        name = dex.string(consts[regs[1]])
                        target = classes.get(regs[0])
                        for entry in by_name.get(name, ()):
                            if target is None or target == entry.class_name:
                                sites.extend(ReflectiveSite(entry, dex.method_ref(m), start, at, target) for m in methods)
                                break
            if op not in INVOKE_OPS and op != _MOVE_RESULT_OBJECT:
                pending_class = None if op not in (CONST_STRING, CONST_STRING_JUMBO, _CONST_CLASS) else pending_class
            at += WIDTH[op]
    return sites, unresolved


def describe(site: ReflectiveSite) -> str:
    """How the lookup reads in evidence (``argument``): ``reflection: getMethod("getDeviceId") on
    android.telephony.TelephonyManager``."""
    on = f" on {dotted(site.target_class)}" if site.target_class else " (class not a constant)"
    return f'reflection: getMethod("{site.entry.name}"){on}'
