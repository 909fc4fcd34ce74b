"""Turn a result dict into the view model the HTML template displays (one language, masked or not).

All decisions live here (grouping, ordering, labels, masking, necessity), so the template only
prints values and every value reaches it as plain text for Jinja's autoescape. Nothing here
produces markup. Output is deterministic: every list is sorted by a documented key.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..model.terms import terms
from ..model.view import ResultView
from .entry_view import EntryView
from .evidence_view import EvidenceView
from .i18n import pick
from .policy_view import policy_view
from .session_view import session_view
from .text import Words, css_string, doc_rank, pi_label

class ViewBuilder(Words):
    """Builds the template context for one result, one language and one masking choice."""

    def __init__(self, result: dict[str, Any], lang: str, unmask: bool) -> None:
        super().__init__(lang)
        self.result = result
        self.unmask = unmask
        self.view = ResultView(result)
        self.facts: dict[str, Any] = self.view.facts
        self.evidence_view = EvidenceView(self.view, lang, unmask)
        self.entry_view = EntryView(result, lang, self.evidence_view)
        self.entry_view.finding_verdicts = self.verdicts("finding")

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
            "source": case.get("source") or self.t("text.not_given"),
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
            for sev in terms().severity_ids
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

    def legal_ref(self, ref: dict[str, Any], verification: str | None = None) -> dict[str, Any]:
        """One legal reference in its legal form (``《…》第十三条``) with its quoted text."""
        return self.entry_view.citation_row(self.entry_view.cite(ref, verification))

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
                # no proxy session joined: not tested, which is not "no"
                "seen_label": self.yes_no(sdk.get("seen_in_traffic")) if "traffic" in self.facts else self.t("text.not_tested"),
                "policy": str(sdk.get("privacy_policy_url") or ""),
            })
        return rows

    def permissions(self) -> list[dict[str, Any]]:
        npi_refs: dict[str, list[str]] = {}
        for f in self.result.get("findings") or []:
            if any(r.get("doc") == "NPI" for r in f.get("legal_refs") or []):
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
        """(necessity key, NPI finding ids) for one permission, as the scan decided it.

        The scan writes ``permissions[].necessary`` from the NPI table it used (recorded in
        ``provenance.packs``); a report rendered later shows that decision, never today's table.
        """
        if finding_ids:
            return "not_necessary", sorted(finding_ids)
        if isinstance(perm.get("necessary"), bool):
            return ("necessary" if perm["necessary"] else "not_necessary"), []
        if not perm.get("pi_types"):
            return "no_pi", []
        if not isinstance((self.result.get("case") or {}).get("category"), dict):
            return "no_category", []
        return "not_recorded", []

    def mini_scopes(self) -> list[dict[str, str]]:
        """Mini-program permission scopes (``app.json`` ``permission``) with their stated purpose."""
        mini = self.facts.get("miniprogram") or {}
        return [
            {"scope": str(s.get("scope", "")), "desc": str(s.get("desc") or ""), "missing": not s.get("desc")}
            for s in sorted(mini.get("permission_scopes") or [], key=lambda s: str(s.get("scope", "")))
        ]

    def manual(self) -> list[dict[str, Any]]:
        verdicts = self.verdicts("manual_check")
        return [
            {
                "rule_id": str(m.get("rule_id", "")),
                "title": pick(m.get("title"), self.lang),
                "what": pick(m.get("what_to_check"), self.lang),
                "legal_refs": [self.legal_ref(r, m.get("verification")) for r in m.get("legal_refs") or []],
                "verdict": verdicts.get(str(m.get("rule_id", ""))),
            }
            for m in self.result.get("manual_checks") or []
        ]

    def verdicts(self, target_kind: str) -> dict[str, dict[str, Any]]:
        """The examiner's current verdicts on manual checks or findings (``result["review"]``, added
        by `piscan report` from the verified review file), by target id, ready to print."""
        review = self.result.get("review") or {}
        images = review.get("images") or {}
        out = {}
        for v in review.get("verdicts") or []:
            if v.get("target_kind") != target_kind:
                continue
            out[str(v.get("target_id"))] = {
                "verdict": str(v.get("verdict")), "label": self.t.opt(f"verdict.{v.get('verdict')}", str(v.get("verdict"))),
                "note": str(v.get("note") or ""), "examiner": str(v.get("examiner") or ""), "time": str(v.get("time") or ""),
                "attachments": [{"name": str(a.get("name")), "sha256": str(a.get("sha256")), "size": int(a.get("size") or 0),
                                 "image": images.get(str(a.get("sha256")), "")} for a in v.get("attachments") or []],
            }
        return out

    def review(self) -> dict[str, Any] | None:
        """Whether a review was attached, and whether it verified (its problems otherwise)."""
        review = self.result.get("review")
        if not review:
            return None
        return {"ok": bool(review.get("ok")), "problems": [str(p) for p in review.get("problems") or []],
                "records": int(review.get("records") or 0), "verdicts": len(review.get("verdicts") or [])}

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

    def overview(self) -> dict[str, Any] | None:
        """What the scan found beyond the findings, so nothing found goes unshown: components that
        run without a screen or are exported, manifest flags, cleartext endpoints, the privacy-policy
        URLs and contact addresses in the app, and the dates that decide which rules apply."""
        app = self.result.get("app") or {}
        if app.get("platform") != "android":
            return None
        components = []
        for c in sorted(self.facts.get("components") or [], key=lambda c: (str(c.get("kind")), str(c.get("name")))):
            if not (c.get("runs_before_ui") or c.get("exported")) or c.get("kind") == "application":
                continue
            notes = []
            if c.get("runs_before_ui"):
                notes.append(self.t("overview.runs_without_screen"))
            if c.get("exported"):
                notes.append(self.t("overview.exported") + (f"（{c['permission']}）" if c.get("permission") else ""))
            components.append({"kind": str(c.get("kind")), "name": str(c.get("name")), "notes": self.sep.join(notes),
                               "actions": self.sep.join(a for f in c.get("intent_filters") or [] for a in f.get("actions") or [])})
        manifest = self.facts.get("manifest") or {}
        flags = []
        target = app.get("target_sdk")
        if isinstance(target, int) and target < 23:
            flags.append(self.t("overview.target_below_23").replace("{v}", str(target)))
        if manifest.get("debuggable"):
            flags.append(self.t("overview.debuggable"))
        if manifest.get("allow_backup"):
            flags.append(self.t("overview.allow_backup"))
        if manifest.get("uses_cleartext_traffic"):
            flags.append(self.t("overview.cleartext_allowed"))
        endpoints = self.facts.get("endpoints") or []
        cleartext = sorted({str(e.get("value")) for e in endpoints if e.get("kind") == "url" and e.get("cleartext")})
        policy_urls = sorted({str(e.get("value")) for e in endpoints if e.get("kind") == "url"
                              and any(w in str(e.get("value")).lower() for w in ("privacy", "policy", "agreement", "protocol", "yinsi"))})
        contacts = sorted({str(e.get("value")) for e in endpoints if e.get("kind") == "email"})
        certs = (self.facts.get("signing") or {}).get("certificates") or []
        signed_from = min((str(c.get("not_before")) for c in certs if c.get("not_before")), default="")
        session = ((self.facts.get("traffic") or {}).get("session") or {})
        return {"components": components, "flags": flags, "cleartext": cleartext[:50], "policy_urls": policy_urls[:20],
                "contacts": contacts[:20], "signed_from": signed_from, "observed_at": str(session.get("started_at") or "")}

    def not_counted(self) -> list[dict[str, Any]]:
        """Call sites found but not counted (self-checks, library code, unavailable), per status:
        how many, and the first few callers."""
        rows = []
        calls = self.view.items("api_call")
        for status in ("self_check", "library", "unavailable"):
            found = [c for c in calls if (c.get("capability") or {}).get("status") == status]
            if not found:
                continue
            callers = sorted({str((c.get("caller") or {}).get("class", "")) for c in found})
            where = self.sep.join(callers[:3]) + (f" …（{len(callers)}）" if len(callers) > 3 else "")
            rows.append({"status": status, "label": self.t(f"capability.{status}"), "count": len(found), "where": where})
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
        conclusions, entries = self.entry_view.build()
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
            "conclusions": conclusions,
            "not_counted": self.not_counted(),
            "overview": self.overview(),
            "dex_files": [{"name": n, "sha256": h} for n, h in sorted(self.evidence_view.dex_sha256.items())],
            "entries": entries,
            "sdks": self.sdks(),
            "permissions": self.permissions(),
            "mini_scopes": self.mini_scopes(),
            "manual": self.manual(),
            "review": self.review(),
            "limitations": limitations,
            "session": session_view(self.result, self.phase_text, lambda p: pi_label(p, self.lang)),
            "policy": policy_view(self.result, self.lang),
            "not_covered": self.not_covered(),
            "provenance": self.provenance(),
            "renderer_version": renderer_version,
        }


