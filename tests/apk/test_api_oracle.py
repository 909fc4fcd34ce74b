"""Oracle: our catalogue call sites equal androguard's (AnalyzeAPK xrefs) on every corpus APK.

Every overload counts: a method entry of the catalogue (``method: Lcls;->name``) stands for
every ``MethodAnalysis`` androguard has with that class and name, whatever its descriptor.
Method sites are compared with ``MethodAnalysis.get_xref_from()`` of the catalogue methods, which
androguard keys by the class/name/descriptor written in the method id -- the definition
scanner.apk.callsites implements. androguard makes no xrefs for fields outside the app, so field
reads (``Build.SERIAL``) are compared with androguard's own disassembly of every method. Offsets
are compared too (androguard: bytes; ours: code units).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from scanner.apk.callsites import find_call_sites
from scanner.apk.catalogue import default_catalogue
from scanner.apk.code import dex_entry_names
from scanner.apk.dex import DexFile, dotted
from scanner.testing.corpus import apk_params, corpus_apks

_BIG = {"airtest-yosemite-1.1.0.449.apk", "appium-uiautomator2-server-v10.6.6.apk", "android-apidemos-5.0.0-debug.apk"}

Site = tuple[str, str, str, str, int]  # caller class (dotted), method, descriptor, api descriptor, byte offset


def _ours(path: Path) -> tuple[set[Site], set[Site]]:
    catalogue = default_catalogue()
    methods: set[Site] = set()
    fields: set[Site] = set()
    with zipfile.ZipFile(path) as zf:
        for name in dex_entry_names(zf.namelist()):
            for s in find_call_sites(DexFile(name, zf.read(name)), catalogue, apply_arguments=False):
                row = (s.caller_class, s.caller_method, s.caller_descriptor, s.api, s.offset * 2)
                (methods if s.access == "invoke" else fields).add(row)
    return methods, fields


def _androguard(path: Path) -> tuple[set[Site], set[Site]]:
    from androguard.misc import AnalyzeAPK
    from loguru import logger

    logger.disable("androguard")
    _apk, _dexes, dx = AnalyzeAPK(str(path))
    catalogue = default_catalogue()
    invoke = {e.key: e.descriptor for e in catalogue.entries if e.access == "invoke" and not e.all_overloads}
    every_overload = {(e.class_name, e.name) for e in catalogue.entries if e.all_overloads}
    field = {e.key: e.descriptor for e in catalogue.entries if e.access == "field"}
    classes = {k[0] for k in invoke} | {k[0] for k in every_overload}
    methods: set[Site] = set()
    for ca in dx.get_classes():
        if ca.name not in classes:
            continue
        for ma in ca.get_methods():
            descriptor = ma.descriptor.replace(" ", "")
            api = invoke.get((ca.name, ma.name, descriptor))
            if api is None and (ca.name, ma.name) in every_overload:
                api = f"{ca.name}->{ma.name}{descriptor}"
            if api is None:
                continue
            for caller_cls, caller, off in ma.get_xref_from():
                methods.add((dotted(caller_cls.name), caller.name, caller.descriptor.replace(" ", ""), api, off))
    fields: set[Site] = set()
    for ma in dx.get_methods():
        if ma.is_external():
            continue
        method = ma.get_method()
        for off, ins in method.get_instructions_idx():
            op = ins.get_op_value()
            if 0x52 <= op <= 0x58 or 0x60 <= op <= 0x66:
                cls, ftype, fname = ins.cm.vm.get_cm_field(ins.get_ref_kind())
                api = field.get((cls, fname, ftype))
                if api is not None:
                    fields.add((dotted(method.get_class_name()), method.get_name(),
                                method.get_descriptor().replace(" ", ""), api, off))
    return methods, fields


def _diff(ours: set[Site], theirs: set[Site]) -> str:
    lines = [f"  only ours:       {s}" for s in sorted(ours - theirs)]
    lines += [f"  only androguard: {s}" for s in sorted(theirs - ours)]
    return "\n".join(lines)


def _params() -> list:
    """One param per corpus APK (the big ones marked slow), or the corpus skip."""
    apks = corpus_apks()
    if not apks:
        return apk_params([])
    return [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in _BIG else []) for p in apks]


@pytest.mark.corpus
@pytest.mark.parametrize("apk", _params())
def test_call_sites_equal_androguard_xrefs(apk: Path) -> None:
    our_methods, our_fields = _ours(apk)
    their_methods, their_fields = _androguard(apk)
    assert our_methods == their_methods, f"{apk.name}: method call sites differ:\n{_diff(our_methods, their_methods)}"
    assert our_fields == their_fields, f"{apk.name}: field reads differ:\n{_diff(our_fields, their_fields)}"
