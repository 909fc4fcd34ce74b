"""Which methods run before any UI: breadth-first search over the call graph from the entry points.

Entry points (code Android runs before any Activity is shown), each resolved through the app's
class hierarchy (an Application subclass inheriting ``onCreate`` from an app base class enters
there):

* the Application class: ``<init>()V``, ``attachBaseContext(Context)``, ``onCreate()V``, ``<clinit>``;
* every ContentProvider: ``<init>()V``, ``onCreate()Z``, ``<clinit>``;
* every receiver of ``BOOT_COMPLETED``: ``<init>()V``, ``onReceive(Context, Intent)``, ``<clinit>``.

Virtual and interface calls dispatch by rapid type analysis (class hierarchy restricted to the
classes reached code instantiates; see :func:`compute_reachability`). BFS keeps one parent per
method, so :meth:`Reachability.path_to` gives one path, the shortest over statically bound calls,
as evidence. The search is bounded by a number of methods and a wall-clock budget; when a bound
is hit the result says so (``bound_hit``) and the caller must treat reachability as unknown.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from .callgraph import CALLBACKS, CallGraph, ClassHierarchy, MethodKey, is_object_method
from .dex import dotted

DEFAULT_MAX_METHODS = 500_000

_APPLICATION = (("<init>", "()V"), ("attachBaseContext", "(Landroid/content/Context;)V"), ("onCreate", "()V"))
_PROVIDER = (("<init>", "()V"), ("onCreate", "()Z"))
_RECEIVER = (("<init>", "()V"), ("onReceive", "(Landroid/content/Context;Landroid/content/Intent;)V"))


class EntryPointsLike(Protocol):
    """What the manifest collector provides: dotted class names of pre-UI components."""

    application: str | None
    providers: Iterable[str]
    boot_receivers: Iterable[str]


def method_label(key: MethodKey) -> str:
    """``com.x.App.onCreate()V`` -- how methods appear in ``reach_path``."""
    return f"{dotted(key[0])}.{key[1]}{key[2]}"


def entry_label(key: MethodKey) -> str:
    """``com.x.App.onCreate`` -- how an entry point appears in ``reach_entry``."""
    return f"{dotted(key[0])}.{key[1]}"


def _descriptor(dotted_name: str) -> str:
    return "L" + dotted_name.replace(".", "/") + ";"


def entry_methods(hierarchy: ClassHierarchy, entry_points: EntryPointsLike) -> list[MethodKey]:
    """The entry methods present in the app's code, in a stable order (application, providers,
    boot receivers; names sorted within a kind)."""
    groups: list[tuple[list[str], tuple[tuple[str, str], ...]]] = [
        ([entry_points.application] if entry_points.application else [], _APPLICATION),
        (sorted(set(entry_points.providers)), _PROVIDER),
        (sorted(set(entry_points.boot_receivers)), _RECEIVER),
    ]
    out: dict[MethodKey, None] = {}
    for names, members in groups:
        for name in names:
            cls = _descriptor(name)
            if cls not in hierarchy:
                continue
            if ("<clinit>", "()V") in hierarchy.methods_of(cls):
                out[(cls, "<clinit>", "()V")] = None
            for mname, proto in members:
                key = hierarchy.resolve(cls, mname, proto)
                if key is not None and hierarchy.code_of(key) is not None:
                    out[key] = None
    return list(out)


@dataclass
class Reachability:
    """Outcome of the search; ``parents`` maps each reached method to its BFS parent."""

    computed: bool
    bound_hit: bool
    reason: str | None
    entries: list[MethodKey]
    methods: int
    edges: int
    parents: dict[MethodKey, MethodKey | None] = field(default_factory=dict)

    def reached(self, key: MethodKey) -> bool | None:
        """True/False when known; None when not computed or the bound was hit."""
        if not self.computed or self.bound_hit:
            return None
        return key in self.parents

    def path_to(self, key: MethodKey) -> list[MethodKey] | None:
        """One shortest path entry -> ... -> ``key`` (inclusive), or None when not reached."""
        if key not in self.parents:
            return None
        path = [key]
        cur = self.parents[key]
        while cur is not None:
            path.append(cur)
            cur = self.parents[cur]
        path.reverse()
        return path

    def to_json(self) -> dict[str, Any]:
        """``facts.reachability`` in the documented key order."""
        return {
            "id": "reachability", "computed": self.computed, "bound_hit": self.bound_hit, "reason": self.reason,
            "entry_points": [method_label(k) for k in self.entries], "methods": self.methods, "edges": self.edges,
        }


def compute_reachability(graph: CallGraph, entry_points: EntryPointsLike, *, max_methods: int = DEFAULT_MAX_METHODS,
                         max_seconds: float = 30.0) -> Reachability:
    """BFS from the entry points over ``graph``, within ``max_methods`` and ``max_seconds``.

    Virtual and interface calls dispatch by rapid type analysis: to the implementation the
    referenced class resolves to, plus the implementation in every app class that reached code
    instantiates (or the framework does: the Application, providers and receivers) and that is a
    subtype of the referenced class. A class instantiated later in the search adds its targets to
    the calls already seen, and its framework callbacks (:data:`CALLBACKS`: ``Runnable.run``,
    ``Thread.run``, ``Handler.handleMessage`` ...) are reached from the method that created it.
    The path kept for a method is the first found in BFS order (shortest for static calls).
    """
    h = graph.hierarchy
    entries = entry_methods(h, entry_points)
    parents: dict[MethodKey, MethodKey | None] = {k: None for k in entries}
    queue = deque(entries)
    deadline = time.monotonic() + max_seconds
    bound: str | None = None
    visited = 0
    edges = 0
    instantiated: set[str] = set()
    inst_sub: dict[str, list[str]] = {}  # type -> instantiated classes that are subtypes of it
    pending: dict[str, list[tuple[str, str, MethodKey]]] = {}  # type -> virtual calls seen on it

    def reach(target: MethodKey, parent: MethodKey) -> None:
        nonlocal edges
        edges += 1
        if target not in parents:
            parents[target] = parent
            queue.append(target)

    def instantiate(cls: str, by: MethodKey | None) -> None:
        if cls in instantiated or cls not in h:
            return
        instantiated.add(cls)
        for sup in graph.supertypes(cls):
            inst_sub.setdefault(sup, []).append(cls)
            for name, proto, caller in pending.get(sup, ()):
                t = graph.resolve((cls, name, proto))
                if t is not None:
                    reach(t, caller)
            if by is not None:
                for name, proto in CALLBACKS.get(sup, ()):
                    t = graph.resolve((cls, name, proto))
                    if t is not None:
                        reach(t, by)

    for cls in {k[0] for k in entries}:
        instantiate(cls, None)
    while queue:
        if visited >= max_methods:
            bound = f"stopped after {max_methods} methods"
            break
        if visited & 255 == 0 and time.monotonic() > deadline:
            bound = f"stopped after {max_seconds:g} s ({visited} methods visited)"
            break
        key = queue.popleft()
        visited += 1
        direct, virtual, new = graph.scan(key)
        for t in direct:
            reach(t, key)
        for cls in new:
            instantiate(cls, key)
        for ref in virtual:
            cls, name, proto = ref
            t = graph.resolve(ref)
            if t is not None and t != key:
                reach(t, key)
            if is_object_method(name, proto):
                continue
            pending.setdefault(cls, []).append((name, proto, key))
            for sub in inst_sub.get(cls, ()):
                t = graph.resolve((sub, name, proto))
                if t is not None and t != key:
                    reach(t, key)
    if not entries:
        reason = "no pre-UI entry point (Application, ContentProvider, BOOT_COMPLETED receiver) found in the code"
    else:
        reason = bound
    return Reachability(computed=True, bound_hit=bound is not None, reason=reason, entries=entries,
                        methods=len(parents), edges=edges, parents=parents)
