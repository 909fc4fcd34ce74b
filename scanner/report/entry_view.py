"""The report's conclusion table and its one-entry-per-fact detail, in one language.

Built on :mod:`scanner.report.entries`. Each entry reads as what the evidence shows: a
capability of the code ("…的代码可读取…"), conduct observed on the phone ("观察到…发送…") or a
declaration; the legal bases are listed as items the fact *may concern*, each cited in its legal
form with its effective date. Plain text only (Jinja autoescapes it).
"""

from __future__ import annotations

from typing import Any

from ..model.terms import terms
from .citation import Citation, citation
from .entries import Entry, build_entries
from .evidence_view import EvidenceView
from .i18n import pick
from .text import Words

#: facts shown per entry; the rest are counted in a note pointing to result.json
FACTS_CAP = 50
#: callers named in the conclusion table's "where" cell before "… and N more"
WHERE_CAP = 2


def api_short(descriptor: str) -> str:
    """``Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;`` -> ``TelephonyManager.getDeviceId``."""
    if "->" not in descriptor:
        return descriptor
    cls, member = descriptor.split("->", 1)
    simple = cls.strip("L;").rsplit("/", 1)[-1]
    name = member.split("(", 1)[0].split(":", 1)[0]
    return f"{simple}.{name}"


class EntryView(Words):
    """Entries of one result as template rows."""

    def __init__(self, result: dict[str, Any], lang: str, evidence_view: EvidenceView) -> None:
        super().__init__(lang)
        self.result = result
        self.evidence_view = evidence_view
        self.entries = build_entries(result)
        session = ((result.get("facts") or {}).get("traffic") or {}).get("session") or {}
        binding = session.get("app_binding") or {}
        self.session_unverified = binding.get("status") == "unverified"
        self.scope_app = session.get("capture_scope") == "app"
        self.finding_verdicts: dict[str, dict[str, Any]] = {}

    # -- words ----------------------------------------------------------------------------------
    def _party(self, owner: dict[str, Any] | None) -> str:
        """The party without its vendor (the vendor is in the detail and the SDK table)."""
        return self.party_text({**(owner or {}), "vendor": None})

    def _pi_text(self, entry: Entry) -> str:
        return self.sep.join(self.pis(entry.pi_types))

    def title(self, entry: Entry) -> str:
        """What the entry shows, worded by its evidence kind (capability, conduct, declaration)."""
        zh = self.lang == "zh-CN"
        first = entry.facts[0] if entry.facts else {}
        pi = self._pi_text(entry)
        if entry.kind == "api_call":
            party = self._party(first.get("owner"))
            api = api_short(str(first.get("api", "")))
            before = entry.evidence_level == "reachable_before_consent"
            if zh:
                return f"{party}的代码{'可在同意前' if before else '可'}读取{pi or '信息'}（{api}）"
            return f"Code of {party} can read {pi or 'data'}{' before consent' if before else ''} ({api})"
        if entry.kind == "observation":
            party = self._party(first.get("party"))
            host = str(first.get("host", ""))
            if zh:
                return f"观察到向 {host}（{party}）发送{pi or '请求'}"
            return f"Observed sending {pi or 'requests'} to {host} ({party})"
        if entry.kind == "miniprogram_api":
            party = self.party_text(first.get("owner"))
            name = str(first.get("api") or first.get("open_type") or first.get("tag") or "")
            return f"{party}的代码可调用 {name}" if zh else f"Code of {party} can call {name}"
        if entry.kind == "permission":
            names = self.sep.join(str(f.get("name", "")).rsplit(".", 1)[-1] for f in entry.facts)
            suffix = f"（涉及{pi}）" if zh and pi else (f" (concerning {pi})" if pi else "")
            return f"声明的权限：{names}{suffix}" if zh else f"Declared permissions: {names}{suffix}"
        if entry.kind == "component":
            return (f"组件 {first.get('name', '')}（{first.get('kind', '')}）" if zh
                    else f"Component {first.get('name', '')} ({first.get('kind', '')})")
        if entry.kind == "policy":
            subject = first.get("subject") or {}
            name = (pick(subject.get("name"), self.lang) or subject.get("sdk_id") or
                    (self.pis([subject["pi_type"]])[0] if subject.get("pi_type") else "") or subject.get("permission") or "")
            label = self.t.opt(f"policy.kind.{first.get('kind')}", str(first.get("kind", "")))
            return f"{label}：{name}" if zh else f"{label}: {name}"
        if entry.kind == "sdk":
            name = pick(first.get("name"), self.lang) or str(first.get("sdk_id", ""))
            return f"集成的SDK：{name}" if zh else f"Embedded SDK: {name}"
        label = self.t.opt(f"evidence_kind.{first.get('id')}", str(first.get("id", ""))) if first else ""
        titles = self.sep.join(dict.fromkeys(pick(f.get("title"), self.lang) for f in entry.findings))
        return f"{label}{'：' if zh else ': '}{titles}" if label else titles

    def entry_party(self, entry: Entry) -> str:
        """Whose code or server the facts belong to, with the vendor ("" for declarations)."""
        first = entry.facts[0] if entry.facts else {}
        owner = first.get("owner") if entry.kind in ("api_call", "miniprogram_api") else (
            first.get("party") if entry.kind == "observation" else None)
        return self.party_text(owner) if owner else ""

    def where(self, entry: Entry) -> str:
        """Where the facts are: callers, phases of requests, or the manifest."""
        zh = self.lang == "zh-CN"
        if entry.kind in ("api_call", "miniprogram_api"):
            callers = sorted({str((f.get("caller") or {}).get("class") or f.get("file") or "") for f in entry.facts})
            shown = self.sep.join(c.rsplit(".", 1)[-1] for c in callers[:WHERE_CAP])
            more = len(callers) - WHERE_CAP
            if more > 0:
                shown += f" 等{len(callers)}个类" if zh else f" and {more} more"
            return shown
        if entry.kind == "observation":
            phases = list(dict.fromkeys(str(f.get("phase")) for f in entry.facts))  # in time order
            return self.sep.join(self.phase_text(p) for p in phases)
        if entry.kind in ("permission", "component") or (entry.facts and entry.facts[0].get("id") == "manifest"):
            return self.t("text.manifest_short")
        return ""

    def level(self, entry: Entry) -> dict[str, str]:
        level = terms().evidence_level(entry.evidence_level)
        label = self.t.opt(f"evidence_level.{level.id}", level.id)
        nature = self.t(f"evidence_nature.{level.kind}")
        text = f"{nature}（{label}）" if self.lang == "zh-CN" else f"{nature} ({label})"
        return {"id": level.id, "label": label, "kind": level.kind, "kind_label": nature, "text": text}

    def cite(self, ref: dict[str, Any], verification: str | None) -> Citation:
        return citation(ref, self.lang, self.doc_label(str(ref.get("doc", ""))), verification)

    # -- rows -----------------------------------------------------------------------------------
    def basis(self, findings: list[dict[str, Any]], anchored: set[str], first_at: int | None) -> dict[str, Any]:
        """One rule's findings within an entry (one per phase or party) as one legal-basis row.

        A rule's explanation and citations are printed where the rule first appears; later rows
        point back to that entry's number (``first_at``), which keeps the report short."""
        ranks = terms()
        first = findings[0]
        severity = min((str(f.get("severity", "info")) for f in findings), key=lambda s: ranks.severity(s).rank)
        cites = [self.cite(r, first.get("verification")) for r in first.get("legal_refs") or []]
        ids = [str(f.get("id", "")) for f in findings]
        phases = list(dict.fromkeys(self.phase_text(f.get("phase")) for f in findings if f.get("phase") is not None))
        return {
            "id": ids[0],
            "ids": ids,
            "anchors": [i for i in ids if i not in anchored],
            "rule_id": str(first.get("rule_id", "")),
            "pack": str(first.get("pack", "")),
            "severity": severity,
            "severity_label": self.t.opt(f"severity.{severity}", severity),
            "title": pick(first.get("title"), self.lang),
            "explanation": pick(first.get("explanation"), self.lang) if first_at is None else "",
            "phase": self.sep.join(phases),
            "phase_shown": bool(phases),
            "citations": [self.citation_row(c) for c in cites] if first_at is None else [],
            "verdicts": [self.finding_verdicts[i] for i in ids if i in self.finding_verdicts],
            "see": (self.t("text.see_entry").replace("{n}", str(first_at)) if first_at is not None else ""),
        }

    def citation_row(self, c: Citation) -> dict[str, Any]:
        zh = self.lang == "zh-CN"
        notes = []
        if c.recommended:
            notes.append(self.t("text.recommended_standard"))
        if c.effective:
            notes.append(f"{c.effective}{'起施行' if zh else ' in force'}")
        return {"text": c.text, "quote": c.quote, "notes": ("；" if zh else "; ").join(notes), "unverified": c.unverified}

    def facts(self, entry: Entry) -> list[dict[str, Any]]:
        return [self.evidence_view.evidence({"kind": entry.fact_kinds.get(str(f.get("id")), ""), "ref": f.get("id")})
                for f in entry.facts[:FACTS_CAP]]

    def build(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(conclusion-table rows, detail entries), in the same order."""
        anchored: set[str] = set()
        explained: dict[str, int] = {}  # rule id -> number of the entry that prints its explanation
        summary, detail = [], []
        for number, entry in enumerate(self.entries, start=1):
            by_rule: dict[str, list[dict[str, Any]]] = {}
            for finding in entry.findings:
                by_rule.setdefault(str(finding.get("rule_id", "")), []).append(finding)
            bases = []
            for rule, findings in by_rule.items():
                bases.append(self.basis(findings, anchored, explained.get(rule)))
                anchored.update(str(f.get("id", "")) for f in findings)
                explained.setdefault(rule, number)
            level = self.level(entry)
            severity = entry.severity
            short = []
            for b in bases:
                for c in b["citations"]:
                    if c["text"] not in short:
                        short.append(c["text"])
            row = {
                "number": number,
                "id": entry.id,
                "kind": entry.kind,
                "title": self.title(entry),
                "severity": severity,
                "severity_label": self.t.opt(f"severity.{severity}", severity),
                "level": level,
                "count": len(entry.facts) or 1,
                "where": self.where(entry),
                "party": self.entry_party(entry),
                "citations": short,
                "unverified_session": self.session_unverified and entry.kind == "observation",
                "scope_app": self.scope_app and entry.kind == "observation",
            }
            summary.append(row)
            more = max(0, len(entry.facts) - FACTS_CAP)
            detail.append(row | {
                "bases": bases,
                "facts": self.facts(entry),
                "facts_more": self.t("text.more_evidence").replace("{n}", str(more)) if more else "",
                "pi": self.pis(entry.pi_types),
            })
        return summary, detail
