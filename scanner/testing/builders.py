"""Builders of realistic fake results that follow docs/result-format.md exactly.

Renderer tests (and other engineers' tests) need a full ``result.json`` without scanning an APK or
running a proxy. :class:`ResultBuilder` assembles one piece by piece (permissions, API calls with
reach paths, SDKs, traffic observations with masked values, findings, limitations, manual checks)
and :mod:`scanner.testing.samples` has ready-made ones (the sample, hostile, complete and
mini-program results). Severity order, finding ids and the summary come from the model and the
rule engine, so a built result is ordered and summarised exactly as a scan's.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..model.records import Limitation, finding_id
from ..result import SCHEMA_ID
from ..rules.categories import record_necessity
from ..rules.engine import severity_rank, summarise

_FIXED_TIME = "2026-11-28T19:40:00Z"


def fake_sha256(seed: str) -> str:
    """A stable, realistic-looking sha256 hex digest derived from ``seed``."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def dotted_to_descriptor(class_name: str) -> str:
    """``com.x.App`` -> ``Lcom/x/App;``."""
    return "L" + class_name.replace(".", "/") + ";"


def party(kind: str, sdk_id: str | None = None, sdk_name: str | None = None, vendor: str | None = None) -> dict[str, Any]:
    """A ``party`` / ``owner`` object in the documented key order."""
    return {"kind": kind, "sdk_id": sdk_id, "sdk_name": sdk_name, "vendor": vendor}


