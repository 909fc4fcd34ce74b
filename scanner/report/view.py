"""Turn a result dict into the view model the HTML template displays (one language, masked or not).

All decisions live here (grouping, ordering, labels, masking, necessity), so the template only
prints values and every value reaches it as plain text for Jinja's autoescape. Nothing here
produces markup. Output is deterministic: every list is sorted by a documented key.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from ..pi import vocabulary
from ..resources import rules_dir
from ..safeyaml import safe_load
from .i18n import Labels, labels, pick
from .session_view import session_view

SEVERITIES = ("high", "medium", "low", "info")
#: Legal documents in the order reports list them (the rest follow alphabetically).
DOC_ORDER = ("RD", "NPI", "PIPL", "CSL", "NDS", "MIN", "CRIM", "XB", "M337", "M164", "M292", "M26",
             "GB35273", "GB41391", "GB42582", "GB42574", "SDKGB", "TC-PERM", "TC-SDK", "TC-SELF", "TAF078", "WX")
NPI_PACK = "cn-npi-2021"
#: evidence items shown per finding; the rest are counted in a note that points to result.json,
#: so a finding backed by thousands of call sites still gives a report a browser opens quickly.
EVIDENCE_CAP = 50
#: fact section -> evidence kind, for resolving ``evidence[].ref`` to its fact.
_FACT_LISTS = (
    ("permissions", "permission"),
    ("custom_permissions", "permission"),
    ("components", "component"),
    ("endpoints", "endpoint"),
    ("api_calls", "api_call"),
    ("sdks", "sdk"),
    ("packers", "packer"),
)


class Translator:
    """Label lookup bound to one language."""

    def __init__(self, table: Labels, lang: str) -> None:
        self.table = table
        self.lang = lang

    def __call__(self, key: str) -> str:
        return self.table.get(key, self.lang)

    def opt(self, key: str, fallback: str) -> str:
        """The label if it exists, else ``fallback`` (for open value sets such as limitation kinds)."""
        return self.table.get(key, self.lang) if self.table.has(key) else fallback


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders ``3.2`` before ``3.10`` and ``9`` before ``13``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def doc_rank(doc: str) -> tuple[int, str]:
    """Sort key of a legal-document id: :data:`DOC_ORDER` first, others alphabetically."""
    return (DOC_ORDER.index(doc), doc) if doc in DOC_ORDER else (len(DOC_ORDER), doc)


def css_string(text: str) -> str:
    """A CSS string literal whose content is ``text``, safe inside a ``<style>`` element.

    Every character other than ASCII letters, digits and space becomes a 6-digit CSS escape, so
    no quote, backslash, ``<`` or newline can end the string or the style element.
    """
    out = [ch if (ch.isascii() and (ch.isalnum() or ch == " ")) else f"\\{ord(ch):06x}" for ch in text]
    return '"' + "".join(out) + '"'


def pi_label(pi_id: str, lang: str) -> str:
    """Name of a PI type in ``lang`` (the id itself when the vocabulary does not know it)."""
    vocab = vocabulary()
    if pi_id in vocab:
        pi = vocab.get(pi_id)
        return pi.zh if lang == "zh-CN" else pi.en
    return pi_id


def method_signature(caller: dict[str, Any]) -> str:
    """``com.x.App.onCreate()V`` from an ``api_calls[].caller`` object."""
    return f"{caller.get('class', '')}.{caller.get('method', '')}{caller.get('descriptor') or ''}"


def parse_npi_table(data: Any) -> dict[int, frozenset[str]] | None:
    """Category id -> necessary PI types from parsed ``npi-types.yaml`` data; ``None`` if unusable.

    Accepts a list of rows or a mapping holding one; a row needs ``id`` and either
    ``no_pi_needed: true`` or ``necessary_pi: [{pi_types: [...]}, ...]``.
    """
    rows: Any = data
    if isinstance(data, dict):
        rows = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(rows, list):
        return None
    table: dict[int, frozenset[str]] = {}
    for row in rows:
        if not isinstance(row, dict) or "id" not in row:
            continue
        pis: set[str] = set()
        if not row.get("no_pi_needed"):
            for item in row.get("necessary_pi") or []:
                if isinstance(item, dict):
                    value = item.get("pi_types") or []
                    pis.update(str(v) for v in (value if isinstance(value, list) else [value]))
        try:
            table[int(row["id"])] = frozenset(pis)
        except (TypeError, ValueError):
            continue
    return table or None


@cache
def _npi_table() -> dict[int, frozenset[str]] | None:
    """The shipped necessary-PI table (``rules/npi-types.yaml``), or ``None`` when absent or unusable."""
    try:
        data = safe_load((rules_dir() / "npi-types.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return parse_npi_table(data)


class ViewBuilder:
    """Builds the template context for one result, one language and one masking choice."""

    def __init__(self, result: dict[str, Any], lang: str, unmask: bool) -> None:
        self.result = result
        self.lang = lang
        self.unmask = unmask
        self.t = Translator(labels(), lang)
        self.sep = "、" if lang == "zh-CN" else ", "
        self.facts: dict[str, Any] = result.get("facts") or {}
        self.index = self._fact_index()

    # -- helpers --------------------------------------------------------------------------------
    def _fact_index(self) -> dict[str, tuple[str, dict[str, Any]]]:
        index: dict[str, tuple[str, dict[str, Any]]] = {}
        for section, kind in _FACT_LISTS:
            for row in self.facts.get(section) or []:
                index[str(row.get("id"))] = (kind, row)
        manifest = self.facts.get("manifest")
        if isinstance(manifest, dict):
            index[str(manifest.get("id", "manifest"))] = ("manifest", manifest)
        for row in (self.facts.get("traffic") or {}).get("observations") or []:
            index[str(row.get("id"))] = ("observation", row)
        mini = self.facts.get("miniprogram") or {}
        for section in ("api_uses", "buttons"):
            for row in mini.get(section) or []:
                index[str(row.get("id"))] = ("miniprogram_api", row)
        privacy_apis = (mini.get("privacy_handling") or {}).get("apis") or []
        for row in [*privacy_apis, *(mini.get("request_domains") or []), *(mini.get("packages") or [])]:
            index[str(row.get("id"))] = ("miniprogram", row)
        return index

    def yes_no(self, value: Any) -> str:
        if value is None:
            return self.t("text.unknown")
        return self.t("text.yes") if value else self.t("text.no")

    def pis(self, ids: list[str] | None) -> list[str]:
        return [pi_label(str(i), self.lang) for i in ids or []]

    def party_text(self, owner: dict[str, Any] | None) -> str:
        owner = owner or {}
        kind = str(owner.get("kind") or "unknown")
        label = self.t.opt(f"party.{kind}", kind)
        name = pick(owner.get("sdk_name"), self.lang) or owner.get("sdk_id") or ""
        vendor = pick(owner.get("vendor"), self.lang)
        if name and vendor:
            return f"{label}: {name} ({vendor})" if self.lang == "en" else f"{label}：{name}（{vendor}）"
        if name:
            return f"{label}: {name}" if self.lang == "en" else f"{label}：{name}"
        return label

    def phase_text(self, phase: str | None) -> str:
        return self.t("phase.none") if phase is None else self.t.opt(f"phase.{phase}", phase)

    def doc_label(self, doc: str) -> str:
        return self.t.opt(f"doc.{doc}", doc)

    # -- sections -------------------------------------------------------------------------------
    def case(self) -> dict[str, Any]:
        case = self.result.get("case") or {}
        prov = self.result.get("provenance") or {}
        category = case.get("category")
        cat_text = f"{category.get('id')} {pick(category, self.lang)}" if isinstance(category, dict) else self.t("text.not_given")
        return {
            "case_id": case.get("case_id") or self.t("text.not_given"),
            "examiner": case.get("examiner") or self.t("text.not_given"),
            "date": prov.get("started_at") or self.t("text.unknown"),
            "tool_version": (self.result.get("tool") or {}).get("version") or self.t("text.unknown"),
            "category": cat_text,
        }

    def app(self) -> dict[str, Any]:
        app = self.result.get("app") or {}
        label = app.get("label") or {}
        name = (label.get("zh-CN") if self.lang == "zh-CN" else None) or label.get("default") or app.get("package") or ""
        version = app.get("version_name") or ""
        if app.get("version_code"):
            version = f"{version} ({app['version_code']})" if version else str(app["version_code"])
        platform = str(app.get("platform") or "")
        signing = self.facts.get("signing") or {}
        schemes = [k for k, v in (signing.get("schemes") or {}).items() if v]
        levels = f"{app.get('min_sdk') if app.get('min_sdk') is not None else '-'} / {app.get('target_sdk') if app.get('target_sdk') is not None else '-'}"
        return {
            "is_android": platform == "android",
            "name": name or self.t("text.unknown"),
            "package": app.get("package") or self.t("text.unknown"),
            "version": version or self.t("text.unknown"),
            "platform": self.t.opt(f"platform.{platform}", platform),
            "sdk_levels": levels,
            "application_class": app.get("application_class") or self.t("text.none"),
            "input_note": app.get("input_note") or "",
            "inputs": [
                {
                    "role": str(i.get("role", "")),
                    "name": str(i.get("name", "")),
                    "size": str(i.get("size", "")),
                    "sha256": str(i.get("sha256", "")),
                    "sha1": str(i.get("sha1") or ""),
                    "md5": str(i.get("md5") or ""),
                }
                for i in (self.result.get("provenance") or {}).get("inputs") or []
            ],
            "schemes": ", ".join(schemes) if signing else self.t("text.not_given"),
            "certificates": [
                {
                    "scheme": str(c.get("scheme", "")),
                    "subject": str(c.get("subject", "")),
                    "issuer": str(c.get("issuer", "")),
                    "serial": str(c.get("serial", "")),
                    "validity": f"{c.get('not_before', '')} – {c.get('not_after', '')}",
                    "sha256": str(c.get("sha256", "")),
                }
                for c in signing.get("certificates") or []
            ],
        }

    def summary(self) -> dict[str, Any]:
        findings = self.result.get("findings") or []
        by_sev = [
            {"key": sev, "label": self.t(f"severity.{sev}"), "count": sum(1 for f in findings if f.get("severity") == sev)}
            for sev in SEVERITIES
        ]
        docs = sorted({str(r.get("doc")) for f in findings for r in f.get("legal_refs") or []}, key=doc_rank)
        by_doc = [
            {
                "key": doc,
                "label": self.doc_label(doc),
                "count": sum(1 for f in findings if any(str(r.get("doc")) == doc for r in f.get("legal_refs") or [])),
            }
            for doc in docs
        ]
        return {
            "by_severity": by_sev,
            "by_document": by_doc,
            "findings": len(findings),
            "manual_checks": len(self.result.get("manual_checks") or []),
        }

    def legal_ref(self, ref: dict[str, Any]) -> dict[str, str]:
        doc = str(ref.get("doc", ""))
        return {"doc": doc, "doc_label": self.doc_label(doc), "item": str(ref.get("item", "")), "text": pick(ref.get("text"), self.lang)}

    def findings(self) -> list[dict[str, Any]]:
        """Findings grouped by the document and item of their first legal reference."""
        groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for finding in self.result.get("findings") or []:
            refs = finding.get("legal_refs") or [{"doc": "other", "item": ""}]
            primary = refs[0]
            doc, item = str(primary.get("doc", "other")), str(primary.get("item", ""))
            groups.setdefault(doc, {}).setdefault(item, []).append(self.finding(finding))
        out = []
        for doc in sorted(groups, key=doc_rank):
            items = []
            for item in sorted(groups[doc], key=natural_key):
                rows = groups[doc][item]
                items.append({"item": item, "anchor": f"ref-{doc}-{item}", "text": rows[0]["primary_text"], "findings": rows})
            out.append({"doc": doc, "label": self.doc_label(doc), "anchor": f"doc-{doc}", "entries": items})
        return out

    def finding(self, f: dict[str, Any]) -> dict[str, Any]:
        refs = [self.legal_ref(r) for r in f.get("legal_refs") or []]
        severity = str(f.get("severity", "info"))
        evidence = f.get("evidence") or []
        more = max(0, len(evidence) - EVIDENCE_CAP)
        return {
            "id": str(f.get("id", "")),
            "rule_id": str(f.get("rule_id", "")),
            "pack": str(f.get("pack", "")),
            "severity": severity,
            "severity_label": self.t.opt(f"severity.{severity}", severity),
            "title": pick(f.get("title"), self.lang),
            "explanation": pick(f.get("explanation"), self.lang),
            "primary_text": refs[0]["text"] if refs else "",
            "legal_refs": refs,
            "verification": self.t.opt(f"verification.{f.get('verification')}", str(f.get("verification", ""))),
            "evidence_level": self.t.opt(f"evidence_level.{f.get('evidence_level')}", str(f.get("evidence_level", ""))),
            "party": self.party_text(f.get("party")),
            "phase": self.phase_text(f.get("phase")),
            "evidence": [self.evidence(e) for e in evidence[:EVIDENCE_CAP]],
            "evidence_more": self.t("text.more_evidence").replace("{n}", str(more)) if more else "",
        }

    def evidence(self, ev: dict[str, Any]) -> dict[str, Any]:
        ref = str(ev.get("ref", ""))
        declared_kind = str(ev.get("kind", ""))
        found = self.index.get(ref)
        if found is None:
            return {"kind": "missing", "label": self.t("evidence_kind.missing"), "ref": ref, "rows": []}
        kind, fact = found
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

    def sdks(self) -> list[dict[str, Any]]:
        rows = []
        for sdk in sorted(self.facts.get("sdks") or [], key=lambda s: str(s.get("sdk_id", ""))):
            rows.append({
                "id": str(sdk.get("id", "")),
                "name": pick(sdk.get("name"), self.lang) or str(sdk.get("sdk_id", "")),
                "vendor": pick(sdk.get("vendor"), self.lang) or self.t("text.unknown"),
                "category": str(sdk.get("category") or ""),
                "confidence": str(sdk.get("confidence") or ""),
                "signals": [
                    f"{s.get('kind', '')}: {s.get('value', '')}" + (f" ({s['detail']})" if s.get("detail") else "")
                    for s in sdk.get("signals") or []
                ],
                "pi_types": self.pis(sdk.get("pi_types")),
                "seen": bool(sdk.get("seen_in_traffic")),
                "seen_label": self.yes_no(sdk.get("seen_in_traffic")),
                "policy": str(sdk.get("privacy_policy_url") or ""),
            })
        return rows

    def permissions(self) -> list[dict[str, Any]]:
        npi_refs: dict[str, list[str]] = {}
        for f in self.result.get("findings") or []:
            if f.get("pack") == NPI_PACK or any(r.get("doc") == "NPI" for r in f.get("legal_refs") or []):
                for e in f.get("evidence") or []:
                    npi_refs.setdefault(str(e.get("ref")), []).append(str(f.get("id")))
        rows = []
        for perm in sorted(self.facts.get("permissions") or [], key=lambda p: str(p.get("name", ""))):
            key, findings = self.necessity(perm, npi_refs.get(str(perm.get("id")), []))
            rows.append({
                "name": str(perm.get("name", "")),
                "protection_level": str(perm.get("protection_level") or ""),
                "pi_types": self.pis(perm.get("pi_types")),
                "necessity_key": key,
                "necessity": self.t(f"necessity.{key}"),
                "findings": findings,
                "applies": self.yes_no(perm.get("applies")),
            })
        return rows

    def necessity(self, perm: dict[str, Any], finding_ids: list[str]) -> tuple[str, list[str]]:
        """(necessity key, NPI finding ids) for one permission and the case's category."""
        if finding_ids:
            return "not_necessary", sorted(finding_ids)
        if isinstance(perm.get("necessary"), bool):
            return ("necessary" if perm["necessary"] else "not_necessary"), []
        pis = perm.get("pi_types") or []
        if not pis:
            return "no_pi", []
        category = (self.result.get("case") or {}).get("category")
        if not isinstance(category, dict):
            return "no_category", []
        table = _npi_table()
        if table is None:
            return "no_table", []
        try:
            needed = table.get(int(category.get("id")))
        except (TypeError, ValueError):
            needed = None
        if needed is None:
            return "unknown_category", []
        return ("necessary" if set(pis) <= needed else "not_necessary"), []

    def mini_scopes(self) -> list[dict[str, str]]:
        """Mini-program permission scopes (``app.json`` ``permission``) with their stated purpose."""
        mini = self.facts.get("miniprogram") or {}
        return [
            {"scope": str(s.get("scope", "")), "desc": str(s.get("desc") or ""), "missing": not s.get("desc")}
            for s in sorted(mini.get("permission_scopes") or [], key=lambda s: str(s.get("scope", "")))
        ]

    def manual(self) -> list[dict[str, Any]]:
        return [
            {
                "rule_id": str(m.get("rule_id", "")),
                "title": pick(m.get("title"), self.lang),
                "what": pick(m.get("what_to_check"), self.lang),
                "legal_refs": [self.legal_ref(r) for r in m.get("legal_refs") or []],
            }
            for m in self.result.get("manual_checks") or []
        ]

    def limitations(self) -> list[dict[str, str]]:
        rows = sorted(self.result.get("limitations") or [], key=lambda x: (str(x.get("kind")), str(x.get("where") or ""), str(x.get("detail"))))
        return [
            {"kind": str(x.get("kind", "")), "label": self.t.opt(f"limitation.{x.get('kind')}", self.t("limitation.other")),
             "detail": str(x.get("detail", "")), "where": str(x.get("where") or "")}
            for x in rows
        ]

    def not_covered(self) -> list[str]:
        """What this kind of scan does not observe at all (as opposed to what it failed to read)."""
        facts = self.result.get("facts") or {}
        rows = []
        if "traffic" not in facts:
            rows.append(self.t("coverage.no_traffic"))
        rows.append(self.t("coverage.no_runtime"))
        if "policy" not in facts:
            rows.append(self.t("coverage.no_policy"))
        return rows

    def provenance(self) -> dict[str, Any]:
        prov = self.result.get("provenance") or {}
        return {
            "tool_version": str(prov.get("tool_version", "")),
            "python": str(prov.get("python_version") or ""),
            "androguard": str(prov.get("androguard_version") or self.t("text.none")),
            "mitmproxy": str(prov.get("mitmproxy_version") or self.t("text.none")),
            "host": str(prov.get("host", "")),
            "started": str(prov.get("started_at") or ""),
            "finished": str(prov.get("finished_at") or ""),
            "command": shlex.join(str(c) for c in prov.get("command") or []),
            "reproduce": str(prov.get("reproduce", "")),
            "packs": [
                {"id": str(p.get("id", "")), "kind": str(p.get("kind", "")), "version": str(p.get("version", "")), "sha256": str(p.get("sha256", ""))}
                for p in sorted(prov.get("packs") or [], key=lambda p: (str(p.get("kind")), str(p.get("id"))))
            ],
        }

    def build(self, renderer_version: str) -> dict[str, Any]:
        """The whole template context."""
        case = self.case()
        complete = bool(self.result.get("complete", False))
        limitations = self.limitations()
        return {
            "lang": self.lang,
            "html_lang": "zh-CN" if self.lang == "zh-CN" else "en",
            "unmask": self.unmask,
            "complete": complete,
            "incomplete_kinds": sorted({x["label"] for x in limitations}),
            "case": case,
            "page_header": css_string(f"{self.t('report.case_header')} {case['case_id']}"),
            "app": self.app(),
            "summary": self.summary(),
            "groups": self.findings(),
            "sdks": self.sdks(),
            "permissions": self.permissions(),
            "mini_scopes": self.mini_scopes(),
            "manual": self.manual(),
            "limitations": limitations,
            "session": session_view(self.result, self.phase_text),
            "not_covered": self.not_covered(),
            "provenance": self.provenance(),
            "renderer_version": renderer_version,
        }


def is_scalar(value: Any) -> bool:
    """Whether a fact field is shown as one table cell."""
    return value is None or isinstance(value, (str, int, float, bool))


def scalar_text(value: Any) -> str:
    """A scalar as text (``None`` as an empty string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def url_segments(url: str, masked_query: dict[str, str]) -> list[dict[str, Any]]:
    """Split a URL into text segments; query parameters that carry PI are highlighted.

    The value of a highlighted parameter is replaced by ``masked_query[name]`` (the masked or, with
    --unmask, raw value), so a raw identifier in a query string never reaches the report masked-off.
    """
    if not masked_query:
        return [{"text": url, "pi": False}]
    parts = urlsplit(url)
    head = url.split("?", 1)[0]
    segments: list[dict[str, Any]] = [{"text": head + "?", "pi": False}]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for i, (name, value) in enumerate(pairs):
        sep = "&" if i else ""
        if name in masked_query:
            segments.append({"text": f"{sep}{name}=", "pi": False})
            segments.append({"text": masked_query[name], "pi": True})
        else:
            segments.append({"text": f"{sep}{name}={value}", "pi": False})
    if parts.fragment:
        segments.append({"text": "#" + parts.fragment, "pi": False})
    return segments
