"""The case bundle: one signed zip holding a case folder's evidence, checkable years later.

``piscan bundle CASE_DIR -o case.zip`` gathers every regular file of the case folder (results,
reports, review files and attachments, proxy sessions, policy documents), the scanned inputs
(found by their sha256 in the result's provenance; only their hashes with ``--hash-only``) and the
rule and data packs the scan used, then writes ``manifest.json``: a signed envelope
(:mod:`scanner.keys`) listing the sha256 and size of every other file, and ``README.txt`` for the
reader. The zip is deterministic: sorted entries, fixed timestamps, no host data.

:func:`verify_bundle` checks the manifest's signature (by the expected key when one is given),
every file's hash, that nothing was added or removed, each proxy session's seals and each review
file's chain; with ``rescan`` it reruns the recorded scan on the bundled input and compares results.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import safejson
from .. import __version__
from ..errors import InputError
from ..keys import ExaminerKey, check_envelope
from .review import ATTACHMENTS_DIR, REVIEW_FILE, file_sha256, read_review

BUNDLE_FORMAT = "piscan-bundle/1"
MANIFEST = "manifest.json"
README = "README.txt"
MAX_FILES = 100_000  #: files in one bundle
MAX_MANIFEST_BYTES = 64 << 20
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20
_RESULT_NAME = "result.json"
_SESSION_MARKER = "session.json"
#: provenance fields a rescan may change without the findings changing (with --reproducible they are pinned)
VOLATILE = ("command", "reproduce", "started_at", "finished_at", "host")


@dataclass(frozen=True)
class BundledFile:
    """One file in the bundle: its path in the zip, where it came from, hash, size and role."""

    path: str
    source: Path
    sha256: str
    size: int
    role: str

    def to_json(self) -> dict[str, Any]:
        """Manifest entry."""
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "role": self.role}


def _role(relative: str, session_roots: set[str]) -> str:
    parts = relative.split("/")
    name = parts[-1]
    if any(relative.startswith(root + "/") for root in session_roots):
        return "session"
    if name == _RESULT_NAME:
        return "result"
    if name == REVIEW_FILE:
        return "review"
    if ATTACHMENTS_DIR in parts[:-1]:
        return "attachment"
    if name.endswith((".html", ".pdf", ".sarif", ".sarif.json", ".sig")):
        return "report"
    return "file"


def _case_files(case_dir: Path, exclude: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``case_dir`` (sorted, relative posix path); symlinks and special files refused."""
    count = 0
    for root, dirs, files in os.walk(case_dir):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if (Path(root) / d).is_symlink()]:
            path = Path(root) / name
            if path.resolve() == exclude:
                continue
            if path.is_symlink() or not path.is_file():
                raise InputError("not a regular file (a link, FIFO or device); a bundle holds regular files only", path)
            count += 1
            if count > MAX_FILES:
                raise InputError(f"more than {MAX_FILES} files; bundle a narrower folder", case_dir)
            yield path.relative_to(case_dir).as_posix(), path


def _command_paths(result: dict[str, Any]) -> list[Path]:
    command = result.get("provenance", {}).get("command") or []
    return [Path(arg) for arg in command[1:] if isinstance(arg, str) and not arg.startswith("-")]


def _find_input(wanted: str, candidates: Iterable[Path], cache: dict[Path, str]) -> Path | None:
    for candidate in candidates:
        try:
            if not candidate.is_file():
                continue
            if candidate not in cache:
                cache[candidate] = file_sha256(candidate)[0]
        except OSError:
            continue
        if cache[candidate] == wanted:
            return candidate
    return None


def _pack_files() -> list[Path]:
    from ..resources import rules_dir

    root = rules_dir()
    return sorted(p for p in root.rglob("*.yaml") if p.is_file())


@dataclass
class BundlePlan:
    """What :func:`build_bundle` will write."""

    files: list[BundledFile] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    packs: list[dict[str, Any]] = field(default_factory=list)
    results: list[str] = field(default_factory=list)


