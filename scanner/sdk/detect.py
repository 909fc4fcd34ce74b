"""Detect embedded SDKs by combining code, manifest, native-library and host signals.

:func:`detect_sdks` takes the pack and an :class:`SdkEvidence` (what the APK collectors found) and
returns the rows of ``facts.sdks`` (docs/result-format.md), sorted by ``sdk_id``.

Matching rules:

* class names are matched on package boundaries against the pack's code prefixes, longest prefix
  wins, so each class counts for exactly one SDK (``com.dv`` never matches ``com.dvtech``); the app's
  own package (and its aliases) is skipped, so an app never "contains" an SDK through its own code;
* manifest components match exactly (or by a regex signature), by class suffix, or by lying under an
  SDK's code prefix: component names survive obfuscation, so an SDK whose code is renamed is still
  found from its manifest, meta-data keys, intent actions or native libraries;
* hosts (from the endpoints collector or from traffic) match domain suffixes on label boundaries.

Confidence: ``high`` when code is backed by a manifest, native or host signal, or when many classes
match; ``medium`` for code alone or manifest/native signals alone; ``low`` when hosts are the only
evidence (a URL string may be dead code or a link).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .pack import SdkPack, Signature
from .prefixes import HostMatcher, PrefixMatcher, under_any

#: this many classes under an SDK's prefixes is enough for ``high`` on its own
MANY_CLASSES = 20
#: at most this many values are listed per signal kind (the rest are counted)
MAX_VALUES_PER_KIND = 8
STRONG_KINDS = ("component", "meta_data", "native_lib", "action")
SIGNAL_ORDER = ("code_prefix", "component", "meta_data", "action", "native_lib", "host")


@dataclass(frozen=True)
class SdkEvidence:
    """What the collectors saw in one app, in the shapes detection needs.

    ``class_names`` are dotted (``com.umeng.analytics.MobclickAgent``), typically from the DEX index;
    ``components`` are dotted manifest component class names; ``native_libs`` are basenames such as
    ``libjpush219.so``; ``hosts`` come from the endpoints collector (or traffic).
    :func:`scanner.sdk.packers.detect_packers` accepts this object too (classes, native libraries
    and ``asset_names``).
    """

    class_names: Sequence[str] = ()
    components: Sequence[str] = ()
    meta_data_keys: Sequence[str] = ()
    intent_actions: Sequence[str] = ()
    native_libs: Sequence[str] = ()
    hosts: Sequence[str] = ()
    package_name: str | None = None
    first_party_prefixes: Sequence[str] = ()
    #: ZIP entry names under ``assets/`` (not used for SDKs; lets packer detection take this object)
    asset_names: Sequence[str] = ()
    #: dotted class name -> the split APKs or feature modules whose DEX alone defines it
    class_splits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def own_prefixes(self) -> tuple[str, ...]:
        """The app's package and aliases (dotted, de-duplicated, sorted)."""
        out = set(p.strip().rstrip(".") for p in self.first_party_prefixes if p and p.strip())
        if self.package_name:
            out.add(self.package_name)
        return tuple(sorted(out))


@dataclass(frozen=True)
class SdkSignal:
    """One piece of evidence for an SDK."""

    kind: str
    value: str
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        """``{"kind", "value", "detail"}``."""
        return {"kind": self.kind, "value": self.value, "detail": self.detail}


@dataclass(frozen=True)
class SdkFact:
    """One row of ``facts.sdks``."""

    sdk_id: str
    name: dict[str, str]
    vendor: dict[str, str] | None
    category: str
    confidence: str
    signals: tuple[SdkSignal, ...]
    class_count: int
    pi_types: tuple[str, ...]
    privacy_policy_url: str | None
    seen_in_traffic: bool = False

    def to_json(self) -> dict[str, Any]:
        """The documented JSON row."""
        return {
            "id": f"sdk:{self.sdk_id}",
            "sdk_id": self.sdk_id,
            "name": dict(self.name),
            "vendor": dict(self.vendor) if self.vendor else None,
            "category": self.category,
            "confidence": self.confidence,
            "signals": [s.to_json() for s in self.signals],
            "class_count": self.class_count,
            "pi_types": list(self.pi_types),
            "privacy_policy_url": self.privacy_policy_url,
            "seen_in_traffic": self.seen_in_traffic,
        }


