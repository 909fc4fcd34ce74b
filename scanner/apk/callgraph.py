"""The app's class hierarchy across all DEX files and the call facts of one method.

Methods are identified by ``(class descriptor, name, prototype)`` strings so that calls cross DEX
boundaries. The first DEX defining a class wins (the order Android's class loader uses).

:meth:`CallGraph.scan` walks one method's instructions once and returns:

* statically bound targets: ``invoke-static``/``-direct``/``-super`` resolved from the referenced
  class upwards through the app's superclasses, and the static initialiser ``<clinit>`` of a class
  first used by ``invoke-static``, ``new-instance``, ``sget``/``sput`` (it runs on first use);
* virtual/interface method references, dispatched by :mod:`scanner.apk.reachability` with class
  hierarchy analysis restricted to instantiated classes (rapid type analysis);
* the classes the method instantiates (``new-instance``).

Calls to methods with no code in the app (framework, abstract, native) lead nowhere by
themselves; :data:`CALLBACKS` lists the framework callbacks followed once an instance exists.
"""

from __future__ import annotations

from collections.abc import Callable

from .bytecode import INVOKE_OPS, INVOKE_STATIC, INVOKE_VIRTUAL_LIKE, NEW_INSTANCE, method_refs
from .dex import DexFile

MethodKey = tuple[str, str, str]


class ClassHierarchy:
    """Class definitions of every DEX: superclass, interfaces and defined methods per class."""

    def __init__(self, dexes: list[DexFile]) -> None:
        self._classes: dict[str, tuple[DexFile, int]] = {}
        self._super: dict[str, str | None] = {}
        self._ifaces: dict[str, tuple[str, ...]] = {}
        for dex in dexes:
            for i, cdef in enumerate(dex.class_defs()):
                name = dex.type_name(cdef.type_idx)
                if name in self._classes:
                    continue
                self._classes[name] = (dex, i)
                self._super[name] = dex.type_name(cdef.superclass_idx) if cdef.superclass_idx != 0xFFFFFFFF else None
                self._ifaces[name] = tuple(dex.type_name(t) for t in cdef.interfaces)
        self._methods: dict[str, dict[tuple[str, str], tuple[DexFile, int]]] = {}

    def __contains__(self, class_desc: str) -> bool:
        return class_desc in self._classes

    def __len__(self) -> int:
        return len(self._classes)

    def methods_of(self, class_desc: str) -> dict[tuple[str, str], tuple[DexFile, int]]:
        """(name, prototype) -> (dex, code_off) of the methods a class defines (code_off 0 = none)."""
        table = self._methods.get(class_desc)
        if table is None:
            table = {}
            where = self._classes.get(class_desc)
            if where is not None:
                dex, i = where
                for method_idx, _access, code_off in dex.class_methods()[i]:
                    _cls, name, proto = dex.method_ref(method_idx)
                    table[(name, proto)] = (dex, code_off)
            self._methods[class_desc] = table
        return table

    def superclass(self, class_desc: str) -> str | None:
        """Superclass descriptor of an app class (None for unknown classes)."""
        return self._super.get(class_desc)

    def interfaces(self, class_desc: str) -> tuple[str, ...]:
        """Interfaces an app class declares directly (empty for unknown classes)."""
        return self._ifaces.get(class_desc, ())

    def resolve(self, class_desc: str, name: str, proto: str) -> MethodKey | None:
        """The app method that ``class_desc->name proto`` dispatches to by upward lookup."""
        cur: str | None = class_desc
        seen = 0
        while cur is not None and cur in self._classes and seen < 256:
            if (name, proto) in self.methods_of(cur):
                return (cur, name, proto)
            cur = self._super.get(cur)
            seen += 1
        return None

    def code_of(self, key: MethodKey) -> tuple[DexFile, int] | None:
        """(dex, code_off) of an app method with code, or None."""
        hit = self.methods_of(key[0]).get((key[1], key[2]))
        if hit is None or not hit[1]:
            return None
        return hit