def plan_bundle(case_dir: Path, *, out: Path, hash_only: bool = False, extra_inputs: Sequence[Path] = ()) -> BundlePlan:
    """Decide the bundle's contents (nothing is written)."""
    if not case_dir.is_dir():
        raise InputError("not a folder; give the case folder holding result.json", case_dir)
    plan = BundlePlan()
    listed = list(_case_files(case_dir, out.resolve()))
    session_roots = {posixpath.dirname(rel) or "." for rel, _ in listed if posixpath.basename(rel) == _SESSION_MARKER}
    for relative, path in listed:
        digest, size = file_sha256(path)
        plan.files.append(BundledFile(f"case/{relative}", path, digest, size, _role(relative, session_roots)))
    by_hash = {f.sha256: f.path for f in plan.files}
    plan.results = [f.path for f in plan.files if f.role == "result"]
    if not plan.results:
        raise InputError("no result.json in this folder; run `piscan scan … -o` into it first", case_dir)
    hashes: dict[Path, str] = {}
    seen_inputs: set[str] = set()
    used_packs: dict[str, dict[str, Any]] = {}
    for bundled in [f for f in plan.files if f.role == "result"]:
        try:
            result = safejson.loads(bundled.source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"not a readable PIScan result: {exc}", bundled.source) from None
        provenance = result.get("provenance", {})
        for item in provenance.get("inputs", []):
            digest = str(item.get("sha256", ""))
            if digest in seen_inputs:
                continue
            seen_inputs.add(digest)
            entry = {"role": item.get("role"), "name": item.get("name"), "sha256": digest, "size": item.get("size")}
            if digest in by_hash:
                entry.update(included=True, path=by_hash[digest])
            elif hash_only:
                entry.update(included=False, reason="--hash-only")
            else:
                found = _find_input(digest, [*extra_inputs, *_command_paths(result)], hashes)
                if found is None:
                    entry.update(included=False, reason="not found (give it with --input)")
                else:
                    name = f"inputs/{digest[:12]}-{Path(str(item.get('name') or found.name)).name}"
                    plan.files.append(BundledFile(name, found, digest, found.stat().st_size, "input"))
                    entry.update(included=True, path=name)
            plan.inputs.append(entry)
        for pack in provenance.get("packs", []):
            used_packs.setdefault(str(pack.get("sha256")), dict(pack))
    pack_hashes = {file_sha256(p)[0]: p for p in _pack_files()}
    for digest, pack in sorted(used_packs.items(), key=lambda kv: str(kv[1].get("id"))):
        source = pack_hashes.get(digest)
        if source is not None:
            name = f"packs/{source.name}"
            plan.files.append(BundledFile(name, source, digest, source.stat().st_size, "pack"))
            pack.update(included=True, path=name)
        else:
            pack.update(included=False, reason="not a pack shipped with this PIScan version")
        plan.packs.append(pack)
    plan.files.sort(key=lambda f: f.path)
    return plan


def _readme(plan: BundlePlan, key: ExaminerKey, created: str) -> str:
    lines = [
        "PIScan case bundle",
        "==================",
        "",
        f"Made by PIScan {__version__} at {created}; signed by {key.fingerprint}.",
        "",
        "manifest.json is a signed envelope: its payload lists the sha256 and size of every other",
        "file in this zip. The signature (Ed25519) covers the payload as sorted-key compact UTF-8 JSON.",
        "To check everything:  piscan verify THIS.zip --fingerprint " + key.fingerprint,
        "Without PIScan: recompute each file's sha256 and compare with the manifest, and check the",
        "signature with any Ed25519 implementation (public key in the envelope, base64).",
        "",
        "case/     the case folder as bundled (results, reports, verdicts, attachments, sessions)",
        "inputs/   the scanned inputs (absent when bundled with --hash-only; their hashes are listed)",
        "packs/    the rule and data packs the scan used",
        "",
        "Results: " + ", ".join(plan.results),
    ]
    return "\n".join(lines) + "\n"


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _copy_into(archive: zipfile.ZipFile, name: str, source: Path, expected: str) -> None:
    digest = hashlib.sha256()
    with open(source, "rb") as handle, archive.open(_zip_info(name), "w", force_zip64=True) as sink:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            sink.write(chunk)
    if digest.hexdigest() != expected:
        raise InputError("changed while the bundle was written; bundle again", source)


