"""The registered selectors of the rule language and the filters they apply to facts.

A selector names one fact kind (``permission`` reads ``facts.permissions``, ``api`` reads
``facts.api_calls``, ...), filters its items field by field, and turns every matching item into
a :class:`Hit` (one evidence reference with its party, phase and evidence level). ``context``
and ``policy`` are conditions on the case and on policy facts. The table :data:`SELECTORS` is a
plain constant: selectors are data-driven functions, never code taken from a pack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable

from ..pi import vocabulary
from ..model.facts import fact_kind
from ..model.view import ResultView
from .categories import AppType
from ..traffic.observation import LEVELS

#: filter operators accepted inside ``{field: {op: value}}``
OPERATORS = (
    "eq", "ne", "in", "not_in", "regex", "gt", "gte", "lt", "lte", "contains", "any_of", "all_of",
    "none_of", "empty", "exists", "outside_necessary", "sensitive", "device_id", "pi_group",
)
#: operators whose value may name a rule parameter (``"$name"``)
NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte")
#: operators whose value is a list of PI-type ids (checked against rules/pi-types.yaml)
SET_OPERATORS = ("in", "not_in", "any_of", "all_of", "none_of")


@dataclass(frozen=True)
class Hit:
    """One piece of evidence: a fact reference with its responsible party, phase and level."""

    kind: str
    ref: str
    level: str
    party: tuple[tuple[str, Any], ...] | None = None
    phase: str | None = None


@dataclass
class Context:
    """What selectors read: the result (through its :class:`ResultView`), the case's app type, the
    rule's parameters."""

    result: dict[str, Any]
    app_type: AppType | None
    params: dict[str, Any] = field(default_factory=dict)
    #: selector name -> its prepared items (and derived indexes), shared by every rule of one evaluation
    items: dict[str, Any] = field(default_factory=dict)
    view: ResultView | None = None

    def __post_init__(self) -> None:
        if self.view is None:
            self.view = self.items.get("view:") or ResultView(self.result)
            self.items["view:"] = self.view

    def items_of(self, name: str) -> list[dict[str, Any]]:
        """The prepared items of one selector (computed once per result)."""
        if name not in self.items:
            self.items[name] = SELECTORS[name].items(self)
        prepared: list[dict[str, Any]] = self.items[name]
        return prepared

    def facts_of(self, kind: str) -> list[dict[str, Any]]:
        """The items of one registered fact kind (:mod:`scanner.model.facts`)."""
        assert self.view is not None
        return self.view.items(kind)

    @property
    def facts(self) -> dict[str, Any]:
        """``result["facts"]`` (empty when absent)."""
        assert self.view is not None
        return self.view.facts


def party_tuple(kind: str, sdk_id: Any = None, sdk_name: Any = None, vendor: Any = None) -> tuple[tuple[str, Any], ...]:
    """A hashable party record in the finding's key order."""
    return (("kind", kind), ("sdk_id", sdk_id), ("sdk_name", sdk_name), ("vendor", vendor))


