"""SARIF 2.1.0 renderer for app developers' CI (code-scanning dashboards).

One run: ``tool.driver.rules`` from the findings' rule ids (title, explanation, legal references
as help text and properties), one ``result`` per finding with ``fingerprints`` carrying the
finding id, and locations resolved from the finding's evidence: a call site becomes a physical
location in its DEX file plus logical locations for its class (``type``) and method
(``function``), with its reachability path as a code flow. Limitations become tool execution
notifications. Output is deterministic (ordered like the result; no times other than the scan's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .. import __version__
from ..result import write_atomic
from .i18n import check_lang, labels, pick
from ..model.terms import terms
from ..model.view import ResultView
from .session_view import session_view
from .text import doc_rank, method_signature

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
APK_BASE = "APKROOT"
FINGERPRINT_KEY = "piscanFindingId/v1"


def _level(severity: str) -> str:
    """The SARIF level of a severity (rules/model.yaml); ``note`` for an unknown one."""
    try:
        return terms().severity(severity).sarif
    except KeyError:
        return "note"


def _security_severity(severity: str) -> str:
    """GitHub code scanning's numeric ``security-severity`` of a severity (rules/model.yaml)."""
    try:
        return terms().severity(severity).security_severity
    except KeyError:
        return "0.0"


def _descriptor(class_name: str) -> str:
    return "L" + class_name.replace(".", "/") + ";"