@dataclass
class SdkIndex:
    """Look-up tables built once per pack."""

    code: PrefixMatcher[str]
    suffixes: dict[str, list[tuple[str, str]]]
    components: dict[str, list[str]]
    component_regex: list[tuple[Signature, str]]
    meta_data: dict[str, list[str]]
    actions: dict[str, list[str]]
    native_libs: dict[str, list[str]]
    native_regex: list[tuple[Signature, str]]
    hosts: HostMatcher[str]
    categories: dict[str, str] = field(default_factory=dict)


_INDEX_CACHE: dict[tuple[str, str, str], SdkIndex] = {}


def sdk_index(pack: SdkPack) -> SdkIndex:
    """The look-up tables of a pack (built on first use, then cached)."""
    key = (pack.id, pack.sha256, pack.path)
    cached = _INDEX_CACHE.get(key)
    if cached is not None:
        return cached
    code: list[tuple[str, str]] = []
    hosts: list[tuple[str, str]] = []
    suffixes: dict[str, list[tuple[str, str]]] = {}
    exact: dict[str, dict[str, list[str]]] = {"component": {}, "meta_data": {}, "action": {}, "native_lib": {}}
    regex: dict[str, list[tuple[Signature, str]]] = {"component": [], "native_lib": []}
    for rec in pack.sdks:
        for sig in rec.signatures:
            if sig.kind == "code_prefix":
                code.append((sig.value, rec.id))
            elif sig.kind == "host":
                hosts.append((sig.value, rec.id))
            elif sig.kind == "class_suffix":
                last = sig.value.rsplit(".", 1)[-1]
                suffixes.setdefault(last, []).append((sig.value, rec.id))
            elif sig.regex and sig.kind in regex:
                regex[sig.kind].append((sig, rec.id))
            elif sig.kind in exact:
                owners = exact[sig.kind].setdefault(sig.value, [])
                if rec.id not in owners:
                    owners.append(rec.id)
    index = SdkIndex(
        code=PrefixMatcher(code),
        suffixes=suffixes,
        components=exact["component"],
        component_regex=regex["component"],
        meta_data=exact["meta_data"],
        actions=exact["action"],
        native_libs=exact["native_lib"],
        native_regex=regex["native_lib"],
        hosts=HostMatcher(hosts),
        categories={rec.id: rec.category for rec in pack.sdks},
    )
    _INDEX_CACHE[key] = index
    return index


class _Hits:
    """Signals collected per SDK while scanning."""

    def __init__(self) -> None:
        self.code: dict[str, Counter[str]] = {}
        #: (sdk_id, code prefix) -> classes found only in splits, by the splits that define them
        self.code_splits: dict[tuple[str, str], Counter[tuple[str, ...]]] = {}
        self.other: dict[str, dict[tuple[str, str], str | None]] = {}

    def add_code(self, sdk_id: str, prefix: str, n: int = 1, split: tuple[str, ...] = ()) -> None:
        self.code.setdefault(sdk_id, Counter())[prefix] += n
        if split:
            self.code_splits.setdefault((sdk_id, prefix), Counter())[split] += n

    def add(self, sdk_id: str, kind: str, value: str, detail: str | None = None) -> None:
        self.other.setdefault(sdk_id, {}).setdefault((kind, value), detail)

    def ids(self) -> list[str]:
        return sorted(set(self.code) | set(self.other))


def _scan_classes(index: SdkIndex, class_names: Sequence[str], own: tuple[str, ...], hits: _Hits,
                  class_splits: Mapping[str, tuple[str, ...]]) -> None:
    code = index.code
    suffix_table = index.suffixes
    packages: Counter[str] = Counter()  # package -> classes of the base APK
    split_packages: Counter[tuple[str, tuple[str, ...]]] = Counter()  # (package, splits) -> classes only splits define
    own_dotted = tuple(p + "." for p in own)
    for name in class_names:
        if own_dotted and (name.startswith(own_dotted) or name in own):
            if suffix_table:
                _check_suffix(suffix_table, name, hits, "code_prefix")
            continue
        split = class_splits.get(name, ()) if class_splits else ()
        if name in code:
            match = code.longest(name)
            if match:
                for owner in match[1]:
                    hits.add_code(owner, match[0], 1, split)
            continue
        dot = name.rfind(".")
        if dot > 0:
            if split:
                split_packages[(name[:dot], split)] += 1
            else:
                packages[name[:dot]] += 1
            if suffix_table and name[dot + 1 :] in suffix_table:
                _check_suffix(suffix_table, name, hits, "code_prefix")
    rows: list[tuple[str, tuple[str, ...], int]] = [(package, (), n) for package, n in packages.items()]
    rows += [(package, split, n) for (package, split), n in split_packages.items()]
    for package, split, n in rows:
        match = code.longest(package)
        if match:
            for owner in match[1]:
                hits.add_code(owner, match[0], n, split)


