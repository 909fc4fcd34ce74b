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
        dex = view.facts.get("dex") or {}
        self.dex_sha256 = {str(f.get("name")): str(f.get("sha256")) for f in dex.get("files") or [] if f.get("sha256")}

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
        if kind == "policy":
            return base | {"rows": self.comparison_rows(fact)}
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
            "location": self.location(fact),
            "pi_types": self.pis(fact.get("pi_types")),
            "permission": str(fact.get("permission") or self.t("text.none")),
            "owner": self.party_text(fact.get("owner")),
            "reachable": self.t("text.not_computed") if reach is None else self.yes_no(reach),
            "reach_path": [str(p) for p in fact.get("reach_path") or []],
            "guard": self.guard_text(fact.get("consent_guard")),
            "conditions": self.conditions_text(fact.get("capability")),
            "rows": [],
        }

    def comparison_rows(self, fact: dict[str, Any]) -> list[tuple[str, str]]:
        """A declared-vs-observed comparison: what disagrees, the quotes from the documents, and
        the facts on the observed side (their ids; each is shown in its own entry)."""
        docs = {str(d.get("id")): d for d in ((self.view.facts.get("policy") or {}).get("documents") or [])}
        quotes = []
        for q in fact.get("declared") or []:
            doc = docs.get(str(q.get("document"))) or {}
            title = str(doc.get("title") or (doc.get("source") or {}).get("name") or q.get("document") or "")
            quotes.append(f"{title}：“{q.get('quote') or ''}”" if self.lang == "zh-CN" else f"{title}: \"{q.get('quote') or ''}\"")
        observed = [str(o.get("ref")) for o in fact.get("observed") or []]
        rows = [(self.t("field.kind"), self.t.opt(f"policy.kind.{fact.get('kind')}", str(fact.get("kind", "")))),
                (self.t("policy.declared"), "；".join(quotes) if quotes else self.t("text.none")),
                (self.t("policy.observed"), self.sep.join(observed) if observed else self.t("text.none"))]
        if fact.get("missing"):
            rows.append((self.t("policy.missing"), self.sep.join(str(m) for m in fact["missing"])))
        return rows

    def location(self, fact: dict[str, Any]) -> str:
        """Where a call site is: the DEX file, the byte offset in the method's code and in the file,
        and the code-unit index (the DEX files' sha256 and the tool to check offsets with are
        stated once, in the report's notes)."""
        units = int(fact.get("offset") or 0)
        dex = str(fact.get("dex", ""))
        parts = [f"{dex} {self.t('text.dex_offset')} {units * 2:#x}（{self.t('text.code_unit').replace('{n}', str(units))}）"
                 if self.lang == "zh-CN" else
                 f"{dex} {self.t('text.dex_offset')} {units * 2:#x} ({self.t('text.code_unit').replace('{n}', str(units))})"]
        file_offset = int(fact.get("file_offset", -1) if fact.get("file_offset") is not None else -1)
        if file_offset >= 0:
            parts.append(f"{self.t('text.file_offset')} {file_offset:#x}")
        return self.sep.join(parts) if self.lang == "en" else "；".join(parts)

    def observation(self, fact: dict[str, Any]) -> dict[str, Any]:
        matches = fact.get("matches") or []
        query_values: dict[str, str] = {}
        rows = []
        for m in matches:
            location = str(m.get("location", ""))
            shown = self.match_value(m)
            if location.startswith("query:"):
                query_values[location[len("query:"):]] = shown
            level = str(m.get("level") or m.get("detector") or "pattern")
            rows.append({"pi": pi_label(str(m.get("pi_type", "")), self.lang), "location": location,
                         "chain": str(m.get("chain") or location), "encoding": str(m.get("encoding") or ""),
                         "value": shown, "level": level, "level_text": self.t(f"level.{level}"),
                         "detector": str(m.get("detector") or "")})
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
            "opaque_items": [{"chain": str(i.get("chain") or i.get("location") or ""), "reason": str(i.get("reason") or ""),
                              "size": int(i.get("size") or 0)} for i in fact.get("opaque_items") or []],
            "channel": str(fact.get("channel") or "http"),
            "request_sha256": str(fact.get("request_sha256") or ""),
            "ties": self.sep.join(self.tie_text(t) for t in fact.get("ties") or []),
            "rows": [],
        }

    def conditions_text(self, capability: dict[str, Any] | None) -> str:
        """The conditions under which a call can return the PI: permission (declared? granted at
        run time?) and the Android versions that still return it."""
        parts = []
        for cond in (capability or {}).get("conditions") or []:
            if cond.get("kind") == "permission":
                name = str(cond.get("permission", "")).rsplit(".", 1)[-1]
                if not cond.get("declared"):
                    parts.append(self.t("text.cond_permission_missing").replace("{p}", name))
                elif cond.get("runtime_grant"):
                    parts.append(self.t("text.cond_permission_runtime").replace("{p}", name))
                else:
                    parts.append(self.t("text.cond_permission").replace("{p}", name))
            elif cond.get("kind") == "withheld_pi":
                parts.append(self.t("text.cond_withheld").replace("{pi}", self.sep.join(self.pis(cond.get("pi_types")))))
            elif cond.get("kind") == "android_version":
                parts.append(self.t("text.cond_android_max").replace("{v}", str(cond.get("max_api"))))
        return ("；" if self.lang == "zh-CN" else "; ").join(parts)

    def guard_text(self, guard: dict[str, Any] | None) -> str:
        """"guarded by a consent flag read at …" for a call site behind a consent check, else ""."""
        if not guard:
            return ""
        flag = str(guard.get("flag") or "")
        where = str(guard.get("where") or "")
        store = str(guard.get("store") or "")
        return self.t("text.consent_guard").replace("{flag}", flag).replace("{store}", store).replace("{where}", where)

    def tie_text(self, tie: dict[str, Any]) -> str:
        """One tie of a request to the app, e.g. ``应用密钥 UMENG_APPKEY（body:$.header.appkey）``."""
        kind = str(tie.get("kind", ""))
        label = self.t.opt(f"tie.{kind}", kind)
        detail = str(tie.get("detail") or "")
        value = str(tie.get("value") or "")
        where = str(tie.get("location") or "")
        shown = detail if kind == "app_key" and detail else value
        if self.lang == "zh-CN":
            return f"{label} {shown}（{where}）" if where and kind != "capture_scope" else f"{label} {shown}"
        return f"{label} {shown} ({where})" if where and kind != "capture_scope" else f"{label} {shown}"

    def match_value(self, match: dict[str, Any]) -> str:
        if not self.unmask:
            return str(match.get("value_masked") or "")
        if "value" in match and match["value"] is not None:
            return str(match["value"])
        return f"{match.get('value_masked') or ''} ({self.t('text.raw_not_stored')})"

