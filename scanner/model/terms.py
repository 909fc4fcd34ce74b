"""The closed vocabularies of the result model, from their one home ``rules/model.yaml``.

Severities (strongest first, with their SARIF mapping), platforms, evidence levels (weakest
first), legal documents (in report order, with their nature and effective date) and document
natures. The schemas take their enums from here (:func:`scanner.schema.vocabulary_defs`), the
report labels ``severity.*``, ``platform.*``, ``evidence_level.*``, ``doc.*`` and
``doc_nature.*`` are made from here (:func:`label_rows`), and the rule engine, renderers and docs
generator read order and ranks from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..datapack import DataFile, DataKind, load, unique
from ..resources import rules_dir

MODEL_FILE = "model.yaml"


@dataclass(frozen=True)
class Term:
    """One member of a closed vocabulary, with its labels."""

    id: str
    zh: str
    en: str

    def label(self, lang: str) -> str:
        """The label in ``lang`` (``zh-CN`` or ``en``)."""
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Severity(Term):
    """A finding severity; ``rank`` 0 is the strongest."""

    rank: int
    sarif: str
    security_severity: str


@dataclass(frozen=True)
class EvidenceLevel(Term):
    """How strong a finding's evidence is: ``kind`` says what it shows (a declaration, a
    capability of the code, or conduct observed), ``max_severity`` caps the finding's severity."""

    kind: str
    max_severity: str


@dataclass(frozen=True)
class LegalDocument(Term):
    """A legal document findings cite."""

    nature: str
    identifier: str | None
    effective: str | None
    verification: str
    order: int
    #: how its items are cited: ``article`` (第十三条), ``part_item`` (第三部分第1项), ``item`` (第1项),
    #: ``clause`` (第6.3条) or ``as_is``; by default from its nature
    cite: str = "as_is"

    @property
    def recommended(self) -> bool:
        """Whether it is a recommended (not binding by itself) standard or guide."""
        return self.nature in ("recommended_national_standard", "practice_guide", "group_standard")


@dataclass(frozen=True)
class Terms:
    """Every closed vocabulary of the model."""

    version: str
    sha256: str
    severities: tuple[Severity, ...]
    platforms: tuple[Term, ...]
    evidence_levels: tuple[EvidenceLevel, ...]
    documents: tuple[LegalDocument, ...]
    natures: tuple[Term, ...]

    @property
    def severity_ids(self) -> tuple[str, ...]:
        """Severity ids, strongest first."""
        return tuple(s.id for s in self.severities)

    @property
    def platform_ids(self) -> tuple[str, ...]:
        """Platform ids."""
        return tuple(p.id for p in self.platforms)

    @property
    def evidence_level_ids(self) -> tuple[str, ...]:
        """Evidence level ids, weakest first."""
        return tuple(e.id for e in self.evidence_levels)

    def evidence_level(self, level_id: str) -> EvidenceLevel:
        """One evidence level; ``KeyError`` when unknown."""
        for level in self.evidence_levels:
            if level.id == level_id:
                return level
        raise KeyError(level_id)

    def capped_severity(self, severity: str, level_id: str) -> str:
        """``severity``, lowered to what evidence of ``level_id`` can carry (its ``max_severity``)."""
        cap = self.severity(self.evidence_level(level_id).max_severity)
        return cap.id if self.severity(severity).rank < cap.rank else severity

    @property
    def document_ids(self) -> tuple[str, ...]:
        """Legal document ids, in report order."""
        return tuple(d.id for d in self.documents)

    def severity(self, severity_id: str) -> Severity:
        """The severity ``severity_id`` (``KeyError`` when unknown)."""
        for sev in self.severities:
            if sev.id == severity_id:
                return sev
        raise KeyError(severity_id)

    def document(self, doc_id: str) -> LegalDocument | None:
        """The legal document ``doc_id``, or ``None``."""
        for doc in self.documents:
            if doc.id == doc_id:
                return doc
        return None

    def doc_rank(self, doc_id: str) -> tuple[int, str]:
        """Sort key of a document id: report order first, unknown ids after, alphabetically."""
        doc = self.document(doc_id)
        return (doc.order, doc_id) if doc is not None else (len(self.documents), doc_id)

    def label_rows(self) -> dict[str, dict[str, str]]:
        """Report labels made from the vocabularies: ``severity.high`` -> {zh-CN, en}, ..."""
        rows: dict[str, dict[str, str]] = {}
        for prefix, members in (("severity", self.severities), ("platform", self.platforms),
                                ("evidence_level", self.evidence_levels), ("doc", self.documents),
                                ("doc_nature", self.natures)):
            for term in members:
                rows[f"{prefix}.{term.id}"] = {"zh-CN": term.zh, "en": term.en}
        return rows


def _term(row: dict[str, Any]) -> Term:
    return Term(row["id"], row["zh-CN"], row["en"])


_DEFAULT_CITE = {"law": "article", "administrative_regulation": "article", "judicial_interpretation": "article",
                 "departmental_rule": "article", "national_standard": "clause", "recommended_national_standard": "clause"}


def build_terms(source: DataFile) -> Terms:
    """Build :class:`Terms` from the checked ``model.yaml`` data."""
    data = source.data
    for section in ("severities", "platforms", "evidence_levels", "documents", "document_natures"):
        unique(data[section], "id", section)
    natures = {row["id"] for row in data["document_natures"]}
    severities = [row["id"] for row in data["severities"]]
    for index, row in enumerate(data["evidence_levels"]):
        if row["max_severity"] not in severities:
            from ..datapack import DataError

            raise DataError(["evidence_levels", index, "max_severity"], f"{row['max_severity']!r} is not a severities id")
    for index, row in enumerate(data["documents"]):
        if row["nature"] not in natures:
            from ..datapack import DataError

            raise DataError(["documents", index, "nature"], f"{row['nature']!r} is not a document_natures id")
    return Terms(
        version=source.version,
        sha256=source.sha256,
        severities=tuple(Severity(r["id"], r["zh-CN"], r["en"], rank, r["sarif"], r["security_severity"])
                         for rank, r in enumerate(data["severities"])),
        platforms=tuple(_term(r) for r in data["platforms"]),
        evidence_levels=tuple(EvidenceLevel(r["id"], r["zh-CN"], r["en"], r["kind"], r["max_severity"])
                              for r in data["evidence_levels"]),
        documents=tuple(LegalDocument(r["id"], r["zh-CN"], r["en"], r["nature"], r.get("identifier"), r.get("effective"),
                                      r["verification"], order, r.get("cite") or _DEFAULT_CITE.get(r["nature"], "as_is"))
                          for order, r in enumerate(data["documents"])),
        natures=tuple(_term(r) for r in data["document_natures"]),
    )


MODEL_KIND: DataKind[Terms] = DataKind(
    name="model", title="result-model vocabulary", schema="model.schema.json", build=build_terms,
    keys=frozenset({"severities", "platforms", "documents"}),
)


@cache
def terms() -> Terms:
    """The shipped vocabularies (loaded once per process)."""
    return load(MODEL_KIND, rules_dir() / MODEL_FILE)
