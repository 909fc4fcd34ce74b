"""The 声明与实际对比 (declared vs observed) section of the report: its view model and renderer.

Reads only ``facts.policy`` and the facts it compares (result JSON, docs/result-format.md) and
returns plain text for the template partial ``reports/policy.html.j2``:

- matrix 1: every PI type declared or collected × where it is declared (privacy policy, PI list,
  SDK list) × where it is observed (permission, code, traffic before consent, traffic after
  consent);
- matrix 2: every SDK detected or declared × its detection and its declaration;
- the comparisons (mismatch / undecidable) with both sides' evidence;
- an index of every quote and every observed fact a cell points to, each with its own anchor,
  so every cell of both matrices links to its quote or its evidence.

Deterministic: rows sorted by PI-type id and SDK id, evidence by kind and id.
"""

from __future__ import annotations

import re
from typing import Any

from .i18n import labels, pick
from .text import Translator, method_signature, pi_label
from ..traffic.observation import claims

#: quotes or evidence items listed per cell (the count says how many there were)
CELL_CAP = 3
DECLARED_COLUMNS = (("policy", ("privacy_policy", "summary", "children_policy", "unknown")), ("pi_list", ("pi_list", "permission_list")),
                    ("sdk_list", ("sdk_list",)))
OBSERVED_COLUMNS = ("permission", "api_call", "before_consent", "after_consent")


def anchor(ref: str) -> str:
    """A stable HTML id for a quote or fact id (``pv-`` and the id with unsafe characters replaced)."""
    return "pv-" + re.sub(r"[^A-Za-z0-9_.:-]", "_", ref)