def _check_suffix(table: dict[str, list[tuple[str, str]]], name: str, hits: _Hits, kind: str) -> None:
    for suffix, owner in table.get(name.rsplit(".", 1)[-1], ()):
        if name.endswith(suffix):
            hits.add(owner, kind, name, f"class name ends with {suffix}")


def _scan_manifest(index: SdkIndex, ev: SdkEvidence, own: tuple[str, ...], hits: _Hits) -> None:
    for comp in sorted(set(ev.components)):
        for owner in index.components.get(comp, ()):
            hits.add(owner, "component", comp, "known component")
        for sig, owner in index.component_regex:
            if sig.matches_name(comp):
                hits.add(owner, "component", comp, f"matches {sig.value}")
        _check_suffix(index.suffixes, comp, hits, "component")
        if not under_any(comp, own):
            match = index.code.longest(comp)
            if match:
                for owner in match[1]:
                    hits.add(owner, "component", comp, f"under {match[0]}")
    for key in sorted(set(ev.meta_data_keys)):
        for owner in index.meta_data.get(key, ()):
            hits.add(owner, "meta_data", key, None)
    for action in sorted(set(ev.intent_actions)):
        for owner in index.actions.get(action, ()):
            hits.add(owner, "action", action, None)
    # a library of a split APK or feature module comes as "split!lib/abi/name.so": the split is
    # named in the signal; one also in the base APK is reported from the base
    for lib in sorted(set(ev.native_libs), key=lambda name: ("!" in name, name)):
        base = lib.rsplit("/", 1)[-1]
        where = f"in {lib.split('!', 1)[0]}" if "!" in lib else None
        for owner in index.native_libs.get(base, ()):
            hits.add(owner, "native_lib", base, where)
        for sig, owner in index.native_regex:
            if sig.matches_name(base):
                hits.add(owner, "native_lib", base, f"matches {sig.value}" + (f", {where}" if where else ""))


def _scan_hosts(index: SdkIndex, hosts: Sequence[str], hits: _Hits) -> None:
    for host in sorted(set(hosts)):
        match = index.hosts.longest(host)
        if match:
            for owner in match[1]:
                hits.add(owner, "host", host, f"*.{match[0]}" if host != match[0] else None)


def _confidence(class_count: int, kinds: set[str]) -> str:
    strong = any(k in kinds for k in STRONG_KINDS)
    if class_count >= MANY_CLASSES or (class_count and (strong or "host" in kinds)):
        return "high"
    if class_count or strong:
        return "medium"
    return "low"


def _classes_detail(n: int, splits: Counter[tuple[str, ...]] | None) -> str:
    """``12 classes``; ``12 classes, in pay`` when a split or feature module alone defines them
    (several names: each class is defined by one or more of them, not by the base APK);
    ``12 classes, 3 of them in pay`` when the base APK defines the rest."""
    detail = f"{n} classes" if n != 1 else "1 class"
    if splits:
        where = ", ".join(sorted({name for names in splits for name in names}))
        in_splits = sum(splits.values())
        detail += f", in {where}" if in_splits == n else f", {in_splits} of them in {where}"
    return detail


def _signals(sdk_id: str, hits: _Hits) -> tuple[SdkSignal, ...]:
    code, other = hits.code.get(sdk_id, Counter()), hits.other.get(sdk_id, {})
    by_kind: dict[str, list[SdkSignal]] = {}
    for prefix, n in sorted(code.items(), key=lambda kv: (-kv[1], kv[0])):
        by_kind.setdefault("code_prefix", []).append(
            SdkSignal("code_prefix", prefix, _classes_detail(n, hits.code_splits.get((sdk_id, prefix)))))
    for (kind, value), detail in sorted(other.items()):
        by_kind.setdefault(kind, []).append(SdkSignal(kind, value, detail))
    out: list[SdkSignal] = []
    for kind in SIGNAL_ORDER:
        items = by_kind.get(kind, [])
        out.extend(items[:MAX_VALUES_PER_KIND])
        if len(items) > MAX_VALUES_PER_KIND:
            out.append(SdkSignal(kind, f"+{len(items) - MAX_VALUES_PER_KIND} more", "further matches of this kind not listed"))
    return tuple(out)