class CallGraph:
    """Per-method call facts over a :class:`ClassHierarchy` (see :meth:`scan`)."""

    def __init__(self, hierarchy: ClassHierarchy, stop_at: Callable[[DexFile, int, int], int] | None = None) -> None:
        """``stop_at(dex, start, end)``, when given, is where the walk of a method's code ends
        (before ``end``): the consent-aware graph stops at a consent check, so calls behind it
        are not edges (scanner/apk/guards.py)."""
        self.hierarchy = hierarchy
        self.stop_at = stop_at
        self._refs: dict[int, dict[int, tuple[str, str, str]]] = {}
        self._resolved: dict[MethodKey, MethodKey | None] = {}
        self._supertypes: dict[str, tuple[str, ...]] = {}

    def _method_ref(self, dex: DexFile, idx: int) -> tuple[str, str, str]:
        cache = self._refs.setdefault(id(dex), {})
        ref = cache.get(idx)
        if ref is None:
            ref = dex.method_ref(idx)
            cache[idx] = ref
        return ref

    def resolve(self, ref: MethodKey) -> MethodKey | None:
        """Cached :meth:`ClassHierarchy.resolve` of a method reference."""
        if ref in self._resolved:
            return self._resolved[ref]
        hit = self.hierarchy.resolve(*ref)
        self._resolved[ref] = hit
        return hit

    def supertypes(self, class_desc: str) -> tuple[str, ...]:
        """The class itself, its superclasses and every interface it implements, transitively
        (names outside the app are included but not walked further)."""
        cached = self._supertypes.get(class_desc)
        if cached is not None:
            return cached
        h = self.hierarchy
        out: dict[str, None] = {}
        stack = [class_desc]
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out[cur] = None
            sup = h.superclass(cur)
            if sup is not None:
                stack.append(sup)
            stack.extend(h.interfaces(cur))
        result = tuple(out)
        self._supertypes[class_desc] = result
        return result

    def scan(self, key: MethodKey) -> tuple[list[MethodKey], list[MethodKey], list[str]]:
        """One walk of ``key``'s instructions: (statically bound targets incl. triggered
        ``<clinit>``, virtual/interface method references, classes instantiated)."""
        h = self.hierarchy
        where = h.code_of(key)
        if where is None:
            return [], [], []
        dex, code_off = where
        data = dex.data
        start, end = dex.code_span(code_off)
        if self.stop_at is not None:
            end = self.stop_at(dex, start, end)
        direct: dict[MethodKey, None] = {}
        virtual: dict[MethodKey, None] = {}
        new: dict[str, None] = {}
        n_methods, n_types, n_fields = dex.method_id_count, dex.type_count, len(dex.field_class)
        for _pos, op, idx in method_refs(data, start, end):
            if op in INVOKE_OPS:
                if idx >= n_methods:
                    continue
                ref = self._method_ref(dex, idx)
                if op in INVOKE_VIRTUAL_LIKE:
                    virtual[ref] = None
                    continue
                t = self.resolve(ref)
                if t is not None:
                    direct[t] = None
                if op in INVOKE_STATIC:
                    self._clinit(ref[0], direct)
            elif op == NEW_INSTANCE:
                if idx < n_types:
                    cls = dex.type_name(idx)
                    new[cls] = None
                    self._clinit(cls, direct)
            elif idx < n_fields:  # sget*/sput*
                self._clinit(dex.type_name(dex.field_class[idx]), direct)
        direct.pop(key, None)
        return list(direct), list(virtual), list(new)

    def _clinit(self, class_desc: str, out: dict[MethodKey, None]) -> None:
        h = self.hierarchy
        if class_desc in h and ("<clinit>", "()V") in h.methods_of(class_desc):
            out[(class_desc, "<clinit>", "()V")] = None


_OBJECT_METHODS = frozenset({
    ("toString", "()Ljava/lang/String;"), ("hashCode", "()I"), ("equals", "(Ljava/lang/Object;)Z"),
    ("clone", "()Ljava/lang/Object;"), ("finalize", "()V"),
})

#: Framework callbacks that run once an instance exists in reached code (thread bodies, tasks,
#: handlers): the framework, not app code, calls them, so no invoke instruction shows the edge.
CALLBACKS: dict[str, tuple[tuple[str, str], ...]] = {
    "Ljava/lang/Runnable;": (("run", "()V"),),
    "Ljava/lang/Thread;": (("run", "()V"),),
    "Ljava/util/TimerTask;": (("run", "()V"),),
    "Ljava/util/concurrent/Callable;": (("call", "()Ljava/lang/Object;"),),
    "Landroid/os/AsyncTask;": (("doInBackground", "([Ljava/lang/Object;)Ljava/lang/Object;"),),
    "Landroid/os/Handler;": (("handleMessage", "(Landroid/os/Message;)V"),),
    "Landroid/os/Handler$Callback;": (("handleMessage", "(Landroid/os/Message;)Z"),),
}


def is_object_method(name: str, proto: str) -> bool:
    """Methods every class inherits from java.lang.Object (not fanned out to subclasses)."""
    return (name, proto) in _OBJECT_METHODS