@dataclass
class ResultBuilder:
    """Assemble a result dict in the documented layout; :meth:`build` sorts and summarises it."""

    package: str = "com.example.notes"
    label: str = "便签助手"
    label_zh: str | None = "便签助手"
    version_name: str = "2.3.1"
    version_code: str = "231"
    case_id: str | None = "2026-粤网安-0193"
    examiner: str | None = "李明"
    category: dict[str, Any] | None = field(default_factory=lambda: {"id": 38, "zh": "实用工具类", "en": "Utility tools"})
    input_name: str = "notes-2.3.1.apk"
    started_at: str = _FIXED_TIME
    finished_at: str = "2026-11-28T19:40:07Z"
    tool_version: str = "0.1.0"
    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    manual_checks: list[dict[str, Any]] = field(default_factory=list)
    limitations: list[dict[str, Any]] = field(default_factory=list)
    packs: list[dict[str, Any]] = field(default_factory=list)

    # -- identity and provenance ---------------------------------------------------------------
    def input_hashes(self) -> dict[str, Any]:
        """The provenance ``inputs`` row of the scanned APK."""
        seed = f"{self.package}-{self.version_name}"
        return {
            "role": "apk",
            "name": self.input_name,
            "size": 4_812_335,
            "sha256": fake_sha256(seed),
            "sha1": hashlib.sha1(seed.encode()).hexdigest(),  # noqa: S324 - fake identification hash
            "md5": hashlib.md5(seed.encode()).hexdigest(),  # noqa: S324 - fake identification hash
        }

    def pack(self, pack_id: str, kind: str, version: str) -> ResultBuilder:
        """Record a data or rule pack in provenance."""
        self.packs.append({"id": pack_id, "kind": kind, "version": version, "sha256": fake_sha256(f"pack:{pack_id}")})
        return self

    # -- facts ----------------------------------------------------------------------------------
    def signing(self, subject: str = "CN=Example Notes, O=Example Ltd, C=CN") -> ResultBuilder:
        """A v1+v2 signed APK with one certificate."""
        cert = {
            "scheme": "v2",
            "subject": subject,
            "issuer": subject,
            "serial": "5f3c2a19",
            "not_before": "2021-03-01T00:00:00Z",
            "not_after": "2051-02-22T00:00:00Z",
            "sha256": fake_sha256("cert:" + subject),
            "sha1": hashlib.sha1(("cert:" + subject).encode()).hexdigest(),  # noqa: S324 - fake identification hash
        }
        self.facts["signing"] = {"schemes": {"v1": True, "v2": True, "v3": False, "v31": False}, "certificates": [cert]}
        return self

    def permission(
        self,
        name: str,
        pi_types: list[str],
        *,
        protection_level: str = "dangerous",
        group: str | None = None,
        known: bool = True,
    ) -> ResultBuilder:
        """A declared ``uses-permission``."""
        self.facts.setdefault("permissions", []).append(
            {
                "id": f"perm:{name}",
                "name": name,
                "protection_level": protection_level,
                "pi_types": sorted(pi_types),
                "group": group,
                "dangerous_since": 23 if protection_level == "dangerous" else None,
                "max_sdk_version": None,
                "applies": True,
                "declared_as": ["uses-permission"],
                "known": known,
            }
        )
        return self

    def api_call(
        self,
        api_id: str,
        api: str,
        pi_types: list[str],
        *,
        caller_class: str,
        caller_method: str,
        descriptor: str = "()V",
        permission: str | None = None,
        offset: int = 26,
        dex: str = "classes.dex",
        owner: dict[str, Any] | None = None,
        reach_path: list[str] | None = None,
        reachable_before_ui: bool | None = None,
    ) -> str:
        """A sensitive API call site; returns its fact id."""
        fact_id = f"api:{dex}:{dotted_to_descriptor(caller_class)}->{caller_method}{descriptor}@{offset:#x}"
        path = list(reach_path or [])
        self.facts.setdefault("api_calls", []).append(
            {
                "id": fact_id,
                "api_id": api_id,
                "api": api,
                "access": "invoke",
                "pi_types": sorted(pi_types),
                "permission": permission,
                "caller": {"class": caller_class, "method": caller_method, "descriptor": descriptor},
                "dex": dex,
                "offset": offset,
                "argument": None,
                "owner": owner or party("first_party"),
                "reachable_before_ui": reachable_before_ui,
                "reach_entry": path[0].split("(")[0] if path else None,
                "reach_path": path or None,
                "smali": None,
            }
        )
        return fact_id

    def sdk(
        self,
        sdk_id: str,
        name_zh: str,
        name_en: str,
        *,
        vendor: tuple[str, str] | None,
        category: str,
        prefix: str,
        host: str | None,
        pi_types: list[str],
        class_count: int,
        seen_in_traffic: bool,
        policy_url: str | None = None,
    ) -> ResultBuilder:
        """A detected third-party SDK with its signals."""
        signals = [{"kind": "code_prefix", "value": prefix, "detail": f"{class_count} classes"}]
        if host:
            signals.append({"kind": "host", "value": host, "detail": "string in classes.dex"})
        self.facts.setdefault("sdks", []).append(
            {
                "id": f"sdk:{sdk_id}",
                "sdk_id": sdk_id,
                "name": {"zh": name_zh, "en": name_en},
                "vendor": {"zh": vendor[0], "en": vendor[1]} if vendor else None,
                "category": category,
                "confidence": "high",
                "signals": signals,
                "class_count": class_count,
                "pi_types": sorted(pi_types),
                "privacy_policy_url": policy_url,
                "seen_in_traffic": seen_in_traffic,
            }
        )
        return self

    def observation(
        self,
        seq: int,
        *,
        time: str,
        phase: str,
        method: str,
        url: str,
        host: str,
        owner: dict[str, Any],
        matches: list[dict[str, Any]],
        opaque: bool = False,
        opaque_reason: str | None = None,
    ) -> str:
        """A captured request with PI matches (masked values); returns its fact id. A match
        without ``level``/``chain`` gets its detector and location; an opaque request gets its
        reason as one opaque item over the body."""
        from scanner.traffic.offline import upgrade_observation

        scheme = url.split(":", 1)[0]
        traffic = self.facts.setdefault("traffic", {"session": None, "observations": [], "frequency": []})
        fact_id = f"obs:{seq}"
        row = {
                "id": fact_id,
                "seq": seq,
                "flow_id": f"flow-{seq:04d}",
                "channel": "http",
                "time": time,
                "phase": phase,
                "method": method,
                "scheme": scheme,
                "host": host,
                "port": 443 if scheme == "https" else 80,
                "url": url,
                "party": owner,
                "matches": matches,
                "cleartext": scheme == "http",
                "opaque": opaque,
                "opaque_reason": opaque_reason,
                "truncated": False,
                "request_sha256": fake_sha256(f"request:{seq}"),
        }
        upgrade_observation(row)
        traffic["observations"].append(row)
        return fact_id

    def limitation(self, kind: str, detail: str, where: str | None = None) -> ResultBuilder:
        """A limitation (makes the result incomplete)."""
        row = Limitation(kind, detail, where).to_json()
        if row not in self.limitations:
            self.limitations.append(row)
        return self

    # -- rule output ----------------------------------------------------------------------------
    def finding(
        self,
        rule_id: str,
        pack: str,
        severity: str,
        title: tuple[str, str],
        explanation: tuple[str, str],
        legal_refs: list[dict[str, Any]],
        evidence: list[tuple[str, str]],
        *,
        evidence_level: str,
        owner: dict[str, Any],
        phase: str | None = None,
        verification: str = "V",
    ) -> str:
        """A finding over fact refs ``[(kind, fact_id), ...]``; returns its id."""
        refs = [ref for _, ref in evidence]
        fid = finding_id(rule_id, refs)
        self.findings.append(
            {
                "id": fid,
                "rule_id": rule_id,
                "pack": pack,
                "severity": severity,
                "title": {"zh-CN": title[0], "en": title[1]},
                "explanation": {"zh-CN": explanation[0], "en": explanation[1]},
                "legal_refs": legal_refs,
                "verification": verification,
                "evidence_level": evidence_level,
                "party": owner,
                "phase": phase,
                "evidence": [{"kind": kind, "ref": ref} for kind, ref in evidence],
            }
        )
        return fid

    def manual_check(
        self, rule_id: str, pack: str, title: tuple[str, str], what: tuple[str, str], legal_refs: list[dict[str, Any]]
    ) -> ResultBuilder:
        """A checklist item for the examiner."""
        self.manual_checks.append(
            {
                "rule_id": rule_id,
                "pack": pack,
                "title": {"zh-CN": title[0], "en": title[1]},
                "what_to_check": {"zh-CN": what[0], "en": what[1]},
                "legal_refs": legal_refs,
            }
        )
        return self

    # -- assembly -------------------------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        """The finished result: lists sorted as the format fixes, summary computed."""
        facts = copy.deepcopy(self.facts)
        for key, sort_key in (
            ("permissions", lambda r: r["name"]),
            ("sdks", lambda r: r["sdk_id"]),
            ("api_calls", lambda r: (r["api_id"], r["caller"]["class"], r["caller"]["method"], r["dex"], r["offset"])),
        ):
            if key in facts:
                facts[key].sort(key=sort_key)
        if "traffic" in facts:
            facts["traffic"]["observations"].sort(key=lambda r: r["seq"])
        record_necessity({"case": {"category": self.category}, "facts": facts})  # as a scan records it
        findings = sorted(copy.deepcopy(self.findings), key=lambda f: (severity_rank(f["severity"]), f["rule_id"], f["id"]))
        command = ["piscan", "scan", self.input_name, "--category", str(self.category["id"]) if self.category else "none"]
        if not self.category:
            command = command[:3]
        return {
            "schema": SCHEMA_ID,
            "tool": {"name": "piscan", "version": self.tool_version},
            "provenance": {
                "tool_version": self.tool_version,
                "python_version": "3.11.7",
                "androguard_version": "4.1.3",
                "mitmproxy_version": "11.0.2",
                "host": "examiner-pc",
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "command": command,
                "reproduce": " ".join(command),
                "inputs": [self.input_hashes()],
                "packs": sorted(copy.deepcopy(self.packs), key=lambda p: (p["kind"], p["id"])),
            },
            "case": {"case_id": self.case_id, "examiner": self.examiner, "category": copy.deepcopy(self.category)},
            "app": {
                "platform": "android",
                "package": self.package,
                "label": {"default": self.label, "zh-CN": self.label_zh},
                "version_name": self.version_name,
                "version_code": self.version_code,
                "min_sdk": 21,
                "target_sdk": 33,
                "compile_sdk": 33,
                "max_sdk": None,
                "application_class": f"{self.package}.App",
                "first_party_prefixes": [self.package],
                "input_note": None,
            },
            "complete": not self.limitations,
            "limitations": sorted(
                copy.deepcopy(self.limitations), key=lambda lim: (lim["kind"], lim.get("where") or "", lim["detail"])
            ),
            "facts": facts,
            "findings": findings,
            "manual_checks": copy.deepcopy(self.manual_checks),
            "summary": summarise(findings, self.manual_checks),
        }




def sample_policy_html() -> bytes:
    """The sample privacy policy (samples/policy/privacy-policy.md) as a saved web page."""
    from .corpus import REPO

    text = (REPO / "samples" / "policy" / "privacy-policy.md").read_text(encoding="utf-8")
    body = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    return f"<!doctype html><html><head><meta charset='utf-8'><title>隐私政策</title></head><body>{body}</body></html>".encode()
