"""Declared vs observed: hold the extracted documents against a result's facts.

:func:`policy_facts` is a pure function of the result JSON (docs/result-format.md: ``facts.sdks``,
``facts.permissions``, ``facts.api_calls``, ``facts.traffic.observations``,
``facts.miniprogram.api_uses``) and the documents' extractions; it returns ``facts.policy``.
:func:`attach_policy` returns a copy of the result with ``facts.policy`` set and the policy
limitations added.

Each comparison is a fact with both sides' evidence: on the declared side the quoted sentence or
row with its location (and the id of the document item), on the observed side the ids of the
facts. Only disagreements are recorded: ``status`` is ``mismatch`` when the documents decide the
question, ``undecidable`` when they cannot, because a referenced document was not provided, a
PDF page had no text, a document was truncated, or the format cannot show bold. The tool never
concludes "not declared" from an incomplete declaration.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

from ..pi import vocabulary
from ..sdk.pack import SdkPack, default_pack
from .sdklist import norm_vendor, vendor_legal_names
from ..traffic.observation import claims

#: observed evidence refs kept per comparison (the count says how many there were)
OBSERVED_CAP = 20
COMPARISON_KINDS = ("policy_missing", "sdk_undeclared", "sdk_pi_wider", "pi_undeclared", "sensitive_unmarked",
                    "permission_no_purpose", "mechanism_missing", "effective_after_session")
#: mechanisms a privacy policy must describe (RD-3.8, RD-6.1, RD-6.5; PIPL 17, 47, 50)
MECHANISMS = ("cancellation", "correction", "deletion", "withdrawal", "complaint", "contact")
#: which missing documents make which comparison undecidable
_NEEDS = {
    "sdk": ("sdk_list",),
    "pi": ("sdk_list", "pi_list", "privacy_policy", "permission_list"),
    "permission": ("permission_list", "privacy_policy"),
    "mechanism": ("privacy_policy",),
}
_POLICY_ROLES = ("privacy_policy", "summary", "children_policy")


def _declared_quote(doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    return {"document": doc["id"], "ref": item["id"], "quote": item.get("quote"), "where": item.get("where")}


def _cap(refs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    seen: dict[str, dict[str, Any]] = {}
    for r in refs:
        seen.setdefault(r["ref"], r)
    items = sorted(seen.values(), key=lambda r: (r["kind"], r["ref"]))
    return items[:OBSERVED_CAP], len(items)


class _Comparer:
    def __init__(self, result: dict[str, Any], documents: list[dict[str, Any]], pack: SdkPack) -> None:
        self.result = result
        self.facts = result.get("facts") or {}
        self.docs = sorted(documents, key=lambda d: d["id"])
        self.pack = pack
        self.out: list[dict[str, Any]] = []
        self.roles = {d["role"] for d in self.docs}
        self.references = self._resolve_references()
        self.doc_limits = [lim for d in self.docs for lim in d.get("limitations") or []]

    # --- completeness ---------------------------------------------------------------------
    def _resolve_references(self) -> list[dict[str, Any]]:
        refs = []
        for doc in self.docs:
            for ref in doc.get("references") or []:
                providers = [d["id"] for d in self.docs if d["role"] == ref["role"]]
                refs.append({**ref, "document": doc["id"], "provided": bool(providers) or ref["role"] == "other",
                             "provided_by": providers[0] if providers else None})
        return refs

    def missing(self, need: str) -> list[str]:
        """What keeps a comparison of this family from being decided (empty when complete)."""
        roles = _NEEDS[need]
        out = [f"《{r['title']}》 (referenced, not provided)" for r in self.references
               if not r["provided"] and r["role"] in roles]
        if need in ("pi", "permission", "mechanism") and not (self.roles & {"privacy_policy", "summary"}):
            out.append("no privacy policy was provided")
        out.extend(f"{lim['where']}: {lim['detail']}" for lim in self.doc_limits)
        return sorted(set(out))

    def add(self, kind: str, key: str, subject: dict[str, Any], declared: list[dict[str, Any]],
            observed: list[dict[str, Any]], detail: str, missing: list[str]) -> None:
        """Record one comparison (mismatch when nothing is missing, else undecidable)."""
        obs, total = _cap(observed)
        self.out.append({
            "id": f"cmp:{kind}:{key}", "kind": kind, "status": "undecidable" if missing else "mismatch",
            "subject": subject, "declared": declared, "observed": obs, "observed_count": total,
            "detail": detail, "missing": missing,
        })

    # --- observed side ----------------------------------------------------------------------
    def observed_sdks(self) -> dict[str, dict[str, Any]]:
        """SDK id -> {name, vendor, refs} found in code (facts.sdks) or traffic (observation parties)."""
        out: dict[str, dict[str, Any]] = {}
        for sdk in self.facts.get("sdks") or []:
            if sdk.get("category") == "library":
                continue
            out[sdk["sdk_id"]] = {"name": sdk.get("name"), "vendor": sdk.get("vendor"),
                                  "refs": [{"kind": "sdk", "ref": sdk["id"]}]}
        for obs in (self.facts.get("traffic") or {}).get("observations") or []:
            party = obs.get("party") or {}
            sid = party.get("sdk_id")
            if party.get("kind") != "sdk" or not sid:
                continue
            rec = self.pack.get(sid)
            if rec is not None and rec.category == "library":
                continue
            entry = out.setdefault(sid, {"name": rec.name() if rec else {"zh": party.get("sdk_name"), "en": party.get("sdk_name")},
                                         "vendor": rec.vendor() if rec else None, "refs": []})
            entry["refs"].append({"kind": "observation", "ref": obs["id"]})
        return out

    def observed_pi(self) -> dict[str, list[dict[str, Any]]]:
        """PI type -> evidence refs of its collection (permission, call site, traffic, mini-program API)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for perm in self.facts.get("permissions") or []:
            if perm.get("applies", True):
                for pi in perm.get("pi_types") or []:
                    out.setdefault(pi, []).append({"kind": "permission", "ref": perm["id"]})
        for call in self.facts.get("api_calls") or []:
            for pi in call.get("pi_types") or []:
                out.setdefault(pi, []).append({"kind": "api_call", "ref": call["id"]})
        for obs in (self.facts.get("traffic") or {}).get("observations") or []:
            for m in claims(obs):
                out.setdefault(m["pi_type"], []).append({"kind": "observation", "ref": obs["id"], "phase": obs.get("phase")})
        for use in (self.facts.get("miniprogram") or {}).get("api_uses") or []:
            for pi in use.get("pi_types") or []:
                out.setdefault(pi, []).append({"kind": "miniprogram_api", "ref": use["id"]})
        return out

    # --- declared side ------------------------------------------------------------------------
    def declared_rows(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every declared SDK row with its document."""
        return [(d, s) for d in self.docs for s in d.get("sdks") or []]

    def rows_for(self, sdk_id: str, vendor: dict[str, str] | None) -> list[tuple[dict[str, Any], dict[str, Any], str]]:
        """Declared rows naming this SDK (by pack match), or naming only its vendor (an operator row
        that matched no SDK of the pack). A row matched to another SDK of the same vendor does not
        cover this one: a list that names WeChat Pay (财付通) says nothing about Tencent Bugly."""
        legal = vendor_legal_names(self.pack.path)
        vendor_key = norm_vendor(vendor["zh"]) if vendor and vendor.get("zh") else None
        out = []
        for doc, row in self.declared_rows():
            match = row.get("match") or {}
            if match.get("sdk_id") == sdk_id:
                out.append((doc, row, "sdk"))
                continue
            if vendor_key and row.get("operator") and not match:
                op = norm_vendor(row["operator"])
                op_vendor = legal.get(op, op)
                if norm_vendor(op_vendor) == vendor_key:
                    out.append((doc, row, "vendor"))
        return out

    # --- comparisons ---------------------------------------------------------------------------
    def run(self) -> None:
        if not (self.roles & {"privacy_policy", "summary"}):
            self.add("policy_missing", "privacy_policy", {"role": "privacy_policy"}, [], [],
                     "no privacy policy among the documents provided; only "
                     + ", ".join(sorted(self.roles)) + " (the app's policy may still exist)",
                     ["no privacy policy was provided"])
        self.sdks()
        self.pi_types()
        self.sensitive()
        self.permissions()
        self.mechanisms()
        self.timing()

    def sdks(self) -> None:
        missing = self.missing("sdk")
        any_rows = bool(self.declared_rows())
        for sdk_id, seen in sorted(self.observed_sdks().items()):
            rows = self.rows_for(sdk_id, seen["vendor"])
            name = (seen["name"] or {}).get("zh") or sdk_id
            if not rows:
                lists = [d for d in self.docs if d["role"] == "sdk_list"]
                declared = [{"document": d["id"], "ref": d["id"], "quote": d.get("title"), "where": None} for d in lists]
                why = (f"{name} ({sdk_id}) is found in the app but named in no SDK list row"
                       + ("" if any_rows else "; the documents provided list no SDK at all"))
                self.add("sdk_undeclared", sdk_id, {"sdk_id": sdk_id, "name": seen["name"], "vendor": seen["vendor"]},
                         declared, seen["refs"], why, missing)
                continue
            sent: dict[str, list[dict[str, Any]]] = {}
            for obs in (self.facts.get("traffic") or {}).get("observations") or []:
                if (obs.get("party") or {}).get("sdk_id") == sdk_id:
                    for m in claims(obs):
                        sent.setdefault(m["pi_type"], []).append({"kind": "observation", "ref": obs["id"], "phase": obs.get("phase")})
            if not sent:
                continue
            declared_pi = {pi for _d, row, _how in rows for pi in row.get("pi_types") or []}
            wider = sorted(set(sent) - declared_pi)
            if not wider:
                continue
            no_pi_text = all(not row.get("pi_text") for _d, row, _how in rows)
            miss = missing + (["the SDK rows give no PI types (only links to the third party's own rules)"] if no_pi_text else [])
            self.add("sdk_pi_wider", sdk_id,
                     {"sdk_id": sdk_id, "name": seen["name"], "declared_pi": sorted(declared_pi), "observed_pi": sorted(sent),
                      "wider": wider},
                     [_declared_quote(d, row) for d, row, _how in rows],
                     [r for pi in wider for r in sent[pi]],
                     f"traffic to {name} carries {', '.join(wider)}, which its SDK row does not declare", sorted(set(miss)))

    def declared_types(self) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
        """PI type -> (document, pi entry) for every document that declares it."""
        out: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for doc in self.docs:
            for entry in doc.get("pi_types") or []:
                if entry["declared"]:
                    out.setdefault(entry["pi_type"], []).append((doc, entry))
        return out

    def pi_types(self) -> None:
        missing = self.missing("pi")
        declared = self.declared_types()
        for pi, refs in sorted(self.observed_pi().items()):
            if pi in declared:
                continue
            denials = [(d, e) for d in self.docs for e in d.get("pi_types") or [] if e["pi_type"] == pi and not e["declared"]]
            quotes = [{"document": d["id"], "ref": m["id"], "quote": m["quote"], "where": m["where"]}
                      for d, e in denials for m in e["mentions"][:3]]
            kinds = sorted({r["kind"] for r in refs})
            self.add("pi_undeclared", pi, {"pi_type": pi, "sources": kinds}, quotes, refs,
                     f"{pi} is collected ({', '.join(kinds)}) but declared in no document"
                     + (" (mentioned only in denials or definitions)" if quotes else ""), missing)

    def sensitive(self) -> None:
        vocab = vocabulary()
        for pi, pairs in sorted(self.declared_types().items()):
            if pi not in vocab or not vocab.get(pi).sensitive:
                continue
            if any(e.get("marked") is True for _d, e in pairs):
                continue
            unknown = [d for d, e in pairs if d.get("marks_supported") is not True]
            miss = [f"{d['id']} ({d['format']}): bold and underline cannot be read from this format" for d in unknown]
            quotes = [{"document": d["id"], "ref": m["id"], "quote": m["quote"], "where": m["where"]}
                      for d, e in pairs for m in e["mentions"] if m["declared"]][:6]
            self.add("sensitive_unmarked", pi, {"pi_type": pi}, quotes, [],
                     f"{pi} is sensitive PI (PIPL art. 28) but no document marks it (bold or underline)", sorted(miss))

    def permissions(self) -> None:
        missing = self.missing("permission")
        declared: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for doc in self.docs:
            for entry in doc.get("permissions") or []:
                for name in entry["permissions"]:
                    declared.setdefault(name, []).append((doc, entry))
        for perm in self.facts.get("permissions") or []:
            if not perm.get("applies", True):
                continue
            level = str(perm.get("protection_level") or "")
            if "dangerous" not in level and not perm.get("pi_types"):
                continue
            entries = declared.get(perm["name"], [])
            with_purpose = [(d, e) for d, e in entries if e.get("purpose")]
            if with_purpose:
                continue
            detail = (f"{perm['name']} is requested; the documents name it without a purpose" if entries
                      else f"{perm['name']} is requested but no document declares it with a purpose")
            self.add("permission_no_purpose", perm["name"], {"permission": perm["name"], "named": bool(entries)},
                     [_declared_quote(d, e) for d, e in entries[:6]], [{"kind": "permission", "ref": perm["id"]}], detail, missing)

    def mechanisms(self) -> None:
        policies = [d for d in self.docs if d["role"] in _POLICY_ROLES]
        if not policies:
            return
        missing = self.missing("mechanism")
        for kind in MECHANISMS:
            present = [(d, r) for d in policies for r in d.get("rights") or [] if r["kind"] == kind and r["present"]]
            if kind == "contact":
                present += [(d, {"id": d["id"], "quote": ", ".join(d["controller"]["emails"] + d["controller"]["phones"]), "where": None})
                            for d in policies if d["controller"]["emails"] or d["controller"]["phones"]]
            if present:
                continue
            self.add("mechanism_missing", kind, {"mechanism": kind}, [
                {"document": d["id"], "ref": d["id"], "quote": d.get("title"), "where": None} for d in policies], [],
                f"no document describes {kind.replace('_', ' ')}", missing)

    def timing(self) -> None:
        session = (self.facts.get("traffic") or {}).get("session") or {}
        started = str(session.get("started_at") or "")[:10]
        if not started:
            return
        for doc in self.docs:
            dates = doc.get("dates") or {}
            date = dates.get("effective") or dates.get("updated")
            if date and date > started:
                self.add("effective_after_session", doc["id"], {"document": doc["id"], "effective": date, "session": started},
                         [{"document": doc["id"], "ref": doc["id"], "quote": doc.get("title"), "where": None}],
                         [{"kind": "session", "ref": str(session.get("id") or "session")}],
                         f"the document takes effect on {date}, after the session of {started}: the text in force "
                         "during the session was an earlier version", [])


def policy_limitations(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """Result-level limitations of ``facts.policy`` (``policy_incomplete``, ``policy_page_no_text``, ``policy_truncated``)."""
    out = [lim for doc in policy["documents"] for lim in doc.get("limitations") or []]
    for ref in policy["references"]:
        if not ref["provided"] and ref["role"] in ("sdk_list", "pi_list", "permission_list", "privacy_policy", "children_policy"):
            out.append({"kind": "policy_incomplete",
                        "detail": f"《{ref['title']}》 is referenced by {ref['document']} but was not provided"
                                  + (f" (declared location {ref['url']}, not fetched)" if ref.get("url") else ""),
                        "where": f"{ref['document']}:{ref['title']}"})
    return sorted({(o["kind"], o["where"], o["detail"]): o for o in out}.values(), key=lambda o: (o["kind"], o["where"]))


def policy_facts(result: dict[str, Any], documents: Iterable[dict[str, Any]], pack: SdkPack | None = None) -> dict[str, Any]:
    """``facts.policy`` for ``result`` and the extracted ``documents`` (pure: nothing is read or written)."""
    docs = list(documents)
    cmp = _Comparer(result, docs, pack or default_pack())
    cmp.run()
    comparisons = sorted(cmp.out, key=lambda c: (COMPARISON_KINDS.index(c["kind"]), c["id"]))
    policies = [d for d in cmp.docs if d["role"] in _POLICY_ROLES]

    def right(kind: str) -> bool | None:
        if not policies:
            return None
        return any(r["present"] for d in policies for r in d["rights"] if r["kind"] == kind)

    declared_pi = sorted({e["pi_type"] for d in cmp.docs for e in d["pi_types"] if e["declared"]})
    declared_sdks = sorted({s["match"]["sdk_id"] for d in cmp.docs for s in d["sdks"] if s.get("match")})
    langs = sorted({d["language"] for d in cmp.docs})
    return {
        "id": "policy",
        "has_policy": bool(cmp.roles & {"privacy_policy", "summary"}),
        "lists_sdks": any(d["sdks"] for d in cmp.docs),
        "pi_types": declared_pi,
        "sdks": declared_sdks,
        "language": langs[0] if len(langs) == 1 else ("mixed" if langs else None),
        "retention_stated": right("retention"),
        "withdrawal_described": right("withdrawal"),
        "complaint_channel": right("complaint"),
        "cancellation_described": right("cancellation"),
        "complete": not cmp.doc_limits and all(r["provided"] for r in cmp.references),
        "documents": cmp.docs,
        "references": sorted(cmp.references, key=lambda r: (r["document"], r["id"])),
        "comparisons": comparisons,
    }


def attach_policy(result: dict[str, Any], documents: Iterable[dict[str, Any]], pack: SdkPack | None = None) -> dict[str, Any]:
    """A copy of ``result`` with ``facts.policy`` set and its limitations added (``complete`` false if any)."""
    out = copy.deepcopy(result)
    policy = policy_facts(out, documents, pack)
    out.setdefault("facts", {})["policy"] = policy
    limits = [lim for lim in out.get("limitations") or [] if not str(lim.get("kind", "")).startswith("policy_")]
    limits.extend(policy_limitations(policy))
    out["limitations"] = sorted(limits, key=lambda lim: (lim["kind"], lim.get("where") or ""))
    if limits:
        out["complete"] = False
    return out