class PolicyView:
    """Builds the section's view model for one result and language."""

    def __init__(self, result: dict[str, Any], lang: str) -> None:
        self.result = result
        self.facts = result.get("facts") or {}
        self.policy = self.facts.get("policy") or {}
        self.lang = lang
        self.t = Translator(labels(), lang)
        self.quotes: dict[str, dict[str, Any]] = {}
        self.evidence: dict[str, dict[str, Any]] = {}
        self.fact_index = self._index_facts()

    # --- indexes ------------------------------------------------------------------------------
    def _index_facts(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for perm in self.facts.get("permissions") or []:
            out[perm["id"]] = {"kind": "permission", "text": perm["name"]}
        for call in self.facts.get("api_calls") or []:
            owner = (call.get("owner") or {}).get("sdk_name") or (call.get("owner") or {}).get("kind") or ""
            out[call["id"]] = {"kind": "api_call", "text": f"{call.get('api_id')} @ {method_signature(call.get('caller') or {})} ({owner})"}
        for obs in (self.facts.get("traffic") or {}).get("observations") or []:
            pis = ", ".join(sorted({m["pi_type"] for m in claims(obs)}))
            out[obs["id"]] = {"kind": "observation",
                              "text": f"{obs.get('time')} {self.t.opt('phase.' + str(obs.get('phase')), str(obs.get('phase')))} "
                                      f"{obs.get('method')} {obs.get('host')} [{pis}]"}
        for sdk in self.facts.get("sdks") or []:
            out[sdk["id"]] = {"kind": "sdk", "text": pick(sdk.get("name"), self.lang)}
        for use in (self.facts.get("miniprogram") or {}).get("api_uses") or []:
            out[use["id"]] = {"kind": "miniprogram_api", "text": f"{use.get('api')} @ {use.get('file')}:{use.get('line')}"}
        return out

    def _where(self, where: dict[str, Any] | None) -> str:
        if not where:
            return ""
        parts = []
        if where.get("page"):
            parts.append(self.t("policy.page").format(n=where["page"]))
        if where.get("section"):
            parts.append(f"§ {where['section']}")
        parts.append(self.t("policy.paragraph").format(n=where["paragraph"]))
        return ", ".join(parts)

    def quote(self, doc: dict[str, Any], ref: str, text: str | None, where: dict[str, Any] | None) -> dict[str, str]:
        """Register a quote for the index; return its link."""
        if ref not in self.quotes:
            self.quotes[ref] = {"anchor": anchor(ref), "ref": ref, "document": doc.get("title") or doc["id"],
                                "role": self.t.opt("policy.role." + doc["role"], doc["role"]), "quote": text or "",
                                "where": self._where(where)}
        return {"href": "#" + anchor(ref), "label": ref.rsplit(":", 1)[-1]}

    def fact(self, ref: str, kind: str) -> dict[str, str]:
        """Register an observed fact for the index; return its link."""
        if ref not in self.evidence:
            info = self.fact_index.get(ref, {"kind": kind, "text": ref})
            self.evidence[ref] = {"anchor": anchor(ref), "ref": ref, "kind": self.t.opt("evidence_kind." + info["kind"], info["kind"]),
                                  "text": info["text"]}
        return {"href": "#" + anchor(ref), "label": ref}

    # --- matrix 1: PI types ----------------------------------------------------------------------
    def pi_matrix(self) -> list[dict[str, Any]]:
        docs = self.policy.get("documents") or []
        declared: dict[str, dict[str, list[dict[str, str]]]] = {}
        counts: dict[tuple[str, str], int] = {}
        for doc in docs:
            column = next((c for c, roles in DECLARED_COLUMNS if doc["role"] in roles), "policy")
            for entry in doc.get("pi_types") or []:
                if not entry["declared"]:
                    continue
                links = declared.setdefault(entry["pi_type"], {}).setdefault(column, [])
                for m in entry["mentions"]:
                    if m["declared"]:
                        counts[(entry["pi_type"], column)] = counts.get((entry["pi_type"], column), 0) + 1
                        if len(links) < CELL_CAP:
                            links.append(self.quote(doc, m["id"], m["quote"], m["where"]))
        observed: dict[str, dict[str, list[str]]] = {}
        for perm in self.facts.get("permissions") or []:
            if perm.get("applies", True):
                for pi in perm.get("pi_types") or []:
                    observed.setdefault(pi, {}).setdefault("permission", []).append(perm["id"])
        for call in self.facts.get("api_calls") or []:
            for pi in call.get("pi_types") or []:
                observed.setdefault(pi, {}).setdefault("api_call", []).append(call["id"])
        for use in (self.facts.get("miniprogram") or {}).get("api_uses") or []:
            for pi in use.get("pi_types") or []:
                observed.setdefault(pi, {}).setdefault("api_call", []).append(use["id"])
        for obs in (self.facts.get("traffic") or {}).get("observations") or []:
            phase = obs.get("phase")
            if phase in ("before_consent", "after_consent"):
                for m in claims(obs):
                    observed.setdefault(m["pi_type"], {}).setdefault(phase, []).append(obs["id"])
        status = {c["subject"].get("pi_type"): c["status"] for c in self.policy.get("comparisons") or [] if c["kind"] == "pi_undeclared"}
        rows = []
        for pi in sorted(set(declared) | set(observed)):
            dcells = []
            for column, _roles in DECLARED_COLUMNS:
                links = declared.get(pi, {}).get(column, [])
                dcells.append({"links": links, "more": max(0, counts.get((pi, column), 0) - len(links))})
            ocells = []
            for column in OBSERVED_COLUMNS:
                refs = sorted(set(observed.get(pi, {}).get(column, [])))
                kind = "observation" if column in ("before_consent", "after_consent") else column
                ocells.append({"links": [self.fact(r, kind) for r in refs[:CELL_CAP]], "more": max(0, len(refs) - CELL_CAP)})
            is_declared = pi in declared
            is_observed = pi in observed
            state = status.get(pi) or ("consistent" if is_declared and is_observed else "declared_only" if is_declared else "observed_only")
            rows.append({"pi": pi, "label": pi_label(pi, self.lang), "declared": dcells, "observed": ocells,
                         "state": state, "state_label": self.t("policy.state." + state)})
        return rows

    # --- matrix 2: SDKs --------------------------------------------------------------------------
    def sdk_matrix(self) -> list[dict[str, Any]]:
        comparisons = {(c["kind"], c["subject"].get("sdk_id")): c for c in self.policy.get("comparisons") or []}
        detected: dict[str, dict[str, Any]] = {}
        for sdk in self.facts.get("sdks") or []:
            if sdk.get("category") != "library":
                detected[sdk["sdk_id"]] = {"name": pick(sdk.get("name"), self.lang), "refs": [sdk["id"]]}
        for obs in (self.facts.get("traffic") or {}).get("observations") or []:
            party = obs.get("party") or {}
            if party.get("kind") == "sdk" and party.get("sdk_id"):
                entry = detected.setdefault(party["sdk_id"], {"name": party.get("sdk_name") or party["sdk_id"], "refs": []})
                entry["refs"].append(obs["id"])
        declared: dict[str, list[dict[str, str]]] = {}
        names: dict[str, str] = {}
        for doc in self.policy.get("documents") or []:
            for row in doc.get("sdks") or []:
                key = row["match"]["sdk_id"] if row.get("match") else "row:" + row["id"]
                names.setdefault(key, row.get("name") or row.get("operator") or key)
                declared.setdefault(key, []).append(self.quote(doc, row["id"], row.get("quote"), row.get("where")))
        for cmp in self.policy.get("comparisons") or []:
            if cmp["kind"] == "sdk_undeclared":
                for q in cmp["declared"]:
                    doc = next((d for d in self.policy.get("documents") or [] if d["id"] == q["document"]), None)
                    if doc is not None:
                        declared.setdefault("undeclared:" + cmp["subject"]["sdk_id"], []).append(
                            self.quote(doc, q["ref"], q["quote"], q["where"]))
        rows = []
        for key in sorted(set(detected) | {k for k in declared if not k.startswith("undeclared:")}):
            seen = detected.get(key)
            refs = sorted(set(seen["refs"])) if seen else []
            if ("sdk_undeclared", key) in comparisons:
                state = "undeclared" if comparisons[("sdk_undeclared", key)]["status"] == "mismatch" else "undecidable"
                decl_links = declared.get("undeclared:" + key, [])
            elif ("sdk_pi_wider", key) in comparisons:
                state = "wider" if comparisons[("sdk_pi_wider", key)]["status"] == "mismatch" else "undecidable"
                decl_links = declared.get(key, [])
            else:
                state = "consistent" if seen and key in declared else ("declared_only" if key in declared else "undeclared")
                decl_links = declared.get(key, [])
            rows.append({
                "sdk": key if not key.startswith("row:") else "",
                "name": seen["name"] if seen else names.get(key, key),
                "detected": [self.fact(r, "sdk" if r.startswith("sdk:") else "observation") for r in refs[:CELL_CAP]],
                "detected_more": max(0, len(refs) - CELL_CAP),
                "declared": decl_links[:CELL_CAP], "declared_more": max(0, len(decl_links) - CELL_CAP),
                "state": state, "state_label": self.t("policy.state." + state),
            })
        return rows

    # --- comparisons -------------------------------------------------------------------------------
    def comparisons(self) -> list[dict[str, Any]]:
        docs = {d["id"]: d for d in self.policy.get("documents") or []}
        out = []
        for cmp in self.policy.get("comparisons") or []:
            declared = [self.quote(docs[q["document"]], q["ref"], q["quote"], q["where"]) for q in cmp["declared"] if q["document"] in docs]
            observed = [self.fact(o["ref"], o["kind"]) for o in cmp["observed"]]
            out.append({"id": cmp["id"], "kind": self.t("policy.kind." + cmp["kind"]), "status": cmp["status"],
                        "status_label": self.t("policy.status." + cmp["status"]), "detail": self.detail(cmp),
                        "declared": declared, "observed": observed, "observed_more": max(0, cmp["observed_count"] - len(observed)),
                        "missing": list(cmp["missing"])})
        return out

    def detail(self, cmp: dict[str, Any]) -> str:
        """The comparison's one-line detail: the tool's English sentence in an English report; in
        Chinese, the kind and its subject (the comparison's key), so no English prose is shown."""
        if self.lang != "zh-CN":
            return str(cmp["detail"])
        subject = str(cmp["id"]).split(":", 2)[-1]
        return f"{self.t('policy.kind.' + cmp['kind'])}：{subject}"

    def build(self) -> dict[str, Any] | None:
        """The view model, or ``None`` when the result has no ``facts.policy``."""
        if not self.policy:
            return None
        docs = [{"id": d["id"], "title": d.get("title") or d["source"]["name"], "role": self.t.opt("policy.role." + d["role"], d["role"]),
                 "format": d["format"], "sha256": d["sha256"], "effective": d["dates"]["effective"] or "",
                 "updated": d["dates"]["updated"] or "", "source": d["source"]["name"]}
                for d in self.policy.get("documents") or []]
        pi_rows = self.pi_matrix()
        sdk_rows = self.sdk_matrix()
        comparisons = self.comparisons()
        missing_refs = [{"title": r["title"], "document": r["document"], "url": r.get("url") or ""}
                        for r in self.policy.get("references") or [] if not r["provided"]]
        return {
            "complete": bool(self.policy.get("complete")),
            "documents": docs,
            "declared_columns": [self.t("policy.col." + c) for c, _ in DECLARED_COLUMNS],
            "observed_columns": [self.t("policy.col." + c) for c in OBSERVED_COLUMNS],
            "pi_rows": pi_rows,
            "sdk_rows": sdk_rows,
            "comparisons": comparisons,
            "missing_refs": missing_refs,
            "quotes": [self.quotes[k] for k in sorted(self.quotes)],
            "evidence": [self.evidence[k] for k in sorted(self.evidence)],
        }


def policy_view(result: dict[str, Any], lang: str) -> dict[str, Any] | None:
    """The declared-vs-observed view model of ``result`` in ``lang`` (``None`` without ``facts.policy``)."""
    return PolicyView(result, lang).build()


def render_policy_section(result: dict[str, Any], lang: str = "zh-CN") -> str:
    """The section rendered alone with the report's Jinja environment (for tests and previews)."""
    from .html import environment

    t = Translator(labels(), lang)
    return environment().get_template("policy.html.j2").render(
        policy=policy_view(result, lang), t=t, colon="：" if lang == "zh-CN" else ": ")