def _party_from(owner: dict[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    owner = owner or {}
    kind = owner.get("kind") or "unknown"
    if kind == "base_library":
        # the WeChat base library is the platform itself, a third party to the mini-program maker
        return party_tuple("third_party", None, "WeChat base library", "Tencent")
    return party_tuple(kind, owner.get("sdk_id"), owner.get("sdk_name"), owner.get("vendor"))


def _text(value: Any) -> Any:
    """English text of a ``{zh, en}`` pair, else the value itself."""
    if isinstance(value, dict):
        return value.get("en") or value.get("zh")
    return value


# --- fact sources -----------------------------------------------------------------------------


def _permissions(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("permission")


def _api_calls(ctx: Context) -> list[dict[str, Any]]:
    # only calls that can read PI on this app: self-checks, library code and calls whose permission
    # is missing stay in the result (scanner/apk/capability.py) but support no finding
    return [{**c, "caller_class": (c.get("caller") or {}).get("class"), "_party": _party_from(c.get("owner"))}
            for c in ctx.facts_of("api_call") if (c.get("capability") or {}).get("status", "counted") == "counted"]


def _sdks(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("sdk")


def _components(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    for comp in ctx.facts_of("component"):
        filters = comp.get("intent_filters") or []
        actions = sorted({a for f in filters for a in f.get("actions") or []})
        categories = sorted({c for f in filters for c in f.get("categories") or []})
        rows.append({**comp, "actions": actions, "categories": categories})
    return rows


def _manifest(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    for manifest in ctx.facts_of("manifest"):
        nsc = manifest.get("network_security_config") or {}
        rows.append({**manifest, "cleartext_permitted_domains": list(nsc.get("cleartext_permitted_domains") or []),
                     "base_cleartext_permitted": nsc.get("base_cleartext_permitted"),
                     "user_certs_trusted": nsc.get("user_certs_trusted")})
    return rows


def _endpoints(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("endpoint")


def _observations(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    for obs in ctx.facts_of("observation"):
        matches = obs.get("matches") or []
        # a "shape" match (an identifier of this kind that is not this phone's) supports no claim
        # about the phone: it is kept apart from pi_types (docs/traffic.md "Evidence levels")
        levels = {m.get("level") or m.get("detector") or "pattern" for m in matches}
        claims = [m for m in matches if (m.get("level") or m.get("detector")) != "shape"]
        rows.append({**obs, "pi_types": sorted({m["pi_type"] for m in claims}),
                     "shape_pi_types": sorted({m["pi_type"] for m in matches} - {m["pi_type"] for m in claims}),
                     "evidence_levels": sorted(levels),
                     "strongest_level": next((lv for lv in LEVELS if lv in levels), None),
                     "channel": obs.get("channel", "http"),
                     "encodings": sorted({m.get("encoding") for m in claims if m.get("encoding")}),
                     "_party": _party_from(obs.get("party"))})
    return rows


def _frequency(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("frequency")


def api_name(api: str) -> str:
    """``wx.getLocation`` / ``uni.getLocation`` / ``getLocation`` -> ``getLocation``."""
    return api.rsplit(".", 1)[-1]


def _mp_api_uses(ctx: Context) -> list[dict[str, Any]]:
    return [{**u, "api_name": api_name(u.get("api") or "")} for u in ctx.facts_of("miniprogram_api")]


def _mp_buttons(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("miniprogram_button")


def _mp_config(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    for mp in ctx.facts_of("miniprogram_config"):
        handling = (mp.get("privacy_handling") or {}).get("apis") or []
        rows.append({
            "id": mp["id"],
            "app_id": mp.get("app_id"),
            "use_privacy_check": mp.get("use_privacy_check"),
            "required_private_infos": list(mp.get("required_private_infos") or []),
            "permission_scopes": sorted(s.get("scope") for s in mp.get("permission_scopes") or []),
            "privacy_handling_apis": sorted({api_name(h.get("api") or "") for h in handling}),
            "plugins": sorted(p.get("name") for p in mp.get("plugins") or []),
            "request_domains": sorted({d.get("host") for d in mp.get("request_domains") or []}),
        })
    return rows


def _mp_scopes(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("miniprogram_scope")


def _mp_declared(ctx: Context) -> list[dict[str, Any]]:
    return ctx.facts_of("miniprogram_declared")


def _policy(ctx: Context) -> list[dict[str, Any]]:
    policy = ctx.facts.get("policy")
    return [policy] if isinstance(policy, dict) else []


def _policy_comparisons(ctx: Context) -> list[dict[str, Any]]:
    rows = []
    for item in ctx.facts_of("policy_comparison"):
        observed = {str(o.get("kind")) for o in item.get("observed") or []}
        rows.append({**item, "observed_kinds": sorted(observed)})
    return rows


#: the strongest evidence level an observed side can give a declared-vs-observed comparison
_OBSERVED_LEVEL = (("observation", "observed_traffic"), ("api_call", "in_code"), ("sdk", "in_code"),
                   ("miniprogram_api", "in_code"))


def _hit_policy_comparison(item: dict[str, Any], ctx: Context) -> list[Hit]:
    kinds = set(item.get("observed_kinds") or [])
    level = next((lvl for kind, lvl in _OBSERVED_LEVEL if kind in kinds), "declared")
    subject = item.get("subject") or {}
    party = _sdk_party(subject) if subject.get("sdk_id") else FIRST_PARTY
    return [Hit("policy", str(item["id"]), level, party)]


def _context(ctx: Context) -> list[dict[str, Any]]:
    case = ctx.result.get("case") or {}
    app = ctx.result.get("app") or {}
    category = case.get("category")
    return [{
        "category": category.get("id") if category else None,
        "no_pi_needed": ctx.app_type.no_pi_needed if ctx.app_type else None,
        "platform": app.get("platform"),
        "target_sdk": app.get("target_sdk"),
        "min_sdk": app.get("min_sdk"),
        "case_id": case.get("case_id"),
        "complete": ctx.result.get("complete"),
        "limitation_kinds": sorted({lim.get("kind") for lim in ctx.result.get("limitations") or []}),
        "fact_sections": sorted(ctx.facts),
    }]


# --- hits -------------------------------------------------------------------------------------

FIRST_PARTY = party_tuple("first_party")


def _hit(kind: str, level: str, party: Callable[[dict[str, Any]], tuple[tuple[str, Any], ...] | None] | None = None,
         phase: bool = False) -> Callable[[dict[str, Any], Context], list[Hit]]:
    """Hits for items of fact kind ``kind``: the item's id, with the kind's evidence name."""
    evidence = fact_kind(kind).evidence
    assert evidence is not None

    def hit(item: dict[str, Any], ctx: Context) -> list[Hit]:
        return [Hit(evidence, item["id"], level, party(item) if party else None, item.get("phase") if phase else None)]

    return hit


def _hit_api(item: dict[str, Any], ctx: Context) -> list[Hit]:
    level = "reachable_before_consent" if item.get("reachable_before_ui") is True else "in_code"
    return [Hit("api_call", item["id"], level, item["_party"])]


def _sdk_party(item: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return party_tuple("sdk", item.get("sdk_id"), _text(item.get("name")), _text(item.get("vendor")))


_hit_observation = _hit("observation", "observed_traffic", lambda item: item["_party"], phase=True)


def _hit_frequency(item: dict[str, Any], ctx: Context) -> list[Hit]:
    # a frequency row is an aggregate: its evidence is the observations it counts
    index: dict[tuple[Any, Any], list[dict[str, Any]]] | None = ctx.items.get("index:traffic-by-host-phase")
    if index is None:
        index = {}
        for obs in ctx.items_of("traffic"):
            index.setdefault((obs.get("host"), obs.get("phase")), []).append(obs)
        ctx.items["index:traffic-by-host-phase"] = index
    hits = []
    for obs in index.get((item.get("host"), item.get("phase")), []):
        if item.get("pi_type") in obs["pi_types"]:
            hits.extend(_hit_observation(obs, ctx))
    return hits


def _hit_policy(item: dict[str, Any], ctx: Context) -> list[Hit]:
    return [Hit("policy", str(item.get("id") or "policy"), "declared", FIRST_PARTY)]


@dataclass(frozen=True)
class SelectorSpec:
    """A selector: the fact kind it reads, the fields it can filter on, and how items become evidence."""

    name: str
    kind: str  #: a registered fact kind (scanner.model.facts), or "" for context/policy
    fields: tuple[str, ...]
    items: Callable[[Context], list[dict[str, Any]]]
    hits: Callable[[dict[str, Any], Context], list[Hit]] | None
    doc: str

    @property
    def source(self) -> str:
        """Where its items live, for the docs (``facts.traffic.observations``)."""
        if self.name == "context":
            return "case, app"
        if self.name == "policy":
            return "facts.policy"
        return "facts." + fact_kind(self.kind).path


SELECTORS: dict[str, SelectorSpec] = {s.name: s for s in (
    SelectorSpec("permission", "permission",
                 ("name", "protection_level", "pi_types", "group", "dangerous_since", "max_sdk_version", "applies", "declared_as", "known"),
                 _permissions, _hit("permission", "declared"), "declared permissions"),
    SelectorSpec("api", "api_call",
                 ("api_id", "api", "access", "pi_types", "permission", "caller.class", "caller.method", "caller_class", "dex",
                  "argument", "owner.kind", "owner.sdk_id", "owner.vendor", "reachable_before_ui", "reach_entry"),
                 _api_calls, _hit_api, "sensitive API call sites"),
    SelectorSpec("sdk", "sdk",
                 ("sdk_id", "category", "confidence", "pi_types", "class_count", "seen_in_traffic", "privacy_policy_url"),
                 _sdks, _hit("sdk", "in_code", _sdk_party), "third-party SDKs found in the code"),
    SelectorSpec("component", "component",
                 ("kind", "name", "exported", "exported_reason", "enabled", "permission", "authorities", "runs_before_ui",
                  "before_ui_reason", "actions", "categories"),
                 _components, _hit("component", "declared"), "manifest components (actions/categories flattened from intent filters)"),
    SelectorSpec("manifest", "manifest",
                 ("debuggable", "allow_backup", "uses_cleartext_traffic", "query_all_packages", "launcher_activities",
                  "cleartext_permitted_domains", "base_cleartext_permitted", "user_certs_trusted"),
                 _manifest, _hit("manifest", "declared"), "application-level manifest flags"),
    SelectorSpec("endpoint", "endpoint", ("kind", "value", "host", "cleartext"), _endpoints, _hit("endpoint", "in_code"),
                 "URLs, hosts and e-mail addresses found in the package"),
    SelectorSpec("traffic", "observation",
                 ("phase", "method", "channel", "scheme", "host", "port", "party.kind", "party.sdk_id", "party.vendor",
                  "pi_types", "shape_pi_types", "evidence_levels", "strongest_level", "encodings", "cleartext", "opaque", "truncated"),
                 _observations, _hit_observation, "requests and WebSocket messages observed through the proxy (pi_types: "
                 "PI claimed at evidence level profile or pattern; shape_pi_types: identifiers of a kind that are not "
                 "this phone's; strongest_level: profile, pattern, shape or null)"),
    SelectorSpec("frequency", "frequency", ("pi_type", "host", "phase", "count", "min_interval_s"),
                 _frequency, _hit_frequency, "repeated uploads of one PI type to one host in one phase"),
    SelectorSpec("miniprogram_api", "miniprogram_api",
                 ("api", "api_name", "pi_types", "file", "function", "owner.kind", "owner.sdk_id"),
                 _mp_api_uses, _hit("miniprogram_api", "in_code", lambda item: _party_from(item.get("owner"))),
                 "mini-program JS API uses (api_name without the wx./uni. prefix)"),
    SelectorSpec("miniprogram_button", "miniprogram_button", ("open_type", "pi_types", "file"),
                 _mp_buttons, _hit("miniprogram_button", "in_code", lambda _item: FIRST_PARTY), "WXML buttons with an open-type that yields PI"),
    SelectorSpec("miniprogram_config", "miniprogram_config",
                 ("app_id", "use_privacy_check", "required_private_infos", "permission_scopes", "privacy_handling_apis",
                  "plugins", "request_domains"),
                 _mp_config, _hit("miniprogram_config", "declared", lambda _item: FIRST_PARTY), "app.json-level mini-program configuration"),
    SelectorSpec("miniprogram_scope", "miniprogram_scope", ("scope", "desc"),
                 _mp_scopes, _hit("miniprogram_scope", "declared", lambda _item: FIRST_PARTY), "app.json permission scopes with their desc"),
    SelectorSpec("miniprogram_declared", "miniprogram_declared", ("name",),
                 _mp_declared, _hit("miniprogram_declared", "declared", lambda _item: FIRST_PARTY), "APIs listed in requiredPrivateInfos"),
    SelectorSpec("policy", "policy",
                 ("pi_types", "sdks", "has_policy", "lists_sdks", "language", "retention_stated", "withdrawal_described",
                  "complaint_channel", "cancellation_described"),
                 _policy, _hit_policy, "what the privacy-policy documents given with --policy state (absent without --policy)"),
    SelectorSpec("policy_comparison", "policy_comparison",
                 ("kind", "status", "subject.sdk_id", "subject.pi_type", "subject.permission", "subject.mechanism",
                  "observed_kinds"),
                 _policy_comparisons, _hit_policy_comparison,
                 "declared vs observed: one row per SDK, PI type, permission or user-rights mechanism the documents "
                 "and the app disagree on (status mismatch, or undecidable when a referenced document was not provided)"),
    SelectorSpec("context", "",
                 ("category", "no_pi_needed", "platform", "target_sdk", "min_sdk", "case_id", "complete", "limitation_kinds",
                  "fact_sections"),
                 _context, None, "a condition on the case and the app (adds no evidence)"),
)}

COMBINATORS = ("all", "any", "not")


# --- filters ----------------------------------------------------------------------------------


def get_field(item: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (``owner.kind``) in ``item``, or ``None``."""
    value: Any = item
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _param(value: Any, ctx: Context) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        return ctx.params[value[1:]]
    return value


def _fact_values(ref: dict[str, Any], ctx: Context) -> list[Any]:
    """Values named by ``{fact: "miniprogram.api_uses[].api"}`` (a path into facts; lists are flattened)."""
    values: list[Any] = [ctx.facts]
    for part in ref["fact"].split("."):
        key = part[:-2] if part.endswith("[]") else part
        nxt: list[Any] = []
        for value in values:
            if isinstance(value, dict):
                got = value.get(key)
                if key == "api_name" and "api" in value:
                    got = api_name(value["api"] or "")
                if got is None:
                    continue
                if isinstance(got, list):
                    nxt.extend(got)
                else:
                    nxt.append(got)
        values = nxt
    return [api_name(v) if isinstance(v, str) and ref.get("strip_prefix") else v for v in values]


def _set(value: Any, ctx: Context) -> set[Any]:
    if isinstance(value, dict) and "fact" in value:
        return set(_fact_values(value, ctx))
    return set(value or [])


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compile_op(op: str, arg: Any, ctx: Context) -> Callable[[Any], bool]:
    """A predicate over a field value for one operator; sets and parameters are resolved once."""
    vocab = vocabulary()
    if op == "eq":
        return lambda v: v == arg
    if op == "ne":
        return lambda v: v != arg
    if op in ("in", "not_in", "any_of", "all_of", "none_of"):
        wanted = frozenset(_set(arg, ctx))
        if op == "in":
            return lambda v: v in wanted
        if op == "not_in":
            return lambda v: v not in wanted
        if op == "any_of":
            return lambda v: not wanted.isdisjoint(_as_list(v))
        if op == "all_of":
            return lambda v: wanted <= set(_as_list(v))
        return lambda v: wanted.isdisjoint(_as_list(v))
    if op == "regex":
        pattern = _regex(arg)
        return lambda v: isinstance(v, str) and pattern.search(v) is not None
    if op in NUMERIC_OPERATORS:
        limit = _param(arg, ctx)
        compare: Callable[[Any], bool] = {"gt": lambda v: v > limit, "gte": lambda v: v >= limit,
                                          "lt": lambda v: v < limit, "lte": lambda v: v <= limit}[op]
        return lambda v: _numeric(v) and compare(v)
    if op == "contains":
        return lambda v: arg in _as_list(v)
    if op == "empty":
        want = bool(arg)
        return lambda v: (v is None or v == "" or v == []) == want
    if op == "exists":
        want = bool(arg)
        return lambda v: (v is not None) == want
    if op == "outside_necessary":
        # "not necessary for the case's app type": never true when no --category was given
        if ctx.app_type is None:
            return lambda v: False
        ignored = set(arg.get("ignore") or []) if isinstance(arg, dict) else set()
        allowed = ctx.app_type.necessary_pi_types | ignored
        want = True if isinstance(arg, dict) else bool(arg)
        return lambda v: bool(set(_as_list(v)) - allowed) == want
    if op in ("sensitive", "device_id"):
        flagged = frozenset(t.id for t in vocab.types.values() if getattr(t, op))
        want = bool(arg)
        return lambda v: (not flagged.isdisjoint(_as_list(v))) == want
    if op == "pi_group":
        groups = set(_as_list(arg))
        members = frozenset(t.id for t in vocab.types.values() if t.group in groups)
        return lambda v: not members.isdisjoint(_as_list(v))
    raise KeyError(op)


def compile_condition(cond: Any, ctx: Context) -> Callable[[Any], bool]:
    """A predicate for one field filter (scalar = equality, list = ``in``, mapping = all operators)."""
    if isinstance(cond, dict):
        preds = [_compile_op(op, arg, ctx) for op, arg in cond.items()]
        if len(preds) == 1:
            return preds[0]
        return lambda v: all(p(v) for p in preds)
    if isinstance(cond, list):
        options = list(cond)
        return lambda v: v in options
    expected = _param(cond, ctx)
    return lambda v: v == expected


def condition_holds(cond: Any, value: Any, ctx: Context) -> bool:
    """Whether a field's value satisfies a filter."""
    return compile_condition(cond, ctx)(value)


def _getter(dotted: str) -> Callable[[dict[str, Any]], Any]:
    if "." not in dotted:
        return lambda item: item.get(dotted)
    return lambda item: get_field(item, dotted)


def select(name: str, filters: dict[str, Any], ctx: Context) -> list[Hit] | None:
    """Evaluate one selector: the hits of the matching items, or ``None`` when nothing matches."""
    spec = SELECTORS[name]
    checks = [(_getter(f), compile_condition(c, ctx)) for f, c in filters.items()]
    matched = [item for item in ctx.items_of(name) if all(pred(get(item)) for get, pred in checks)]
    if not matched:
        return None
    if spec.hits is None:
        return []
    hits: list[Hit] = []
    for item in matched:
        hits.extend(spec.hits(item, ctx))
    return hits if hits else None


def evaluate_match(node: dict[str, Any], ctx: Context) -> list[Hit] | None:
    """Evaluate a ``match`` node (``all`` / ``any`` / ``not`` / a selector); ``None`` means no match."""
    ((key, body),) = node.items()
    if key == "all":
        hits: list[Hit] = []
        for child in body:
            got = evaluate_match(child, ctx)
            if got is None:
                return None
            hits.extend(got)
        return hits
    if key == "any":
        found: list[Hit] | None = None
        for child in body:
            got = evaluate_match(child, ctx)
            if got is not None:
                found = (found or []) + got
        return found
    if key == "not":
        return [] if evaluate_match(body, ctx) is None else None
    return select(key, body or {}, ctx)


def iter_selectors(node: Any) -> Iterable[tuple[str, Any]]:
    """Every ``(selector, filters)`` pair inside a match node (for docs and checks)."""
    if not isinstance(node, dict):
        return
    for key, body in node.items():
        if key in ("all", "any"):
            for child in body or []:
                yield from iter_selectors(child)
        elif key == "not":
            yield from iter_selectors(body)
        else:
            yield key, body