def _without_shadowed(hits: _Hits) -> list[str]:
    """SDK ids to report, minus those whose whole evidence is shared with an SDK that has code.

    Related SDKs share manifest keys (``UMENG_APPKEY`` serves both the legacy ``com.mobclick`` SDK and
    the current one); when one of them has code and the other has nothing but the shared keys, the
    second is the same integration seen twice, and its signals already appear on the first.
    """
    ids = hits.ids()
    with_code = [i for i in ids if hits.code.get(i)]
    out = []
    for sdk_id in ids:
        if not hits.code.get(sdk_id):
            mine = {(k, v) for k, v in hits.other.get(sdk_id, {})}
            if mine and any(o != sdk_id and mine <= set(hits.other.get(o, {})) for o in with_code):
                continue
        out.append(sdk_id)
    return out


def detect_sdk_facts(pack: SdkPack, evidence: SdkEvidence) -> list[SdkFact]:
    """Detected SDKs as frozen facts, sorted by sdk_id."""
    index = sdk_index(pack)
    own = evidence.own_prefixes()
    hits = _Hits()
    _scan_classes(index, evidence.class_names, own, hits, evidence.class_splits)
    _scan_manifest(index, evidence, own, hits)
    _scan_hosts(index, evidence.hosts, hits)
    facts: list[SdkFact] = []
    for sdk_id in _without_shadowed(hits):
        rec = pack.get(sdk_id)
        if rec is None:
            continue
        code = hits.code.get(sdk_id, Counter())
        other = hits.other.get(sdk_id, {})
        class_count = sum(code.values())
        kinds = {k for k, _v in other}
        facts.append(
            SdkFact(
                sdk_id=sdk_id,
                name=rec.name(),
                vendor=rec.vendor(),
                category=rec.category,
                confidence=_confidence(class_count, kinds),
                signals=_signals(sdk_id, hits),
                class_count=class_count,
                pi_types=rec.pi_types,
                privacy_policy_url=rec.privacy_policy_url,
            )
        )
    return facts


def detect_sdks(pack: SdkPack, evidence: SdkEvidence) -> list[dict[str, Any]]:
    """Rows of ``facts.sdks`` (docs/result-format.md), sorted by sdk_id."""
    return [fact.to_json() for fact in detect_sdk_facts(pack, evidence)]


def evidence_from_facts(app: dict[str, Any], facts: dict[str, Any], class_names: Sequence[str] = ()) -> SdkEvidence:
    """Build :class:`SdkEvidence` from a result's ``app`` block and fact sections (components,
    manifest, endpoints; docs/result-format.md) plus the DEX class names (dotted, sorted)."""
    components = facts.get("components") or []
    manifest = facts.get("manifest") or {}
    actions = sorted({a for c in components for f in c.get("intent_filters") or [] for a in f.get("actions") or []})
    libs = sorted({name for names in (manifest.get("native_libs") or {}).values() for name in names})
    hosts = sorted({e["host"] for e in facts.get("endpoints") or [] if e.get("host")})
    return SdkEvidence(
        class_names=class_names,
        components=sorted({c["name"] for c in components if c.get("name")}),
        meta_data_keys=sorted({m["name"] for m in manifest.get("meta_data") or [] if m.get("name")}),
        intent_actions=actions,
        native_libs=libs,
        hosts=hosts,
        package_name=app.get("package"),
        first_party_prefixes=tuple(app.get("first_party_prefixes") or ()),
    )


def mark_seen_in_traffic(pack: SdkPack, rows: Sequence[dict[str, Any]], hosts: Sequence[str]) -> list[dict[str, Any]]:
    """Copies of ``facts.sdks`` rows with ``seen_in_traffic`` set for SDKs whose host patterns match
    a host observed in a proxy session (the rows' order is kept)."""
    index = sdk_index(pack)
    seen: set[str] = set()
    for host in hosts:
        match = index.hosts.longest(host)
        if match:
            seen.update(match[1])
    return [{**row, "seen_in_traffic": row["seen_in_traffic"] or row["sdk_id"] in seen} for row in rows]
