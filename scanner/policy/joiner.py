"""The privacy-policy joiner: the documents the examiner gives (``piscan scan APP --policy PATH``)
read, extracted and held against the facts collected so far (``facts.policy``).

It runs after the proxy-session joiner, so the comparison sees the traffic too. Every document
is a provenance input with its digests; the lexicon is a recorded pack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hashing import digest_file
from ..model.collector import FactBundle, Progress
from ..model.records import Limitation


@dataclass(frozen=True)
class PolicyJoiner:
    """Joins the declared side: privacy policy, SDK list, PI list, permission list."""

    #: (role or None to recognise it from the content, path), in the order given
    documents: Sequence[tuple[str | None, Path]]
    name: str = "privacy-policy"
    apk: Path | None = None  #: the scanned APK: policy documents in its assets are read too
    session: Path | None = None  #: the joined proxy session: policy pages the phone received are read too

    def join(self, result: Mapping[str, Any], progress: Progress) -> FactBundle:
        """``facts.policy`` with the documents (given, found in the APK, received in the session),
        the comparisons and the limitations they imply; nothing when there is no document at all."""
        from . import load_policy
        from .compare import policy_facts, policy_limitations
        from .discover import documents_in_apk, documents_in_session, extract_found
        from .lexicon import default_lexicon

        docs, inputs = [], []
        for role, path in self.documents:
            progress(f"reading privacy-policy document {path.name}")
            docs.append(load_policy(path, role, source={"kind": "file", "name": path.name}))
            inputs.append({"role": f"policy:{docs[-1]['role']}", "name": path.name, **digest_file(path)})
        found, limitations = [], []
        if self.apk is not None and self.apk.is_file():
            progress("looking for policy documents inside the APK")
            found, limitations = documents_in_apk(self.apk)
        if self.session is not None:
            progress("looking for policy pages in the proxy session")
            found += list(documents_in_session(self.session))
        extracted, more = extract_found(found)
        given = {d["sha256"] for d in docs}
        docs += [d for d in extracted if d["sha256"] not in given]
        limitations += more
        if not docs:
            return FactBundle(limitations=limitations)
        policy = policy_facts(dict(result), docs)
        lexicon = default_lexicon()
        return FactBundle(
            sections={"policy": policy},
            inputs=inputs,
            limitations=[*limitations,
                         *(Limitation(lim["kind"], lim["detail"], lim.get("where")) for lim in policy_limitations(policy))],
            packs=[{"id": "policy-lexicon", "kind": "vocabulary", "version": lexicon.version, "sha256": lexicon.sha256}],
        )