def build_bundle(case_dir: Path, out: Path, key: ExaminerKey, *, hash_only: bool = False,
                 extra_inputs: Sequence[Path] = (), now: float | None = None) -> dict[str, Any]:
    """Write the bundle to ``out`` (atomically) and return the manifest payload."""
    plan = plan_bundle(case_dir, out=out, hash_only=hash_only, extra_inputs=extra_inputs)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = now if now is not None else (float(epoch) if epoch and epoch.isdigit() else time.time())
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
    readme = _readme(plan, key, created).encode("utf-8")
    entries = [f.to_json() for f in plan.files]
    entries.append({"path": README, "sha256": hashlib.sha256(readme).hexdigest(), "size": len(readme), "role": "readme"})
    entries.sort(key=lambda e: e["path"])
    payload = {"format": BUNDLE_FORMAT, "tool_version": __version__, "created": created, "case": case_dir.resolve().name,
               "results": plan.results, "inputs": plan.inputs, "packs": plan.packs, "files": entries}
    manifest = json.dumps(key.envelope(payload), ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            archive.writestr(_zip_info(MANIFEST), manifest)
            archive.writestr(_zip_info(README), readme)
            for bundled in plan.files:
                _copy_into(archive, bundled.path, bundled.source, bundled.sha256)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return payload


@dataclass
class BundleVerification:
    """What :func:`verify_bundle` found."""

    files: int = 0
    fingerprint: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        return {"ok": self.ok, "files": self.files, "fingerprint": self.fingerprint,
                "problems": list(self.problems), "notes": list(self.notes)}


def _safe_name(name: str) -> bool:
    return not (name.startswith("/") or "\\" in name or any(part in ("", "..") for part in name.split("/")))


def _entry_sha256(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with archive.open(info) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _open_bundle(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip: {exc}", path) from None


def read_manifest(archive: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    """The manifest envelope of an open bundle; ``InputError`` when it is missing or unreadable."""
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise InputError("no manifest.json: not a PIScan case bundle", path) from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise InputError("manifest.json is implausibly large", path)
    try:
        envelope = safejson.loads(archive.read(info))
    except (ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"manifest.json is not JSON: {exc}", path) from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        raise InputError("manifest.json is not a signed PIScan manifest", path)
    checked: dict[str, Any] = envelope
    return checked


def _extract(archive: zipfile.ZipFile, names: Iterable[str], prefix: str, target: Path) -> None:
    for name in names:
        relative = name[len(prefix):]
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(name) as source, open(destination, "wb") as sink:
            while chunk := source.read(_CHUNK):
                sink.write(chunk)


def verify_bundle(path: Path, *, expected_fingerprint: str | None = None, rescan: bool = False) -> BundleVerification:
    """Check a bundle: signature, every file's hash, nothing added or removed, sessions, review chains."""
    report = BundleVerification()
    with _open_bundle(path) as archive:
        envelope = read_manifest(archive, path)
        why = check_envelope(envelope, expected_fingerprint=expected_fingerprint)
        report.fingerprint = envelope.get("fingerprint")
        if why:
            report.problems.append(f"manifest.json: {why}")
        payload = envelope["payload"]
        if payload.get("format") != BUNDLE_FORMAT:
            report.problems.append(f"manifest.json: not a {BUNDLE_FORMAT} manifest")
            return report
        infos = archive.infolist()
        if len(infos) > MAX_FILES + 2:
            raise InputError(f"more than {MAX_FILES} entries", path)
        names = [i.filename for i in infos]
        duplicates = sorted({n for n in names if names.count(n) > 1}) if len(set(names)) != len(names) else []
        for name in duplicates:
            report.problems.append(f"{name}: appears more than once in the zip")
        by_name = {i.filename: i for i in infos}
        listed = {str(e.get("path")): e for e in payload.get("files", []) if isinstance(e, dict)}
        for name in sorted(set(by_name) - set(listed) - {MANIFEST}):
            if name.endswith("/") and by_name[name].file_size == 0:
                continue  # a folder entry (zip tools add them); it holds nothing
            report.problems.append(f"{name}: in the zip but not in the manifest (added after signing)")
        for name, entry in sorted(listed.items()):
            if not _safe_name(name):
                report.problems.append(f"{name}: unsafe path in the manifest")
                continue
            info = by_name.get(name)
            if info is None:
                report.problems.append(f"{name}: listed in the manifest but missing from the zip")
                continue
            digest = _entry_sha256(archive, info)
            if digest != entry.get("sha256") or info.file_size != entry.get("size"):
                report.problems.append(f"{name}: changed (sha256 {digest[:16]}…, manifest {str(entry.get('sha256'))[:16]}…)")
            report.files += 1
        for item in payload.get("inputs", []):
            if not item.get("included"):
                report.notes.append(f"input {item.get('name')} (sha256 {item.get('sha256')}) not in the bundle: "
                                    f"{item.get('reason', 'hash only')}")
        safe = [n for n in listed if _safe_name(n) and n in by_name]
        with tempfile.TemporaryDirectory(prefix="piscan-verify-") as tmp:
            _check_parts(archive, safe, listed, Path(tmp), expected_fingerprint, report)
            if rescan:
                _rescan(archive, payload, safe, Path(tmp) / "rescan", report)
    return report


def _check_parts(archive: zipfile.ZipFile, names: list[str], listed: dict[str, Any], tmp: Path,
                 expected: str | None, report: BundleVerification) -> None:
    from ..traffic.verify import verify_session

    sessions = sorted(posixpath.dirname(n) for n in names if posixpath.basename(n) == _SESSION_MARKER)
    for root in sessions:
        target = tmp / "sessions" / root
        _extract(archive, [n for n in names if n.startswith(root + "/")], root + "/", target)
        checked = verify_session(target, expected_fingerprint=expected)
        if checked.ok:
            report.notes.append(f"{root}: session seals verify ({checked.flows} flows)")
        else:
            report.problems += [f"{root}: {p.text()}" for p in checked.problems]
    for name in sorted(n for n in names if posixpath.basename(n) == REVIEW_FILE):
        folder = posixpath.dirname(name)
        wanted = [n for n in names if posixpath.dirname(n) == folder and posixpath.basename(n) in (REVIEW_FILE, _RESULT_NAME)]
        wanted += [n for n in names if n.startswith(f"{folder}/{ATTACHMENTS_DIR}/")]
        target = tmp / "reviews" / folder
        _extract(archive, wanted, folder + "/", target)
        state = read_review(target / _RESULT_NAME, expected_fingerprint=expected)
        if state.ok:
            report.notes.append(f"{name}: {state.records} verdict records verify")
        report.problems += [f"{folder}/{p}" for p in state.problems]


def result_difference(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level paths where two results differ, volatile provenance fields aside."""
    def strip(result: dict[str, Any]) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(result))
        for key in VOLATILE:
            copy.get("provenance", {}).pop(key, None)
        return copy

    a, b = strip(old), strip(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def _rescan(archive: zipfile.ZipFile, payload: dict[str, Any], names: list[str], tmp: Path,
            report: BundleVerification) -> None:
    """Rerun each bundled result's recorded ``piscan scan`` on the bundled input and compare."""
    inputs = {str(i.get("sha256")): str(i.get("path")) for i in payload.get("inputs", []) if i.get("included")}
    for result_name in payload.get("results", []):
        if result_name not in names:
            continue
        original = archive.read(result_name)
        result = safejson.loads(original)
        provenance = result.get("provenance", {})
        command = list(provenance.get("command") or [])
        if command[:2] != ["piscan", "scan"] or not provenance.get("inputs"):
            report.notes.append(f"{result_name}: no recorded `piscan scan` command to rerun")
            continue
        primary = provenance["inputs"][0]
        source = inputs.get(str(primary.get("sha256")))
        if source is None or source not in names:
            report.problems.append(f"{result_name}: --rescan needs the input {primary.get('name')}, which is not in the bundle")
            continue
        work = tmp / hashlib.sha256(result_name.encode()).hexdigest()[:12]
        argv = _rerun_argv(command, work, archive, source, Path(str(primary.get("name") or "input")).name)
        if argv is None:
            report.notes.append(f"{result_name}: the recorded command joins other inputs (session, policy); "
                                "rescan reruns static scans only")
            continue
        done = subprocess.run([sys.executable, "-m", "scanner.cli", *argv], cwd=work, capture_output=True, text=True)
        produced = work / "out" / _RESULT_NAME
        if done.returncode not in (0, 1) or not produced.is_file():
            report.problems.append(f"{result_name}: the rescan failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
            continue
        fresh = produced.read_bytes()
        if fresh == original:
            report.notes.append(f"{result_name}: rescan gives a byte-identical result")
            continue
        differs = result_difference(result, safejson.loads(fresh))
        if differs:
            report.problems.append(f"{result_name}: the rescan's result differs in: {', '.join(differs)}")
        else:
            report.notes.append(f"{result_name}: rescan gives the same result apart from the recorded command, times "
                                "and host (the scan was not run with --reproducible from the same paths)")


_JOIN_OPTIONS = {"--session", "--policy"}


def _rerun_argv(command: list[str], work: Path, archive: zipfile.ZipFile, source: str, name: str) -> list[str] | None:
    """The recorded scan's arguments with the input and output paths moved into ``work``."""
    args = command[2:]
    if any(a in _JOIN_OPTIONS or a.split("=", 1)[0] in _JOIN_OPTIONS for a in args):
        return None
    target = work / "input" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(source) as packed, open(target, "wb") as sink:
        while chunk := packed.read(_CHUNK):
            sink.write(chunk)
    rebuilt: list[str] = []
    skip_next = False
    placed = False
    for index, arg in enumerate(args):
        if skip_next:
            skip_next = False
            continue
        if arg in ("-o", "--output", "--out"):
            rebuilt += [arg, "out"]
            skip_next = True
        elif arg.startswith("--output="):
            rebuilt.append("--output=out")
        elif not arg.startswith("-") and not placed and (index == 0 or not args[index - 1].startswith("-")
                                                         or args[index - 1] in ("--reproducible", "--strict", "--quiet")):
            rebuilt.append(str(target))
            placed = True
        else:
            rebuilt.append(arg)
    if not placed:
        return None
    if "-o" not in rebuilt and "--output" not in rebuilt:
        rebuilt += ["-o", "out"]
    if "--format" not in rebuilt:
        rebuilt += ["--format", "json"]
    return ["scan", *rebuilt]


__all__ = ["build_bundle", "verify_bundle", "plan_bundle", "read_manifest", "result_difference",
           "BundleVerification", "BUNDLE_FORMAT", "MANIFEST"]
