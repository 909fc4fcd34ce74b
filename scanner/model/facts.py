"""The registry of fact kinds: where each kind of fact lives in a result, and how it is evidence.

Every fact a finding can cite is one of these kinds. A kind names the path of its items under
``facts`` (``traffic.observations``), the prefix of their ids, the evidence kind findings use
for them (``evidence[].kind``), the schema fragment that describes them
(``scanner/schemas/parts/<fragment>.json``) and the order in which evidence is listed. The rule
engine, the renderers, the rule-case checks and the tests all read facts through this table
(:class:`scanner.model.view.ResultView`), so a new collector registers its kinds here once.

Most items carry their own ``id``. Two kinds are derived from values that cannot carry one: the
mini-program section itself (id ``miniprogram:app.json``) and each ``requiredPrivateInfos`` entry
(``miniprogram:requiredPrivateInfos:<api>``); :attr:`FactKind.derive_id` makes their ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FactKind:
    """One kind of fact."""

    name: str  #: registry name, e.g. ``api_call``
    path: str  #: dotted path under ``facts``, e.g. ``traffic.observations``
    id_prefix: str  #: ids start with this (``api:``); a single object's whole id
    evidence: str | None  #: ``evidence[].kind`` used for it in findings (None: never evidence)
    fragment: str  #: schema fragment (``scanner/schemas/parts/<fragment>.json``)
    order: int  #: position when evidence is listed (lower first)
    single: bool = False  #: the path holds one object, not a list
    #: makes an item and its id from a raw value that has none (a string, or the section itself)
    derive_id: Callable[[Any], str] | None = None

    @property
    def section(self) -> str:
        """The top-level fact section (``traffic`` for ``traffic.observations``)."""
        return self.path.split(".", 1)[0]


def _required_info_id(name: Any) -> str:
    return f"miniprogram:requiredPrivateInfos:{name}"


def _scope_id(row: Any) -> str:
    return f"miniprogram:permission:{row.get('scope') if isinstance(row, dict) else row}"


#: every fact kind, in evidence order; the engine, renderers and tests import only this table
FACT_KINDS: tuple[FactKind, ...] = (
    FactKind("manifest", "manifest", "manifest", "manifest", "manifest", 0, single=True),
    FactKind("permission", "permissions", "perm:", "permission", "permissions", 1),
    FactKind("custom_permission", "custom_permissions", "customperm:", "permission", "custom_permissions", 1),
    FactKind("component", "components", "component:", "component", "components", 2),
    FactKind("sdk", "sdks", "sdk:", "sdk", "sdks", 3),
    FactKind("packer", "packers", "packer:", "packer", "packers", 3),
    FactKind("endpoint", "endpoints", "endpoint:", "endpoint", "endpoints", 4),
    FactKind("api_call", "api_calls", "api:", "api_call", "api_calls", 5),
    FactKind("reachability", "reachability", "reachability", None, "reachability", 5, single=True),
    FactKind("miniprogram_config", "miniprogram", "miniprogram:app.json", "miniprogram_config", "miniprogram", 6,
             single=True, derive_id=lambda _section: "miniprogram:app.json"),
    FactKind("miniprogram_scope", "miniprogram.permission_scopes", "miniprogram:permission:", "miniprogram_config",
             "miniprogram", 6, derive_id=_scope_id),
    FactKind("miniprogram_declared", "miniprogram.required_private_infos", "miniprogram:requiredPrivateInfos:",
             "miniprogram_config", "miniprogram", 6, derive_id=_required_info_id),
    FactKind("miniprogram_api", "miniprogram.api_uses", "mpapi:", "miniprogram_api", "miniprogram", 7),
    FactKind("miniprogram_button", "miniprogram.buttons", "mpbutton:", "miniprogram_api", "miniprogram", 7),
    FactKind("miniprogram_privacy", "miniprogram.privacy_handling.apis", "mpprivacy:", "miniprogram", "miniprogram", 7),
    FactKind("miniprogram_domain", "miniprogram.request_domains", "mpdomain:", "miniprogram", "miniprogram", 7),
    FactKind("miniprogram_package", "miniprogram.packages", "mppkg:", "miniprogram", "miniprogram", 7),
    FactKind("session", "traffic.session", "session", None, "traffic", 8, single=True),
    FactKind("observation", "traffic.observations", "obs:", "observation", "traffic", 8),
    FactKind("policy", "policy", "policy", None, "policy", 9, single=True),
    FactKind("policy_document", "policy.documents", "policydoc:", "policy", "policy", 9),
    FactKind("policy_comparison", "policy.comparisons", "cmp:", "policy", "policy", 9),
    # an aggregate, not evidence itself: its rules cite the observations it counts
    FactKind("frequency", "traffic.frequency", "frequency:", None, "traffic", 8,
             derive_id=lambda row: f"frequency:{row.get('pi_type')}:{row.get('host')}:{row.get('phase')}"),
)

_BY_NAME = {k.name: k for k in FACT_KINDS}
#: evidence kinds findings may use, in listing order
EVIDENCE_ORDER: dict[str, int] = {}
for _kind in FACT_KINDS:
    if _kind.evidence is not None:
        EVIDENCE_ORDER.setdefault(_kind.evidence, _kind.order)


def fact_kind(name: str) -> FactKind:
    """The registered kind ``name`` (``KeyError`` naming the valid ones when unknown)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown fact kind {name!r}; valid: {', '.join(_BY_NAME)}") from None


def evidence_rank(evidence_kind: str) -> int:
    """Where evidence of this kind is listed (unknown kinds last)."""
    return EVIDENCE_ORDER.get(evidence_kind, 99)


def at_path(facts: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` under ``facts`` (``None`` when any step is missing)."""
    value: Any = facts
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value
