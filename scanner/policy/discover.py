"""Policy documents found without asking: inside the APK, and in a joined proxy session.

* **In the APK:** HTML, Markdown and text files under ``assets/`` and ``res/raw/`` whose text reads
  like a privacy document (the privacy dialog's full text is often bundled this way). Read with
  the bounded zip reader; recorded with ``source.kind = "apk_asset"`` and the entry name.
* **In a session:** responses the phone received that carry policy text (an HTML, text, Markdown
  or JSON page with the cues below). This is the text the user was actually shown, stronger
  evidence than a copy fetched later: recorded with ``source.kind = "traffic"``, the URL, the time
  the request started, the consent phase in force then, and the sha256 of the decoded body.

Nothing is fetched: a scan never goes to the network. Identical texts are kept once (first seen).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model.records import Limitation

#: words that make a text a candidate privacy document (its role is then recognised by extraction)
POLICY_CUES = re.compile(r"隐私政策|隐私保护指引|隐私权政策|个人信息保护政策|个人信息收集清单|第三方(SDK|sdk)|"
                         r"第三方共享清单|权限(申请|使用)说明|privacy policy|privacy notice", re.I)
_DOC_SUFFIXES = (".html", ".htm", ".xhtml", ".txt", ".md", ".markdown")
_DOC_PLACES = ("assets/", "res/raw/")
_CONTENT_TYPES = ("text/html", "text/plain", "text/markdown", "application/xhtml", "application/json")
MIN_BYTES = 800  #: shorter texts are dialogs' summaries or links, not documents
MAX_BYTES = 4 << 20  #: the policy readers' own limit is 8 MiB; a page larger than this is no policy


@dataclass(frozen=True)
class FoundDocument:
    """One candidate document: its bytes, the name it is read under and its source record."""

    name: str
    data: bytes
    source: dict[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def looks_like_policy(data: bytes) -> bool:
    """Whether a file's text reads like a privacy document (long enough, with a policy cue)."""
    if len(data) < MIN_BYTES:
        return False
    sample = data[:400_000]
    for encoding in ("utf-8", "gb18030"):
        try:
            return POLICY_CUES.search(sample.decode(encoding, "strict" if encoding == "utf-8" else "ignore")) is not None
        except UnicodeDecodeError:
            continue
    return False


def documents_in_apk(path: Path) -> tuple[list[FoundDocument], list[Limitation]]:
    """Policy-like documents under ``assets/`` and ``res/raw/`` of the app at ``path``: an APK, or
    every APK of a bundle (``.apks``/``.xapk``: ``split_x.apk!assets/...``) or every module of an
    App Bundle (``.aab``: ``assets/...`` of the base, ``pay!assets/...`` of a feature module)."""
    from ..apk.archive import open_apk
    from ..apk.zipread import EntryError
    from ..errors import InputError

    found: list[FoundDocument] = []
    limitations: list[Limitation] = []
    try:
        opened = open_apk(path)
    except InputError:  # not an app package (a mini-program), or unreadable: the scan says so elsewhere
        return [], []
    try:
        parts = [("", opened.archive), *((f"{split.name}!", split.archive) for split in opened.splits)]
        for prefix, archive in parts:
            if archive is None:
                continue
            for name in sorted(archive.names()):
                if not name.startswith(_DOC_PLACES) or not name.lower().endswith(_DOC_SUFFIXES):
                    continue
                shown = prefix + name
                try:
                    data = archive.read(name, max_bytes=MAX_BYTES)
                except EntryError as exc:
                    limitations.append(Limitation("policy_incomplete", f"a possible policy document was not read: {exc.message}",
                                                  shown))
                    continue
                if looks_like_policy(data):
                    found.append(FoundDocument(shown, data, {"kind": "apk_asset", "name": shown, "url": None, "time": None,
                                                             "phase": None}))
    finally:
        opened.close()
    return found, limitations


def documents_in_session(session_dir: Path) -> Iterator[FoundDocument]:
    """Responses of the session's ``flows.mitm`` that carry policy text, in capture order."""
    from datetime import datetime, timezone

    from mitmproxy import http
    from mitmproxy.io import FlowReader
    from mitmproxy.exceptions import FlowReadException

    from ..traffic.phases import PhaseTimeline
    from ..traffic.session import FLOWS_FILE, MARKS_FILE

    marks = []
    marks_path = session_dir / MARKS_FILE
    if marks_path.is_file():
        from .. import safejson

        for line in marks_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = safejson.loads(line)
            except ValueError:
                continue
            payload = record.get("payload", record) if isinstance(record, dict) else None
            if isinstance(payload, dict):
                marks.append(payload)
    timeline = PhaseTimeline(marks)
    flows = session_dir / FLOWS_FILE
    if not flows.is_file():
        return
    with open(flows, "rb") as handle:
        try:
            for flow in FlowReader(handle).stream():
                if not isinstance(flow, http.HTTPFlow) or flow.response is None:
                    continue
                ctype = (flow.response.headers.get("content-type") or "").lower()
                if not ctype.startswith(_CONTENT_TYPES):
                    continue
                body = flow.response.get_content(strict=False) or b""
                if len(body) > MAX_BYTES or not looks_like_policy(body):
                    continue
                started = flow.request.timestamp_start
                url = flow.request.pretty_url
                suffix = ".html" if "html" in ctype else ".md" if "markdown" in ctype else ".txt"
                yield FoundDocument(
                    name=(url.rsplit("/", 1)[-1].split("?")[0] or flow.request.host) + ("" if url.endswith(suffix) else suffix),
                    data=body,
                    source={"kind": "traffic", "name": url, "url": url,
                            "time": datetime.fromtimestamp(started, timezone.utc).isoformat().replace("+00:00", "Z"),
                            "phase": timeline.phase_at(started)})
        except (FlowReadException, ValueError, OSError):
            return  # a cut-off capture: verify reports it; the documents before the cut are kept


def extract_found(documents: list[FoundDocument]) -> tuple[list[dict[str, Any]], list[Limitation]]:
    """Read and extract each found document once (by sha256); one that cannot be read is a
    limitation, never an error of the scan."""
    from .extract import extract_document
    from .read import detect_format, parse_document

    out: list[dict[str, Any]] = []
    limitations: list[Limitation] = []
    seen: set[str] = set()
    for doc in documents:
        if doc.sha256 in seen:
            continue
        seen.add(doc.sha256)
        try:
            parsed = parse_document(doc.data, detect_format(doc.data, doc.name))
        except (ValueError, InputError) as exc:
            limitations.append(Limitation("policy_incomplete", f"a possible policy document could not be read: {exc}",
                                          doc.source["name"]))
            continue
        if not parsed.blocks:
            continue
        out.append(extract_document(parsed, doc.data, name=doc.name, source=doc.source))
    return out, limitations