class _Sarif:
    """Builds the SARIF log for one result and language."""

    def __init__(self, result: dict[str, Any], lang: str) -> None:
        self.result = result
        self.lang = lang
        self.view = ResultView(result)
        self.facts: dict[str, Any] = self.view.facts
        self.artifacts: list[str] = self._artifact_uris()

    # -- artifacts ------------------------------------------------------------------------------
    def _artifact_uris(self) -> list[str]:
        uris = {str(c.get("dex")) for c in self.view.items("api_call") if c.get("dex")}
        if any(k in self.facts for k in ("permissions", "components", "manifest")):
            uris.add("AndroidManifest.xml")
        for use in self.view.items("miniprogram_api") + self.view.items("miniprogram_button"):
            if use.get("file"):
                uris.add(str(use["file"]).lstrip("/"))
        return sorted(uris)

    def artifact_location(self, name: str) -> dict[str, Any]:
        return {"uri": quote(name, safe="/._-"), "uriBaseId": APK_BASE, "index": len(self._inputs()) + self.artifacts.index(name)}

    def _inputs(self) -> list[dict[str, Any]]:
        return list((self.result.get("provenance") or {}).get("inputs") or [])

    def artifacts_json(self) -> list[dict[str, Any]]:
        out = []
        for item in self._inputs():
            row: dict[str, Any] = {"location": {"uri": quote(str(item.get("name", "")), safe="/._-")}, "roles": ["analysisTarget"]}
            if isinstance(item.get("size"), int):
                row["length"] = item["size"]
            hashes = {k.replace("sha", "sha-"): str(item[k]) for k in ("sha256", "sha1") if item.get(k)}
            if item.get("md5"):
                hashes["md5"] = str(item["md5"])
            if hashes:
                row["hashes"] = hashes
            out.append(row)
        for name in self.artifacts:
            out.append({"location": {"uri": quote(name, safe="/._-"), "uriBaseId": APK_BASE}})
        return out

    # -- rules ----------------------------------------------------------------------------------
    def legal_text(self, refs: list[dict[str, Any]]) -> list[str]:
        table = labels()
        lines = []
        for ref in refs:
            doc = str(ref.get("doc", ""))
            key = f"doc.{doc}"
            doc_name = table.get(key, self.lang) if table.has(key) else doc
            text = pick(ref.get("text"), self.lang)
            lines.append(f"{doc} {ref.get('item', '')} {doc_name}" + (f": {text}" if text else ""))
        return lines

    def rules(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for finding in self.result.get("findings") or []:
            seen.setdefault(str(finding.get("rule_id")), finding)
        out = []
        for rule_id in sorted(seen):
            f = seen[rule_id]
            severity = str(f.get("severity", "info"))
            refs = f.get("legal_refs") or []
            legal = self.legal_text(refs)
            explanation = pick(f.get("explanation"), self.lang)
            help_text = "\n".join([explanation, "", *legal]) if legal else explanation
            out.append({
                "id": rule_id,
                "shortDescription": {"text": pick(f.get("title"), self.lang)},
                "fullDescription": {"text": explanation},
                "help": {"text": help_text, "markdown": "\n".join([explanation, "", *(f"- {line}" for line in legal)])},
                "defaultConfiguration": {"level": _level(severity)},
                "properties": {
                    "tags": ["privacy", str(f.get("pack", "")), *sorted({str(r.get("doc")) for r in refs}, key=doc_rank)],
                    "pack": str(f.get("pack", "")),
                    "severity": severity,
                    "security-severity": _security_severity(severity),
                    "verification": str(f.get("verification", "")),
                    "legalRefs": [{"doc": str(r.get("doc", "")), "item": str(r.get("item", ""))} for r in refs],
                },
            })
        return out

    # -- locations ------------------------------------------------------------------------------
    def locations(self, finding: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(locations, code flows) of a finding's evidence."""
        locations: list[dict[str, Any]] = []
        flows: list[dict[str, Any]] = []
        for _ev, found in self.view.evidence(finding):
            if found is None:
                continue
            kind, fact = found.kind.evidence or found.kind.name, found.item
            location = self.location(kind, fact)
            if location is None:
                continue
            location["id"] = len(locations)
            locations.append(location)
            if kind == "api_call" and fact.get("reach_path"):
                steps = [{"location": {"logicalLocations": [{"fullyQualifiedName": str(step), "kind": "function"}]},
                          "nestingLevel": depth} for depth, step in enumerate(fact["reach_path"])]
                flows.append({"message": {"text": f"{fact.get('reach_entry') or ''} -> {fact.get('api', '')}"},
                              "threadFlows": [{"locations": steps}]})
        return locations, flows

    def location(self, kind: str, fact: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "api_call":
            caller = fact.get("caller") or {}
            cls = str(caller.get("class", ""))
            method = str(caller.get("method", ""))
            signature = method_signature(caller)
            decorated = f"{_descriptor(cls)}->{method}{caller.get('descriptor') or ''}"
            offset = int(fact.get("offset") or 0)
            return {
                "physicalLocation": {
                    "artifactLocation": self.artifact_location(str(fact.get("dex"))),
                    "address": {"kind": "instruction", "name": f"{decorated}@{offset:#x}", "fullyQualifiedName": decorated,
                                **({"absoluteAddress": int(fact["file_offset"])} if int(fact.get("file_offset", -1)) >= 0 else {})},
                    # the result format counts the offset in 16-bit code units from the start of the method's insns;
                    # absoluteAddress is the instruction's byte offset in the DEX file
                    "properties": {"codeUnitOffset": offset, "byteOffsetInMethod": offset * 2},
                },
                "logicalLocations": [
                    {"name": method, "fullyQualifiedName": signature, "decoratedName": decorated, "kind": "function"},
                    {"name": cls.rsplit(".", 1)[-1], "fullyQualifiedName": cls, "decoratedName": _descriptor(cls), "kind": "type"},
                ],
                "message": {"text": f"{fact.get('api', '')} ({fact.get('api_id', '')})"},
            }
        if kind in ("permission", "component", "manifest"):
            name = str(fact.get("name") or fact.get("id") or "")
            element = {"permission": "uses-permission", "component": str(fact.get("kind", "component")), "manifest": "manifest"}[kind]
            return {
                "physicalLocation": {"artifactLocation": self.artifact_location("AndroidManifest.xml")},
                "logicalLocations": [{"name": name, "fullyQualifiedName": f"{element}:{name}", "kind": "element"}],
            }
        if kind == "observation":
            parts = urlsplit(str(fact.get("url", "")))
            endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"  # query dropped: it may carry PI values
            return {"logicalLocations": [{"name": str(fact.get("host", "")), "fullyQualifiedName": endpoint, "kind": "resource"}],
                    "message": {"text": f"{fact.get('method', '')} {endpoint} @ {fact.get('time', '')} ({fact.get('phase', '')})"}}
        if kind == "sdk":
            return {"logicalLocations": [{"name": str(fact.get("sdk_id", "")), "fullyQualifiedName": pick(fact.get("name"), self.lang),
                                          "kind": "module"}]}
        if kind == "miniprogram_api" and fact.get("file"):
            physical: dict[str, Any] = {"artifactLocation": self.artifact_location(str(fact["file"]).lstrip("/"))}
            if isinstance(fact.get("line"), int) and fact["line"] >= 1:
                physical["region"] = {"startLine": fact["line"]}
            return {"physicalLocation": physical,
                    "logicalLocations": [{"name": str(fact.get("api", "")), "fullyQualifiedName": str(fact.get("function") or fact.get("api", "")),
                                          "kind": "function"}]}
        if kind == "endpoint":
            return {"logicalLocations": [{"name": str(fact.get("host") or ""), "fullyQualifiedName": str(fact.get("value", "")), "kind": "resource"}]}
        return None

    # -- results --------------------------------------------------------------------------------
    def verdicts(self, target_kind: str) -> dict[str, dict[str, Any]]:
        """The examiner's current verdicts (``result["review"]``) by target id, without image data."""
        return {str(v.get("target_id")): {k: v.get(k) for k in ("verdict", "note", "examiner", "time")}
                | {"attachments": [{"name": a.get("name"), "sha256": a.get("sha256")} for a in v.get("attachments") or []]}
                for v in (self.result.get("review") or {}).get("verdicts") or [] if v.get("target_kind") == target_kind}

    def results(self, rule_index: dict[str, int]) -> list[dict[str, Any]]:
        out = []
        examiner = self.verdicts("finding")
        for f in self.result.get("findings") or []:
            severity = str(f.get("severity", "info"))
            party = f.get("party") or {}
            who = pick(party.get("sdk_name"), self.lang) or party.get("sdk_id") or party.get("kind") or "unknown"
            locations, flows = self.locations(f)
            row: dict[str, Any] = {
                "ruleId": str(f.get("rule_id")),
                "ruleIndex": rule_index[str(f.get("rule_id"))],
                "level": _level(severity),
                "kind": "fail",
                "message": {"text": f"{pick(f.get('title'), self.lang)} [{who}]"},
                "locations": locations,
                "fingerprints": {FINGERPRINT_KEY: str(f.get("id"))},
                "properties": {
                    "findingId": str(f.get("id")),
                    "severity": severity,
                    "evidenceLevel": str(f.get("evidence_level", "")),
                    "party": {k: pick(v, self.lang) if isinstance(v, dict) else v for k, v in party.items()},
                    "phase": f.get("phase"),
                    "evidence": [{"kind": str(e.get("kind")), "ref": str(e.get("ref"))} for e in f.get("evidence") or []],
                },
            }
            if str(f.get("id")) in examiner:  # the finding stays the tool's; the examiner's verdict is beside it
                row["properties"]["examinerVerdict"] = examiner[str(f.get("id"))]
            if flows:
                row["codeFlows"] = flows
            out.append(row)
        return out

    def log(self) -> dict[str, Any]:
        checks = self.verdicts("manual_check")
        rules = self.rules()
        rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
        prov = self.result.get("provenance") or {}
        app = self.result.get("app") or {}
        invocation: dict[str, Any] = {
            "executionSuccessful": True,
            "commandLine": str(prov.get("reproduce", "")),
            "toolExecutionNotifications": [
                {"level": "warning", "message": {"text": f"{lim.get('kind')}: {lim.get('detail')}" + (f" ({lim['where']})" if lim.get("where") else "")},
                 "descriptor": {"id": str(lim.get("kind"))}}
                for lim in self.result.get("limitations") or []
            ],
        }
        if prov.get("started_at"):
            invocation["startTimeUtc"] = str(prov["started_at"])
        if prov.get("finished_at"):
            invocation["endTimeUtc"] = str(prov["finished_at"])
        tool_version = str((self.result.get("tool") or {}).get("version") or __version__)
        run = {
            "tool": {"driver": {"name": "PIScan", "version": tool_version, "semanticVersion": tool_version, "rules": rules}},
            "invocations": [invocation],
            "language": self.lang,
            "originalUriBaseIds": {APK_BASE: {"description": {"text": "root of the scanned package (APK or mini-program)"}}},
            "artifacts": self.artifacts_json(),
            "results": self.results(rule_index),
            "properties": {
                "complete": bool(self.result.get("complete", False)),
                "package": app.get("package"),
                "versionName": app.get("version_name"),
                "platform": app.get("platform"),
                "severityCounts": {sev: sum(1 for f in self.result.get("findings") or [] if f.get("severity") == sev) for sev in terms().severity_ids},
                **({"session": session} if (session := session_view(self.result)) else {}),
                "manualChecks": [
                    {"ruleId": str(m.get("rule_id")), "title": pick(m.get("title"), self.lang), "whatToCheck": pick(m.get("what_to_check"), self.lang),
                     **({"examinerVerdict": checks[str(m.get("rule_id"))]} if str(m.get("rule_id")) in checks else {})}
                    for m in self.result.get("manual_checks") or []
                ],
                **({"review": {"ok": bool(review.get("ok")), "records": review.get("records"), "problems": review.get("problems")}}
                   if (review := self.result.get("review")) else {}),
            },
        }
        return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def sarif_log(result: dict[str, Any], *, lang: str = "zh-CN") -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``result`` as a dict."""
    check_lang(lang)
    return _Sarif(result, lang).log()


def render_sarif(result: dict[str, Any], *, lang: str = "zh-CN") -> str:
    """The SARIF log as UTF-8 JSON text (indent 2, trailing newline)."""
    return json.dumps(sarif_log(result, lang=lang), ensure_ascii=False, indent=2) + "\n"


class SarifRenderer:
    """Writes SARIF 2.1.0 (``unmask`` does not apply: SARIF never carries PI values)."""

    name = "sarif"
    suffix = ".sarif"

    def render(self, result: dict[str, Any], out: Path, *, lang: str, unmask: bool) -> None:
        """Build the SARIF log of ``result`` and write it atomically to ``out``."""
        write_atomic(out, render_sarif(result, lang=lang))
