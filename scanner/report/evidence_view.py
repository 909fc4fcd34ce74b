"""The evidence blocks of a report: each ``evidence[].ref`` resolved through the fact registry
and shown as rows (a call site with its reach path, an observation with its PI fields, ...)."""

from __future__ import annotations

from typing import Any

from ..model.view import ResultView
from .i18n import pick
from .text import Words, is_scalar, method_signature, pi_label, scalar_text, url_segments


class EvidenceView(Words):
    """Turns evidence refs of one result into plain-text blocks for the template."""

    def __init__(self, view: ResultView, lang: str, unmask: bool) -> None:
        super().__init__(lang)
        self.view = view
        self.unmask = unmask

    def evidence(self, ev: dict[str, Any]) -> dict[str, Any]:
        ref = str(ev.get("ref", ""))
        declared_kind = str(ev.get("kind", ""))
        found = self.view.fact(ref)
        if found is None:
            return {"kind": "missing", "label": self.t("evidence_kind.missing"), "ref": ref, "rows": []}
        kind, fact = found.kind.evidence or found.kind.name, found.item
        label = self.t.opt(f"evidence_kind.{declared_kind}", declared_kind)
        base = {"kind": kind, "label": label, "ref": ref}
        if kind == "api_call":
            return base | self.api_call(fact)
        if kind == "observation":
            return base | self.observation(fact)
        if kind == "permission":
            rows = [(self.t("field.permission"), str(fact.get("name", ""))),
                    (self.t("field.pi_types"), self.sep.join(self.pis(fact.get("pi_types"))) or self.t("text.none")),
                    (self.t("field.protection_level"), str(fact.get("protection_level") or ""))]
            return base | {"rows": rows}
        if kind == "sdk":
            rows = [(self.t("field.name"), pick(fact.get("name"), self.lang)),
                    (self.t("field.vendor"), pick(fact.get("vendor"), self.lang) or self.t("text.unknown")),
                    (self.t("field.known_pi"), self.sep.join(self.pis(fact.get("pi_types"))) or self.t("text.none"))]
            return base | {"rows": rows}
        if kind == "miniprogram_api":
            line = fact.get("line")
            rows = [(self.t("field.api"), str(fact.get("api") or fact.get("open_type") or fact.get("tag") or "")),
                    (self.t("field.location"), f"{fact.get('file', '')}:{line}" if line else str(fact.get("file", ""))),
                    (self.t("field.caller"), str(fact.get("function") or self.t("text.unknown"))),
                    (self.t("field.pi_types"), self.sep.join(self.pis(fact.get("pi_types"))) or self.t("text.none")),
                    (self.t("field.party"), self.party_text(fact.get("owner")))]
            return base | {"rows": rows}
        if kind == "component":
            rows = [(self.t("field.name"), str(fact.get("name", ""))), (self.t("field.kind"), str(fact.get("kind", ""))),
                    (self.t("field.exported"), self.yes_no(fact.get("exported"))),
                    (self.t("field.runs_before_ui"), self.yes_no(fact.get("runs_before_ui")))]
            return base | {"rows": rows}
        return base | {"rows": [(str(k), scalar_text(v)) for k, v in fact.items() if k != "id" and is_scalar(v)]}

    def api_call(self, fact: dict[str, Any]) -> dict[str, Any]:
        reach = fact.get("reachable_before_ui")
        return {
            "api": str(fact.get("api", "")),
            "api_id": str(fact.get("api_id", "")),
            "caller": method_signature(fact.get("caller") or {}),
            "location": f"{fact.get('dex', '')} {self.t('text.dex_offset')} {int(fact.get('offset') or 0):#x}",
            "pi_types": self.pis(fact.get("pi_types")),
            "permission": str(fact.get("permission") or self.t("text.none")),
            "owner": self.party_text(fact.get("owner")),
            "reachable": self.t("text.not_computed") if reach is None else self.yes_no(reach),
            "reach_path": [str(p) for p in fact.get("reach_path") or []],
            "rows": [],
        }

    def observation(self, fact: dict[str, Any]) -> dict[str, Any]:
        matches = fact.get("matches") or []
        query_values: dict[str, str] = {}
        rows = []
        for m in matches:
            location = str(m.get("location", ""))
            shown = self.match_value(m)
            if location.startswith("query:"):
                query_values[location[len("query:"):]] = shown
            rows.append({"pi": pi_label(str(m.get("pi_type", "")), self.lang), "location": location,
                         "encoding": str(m.get("encoding") or ""), "value": shown})
        return {
            "time": str(fact.get("time", "")),
            "phase": self.phase_text(fact.get("phase")),
            "method": str(fact.get("method", "")),
            "destination": f"{fact.get('host', '')}:{fact.get('port', '')}",
            "url": url_segments(str(fact.get("url", "")), query_values),
            "party": self.party_text(fact.get("party")),
            "matches": rows,
            "cleartext": bool(fact.get("cleartext")),
            "opaque": pick(fact.get("opaque_reason"), self.lang) if fact.get("opaque") else "",
            "request_sha256": str(fact.get("request_sha256") or ""),
            "rows": [],
        }

    def match_value(self, match: dict[str, Any]) -> str:
        if not self.unmask:
            return str(match.get("value_masked") or "")
        if "value" in match and match["value"] is not None:
            return str(match["value"])
        return f"{match.get('value_masked') or ''} ({self.t('text.raw_not_stored')})"

