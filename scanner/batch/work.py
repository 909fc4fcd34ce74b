"""One batch scan: the same scan and outputs as ``piscan scan``, reduced to a summary for the store.

:func:`scan_job` runs in a worker (a local process, or a Dask worker); packs and collectors are
loaded once per process (:func:`scan_setup`) and reused for every job it runs. It never raises
for a bad input: the outcome says ``failed`` with the one-line reason, as ``piscan scan`` would
print it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import ExitCode, PiscanError
from .inputs import Job

PRE_CONSENT_LEVELS = ("reachable_before_consent",)


@dataclass(frozen=True)
class BatchOptions:
    """Options shared by every job of a batch (part of the scan key)."""

    formats: tuple[str, ...] = ("json", "html")
    lang: str = "zh-CN"
    reproducible: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain dict."""
        return {"formats": list(self.formats), "lang": self.lang, "reproducible": self.reproducible}


@cache
def packs_digest() -> str:
    """sha256 over every shipped pack and template (relative path and content): what a result depends on."""
    from ..resources import rules_dir, templates_dir

    digest = hashlib.sha256()
    for root in (rules_dir(), templates_dir()):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def scan_key(job: Job, options: BatchOptions) -> str:
    """What must be equal for an earlier scan of the same input to be reused."""
    text = "\n".join([__version__, packs_digest(), str(job.category), str(job.policy), ",".join(options.formats),
                      options.lang, str(options.reproducible)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@cache
def scan_setup() -> tuple[Any, list[Any]]:
    """The rule set and collectors, loaded once per process."""
    from ..rules.loader import load_packs
    from ..scan import default_collectors

    return load_packs([]), default_collectors()


def _utc(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """The store's view of a result: app row, SDKs, findings with legal items."""
    app = result.get("app") or {}
    label = app.get("label") or {}
    counts = {sev: 0 for sev in ("high", "medium", "low", "info")}
    findings = []
    for finding in result.get("findings") or []:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        party = finding.get("party") or {}
        findings.append({"id": finding["id"], "rule_id": finding["rule_id"], "severity": finding["severity"],
                         "evidence_level": finding.get("evidence_level"),
                         "party": party.get("sdk_id") or party.get("kind"),
                         "legal_refs": [{"doc": str(r.get("doc")), "item": str(r.get("item"))}
                                        for r in finding.get("legal_refs") or []]})
    sdks = [{"sdk_id": s.get("sdk_id") or s.get("id"), "name": (s.get("name") or {}).get("zh") or s.get("sdk_id"),
             "vendor": (s.get("vendor") or {}).get("zh"), "category": s.get("category")}
            for s in (result.get("facts") or {}).get("sdks") or []]
    pre_consent = any(f.get("evidence_level") in PRE_CONSENT_LEVELS or f.get("phase") == "before_consent"
                      for f in result.get("findings") or [])
    return {
        "app": {"platform": app.get("platform"), "package": app.get("package") or app.get("appid"),
                "name": label.get("zh-CN") or label.get("default") or app.get("name"),
                "version_name": app.get("version_name"), "version_code": app.get("version_code"),
                "sdk_count": len(sdks), "findings": len(findings), **counts,
                "manual_checks": len(result.get("manual_checks") or []),
                "limitations": len(result.get("limitations") or []), "pre_consent_pi": pre_consent},
        "sdks": sdks,
        "findings": findings,
    }


def _reproduce(job: Job, out_dir: Path, options: BatchOptions) -> list[str]:
    command = ["piscan", "scan", str(job.path), "-o", str(out_dir), "--format", ",".join(options.formats)]
    if job.category:
        command += ["--category", job.category]
    if job.policy:
        command += ["--policy", job.policy]
    if options.reproducible:
        command.append("--reproducible")
    return command


def scan_job(job_data: dict[str, Any], out_root: str, options_data: dict[str, Any], *,
             return_files: bool = False) -> dict[str, Any]:
    """Scan one job into ``out_root/<sha256>/`` (or return the files, for a remote worker)."""
    from ..commands.scan import write_outputs
    from ..scan import CaseInfo, run_scan

    job = Job.from_json(job_data)
    options = BatchOptions(tuple(options_data["formats"]), options_data["lang"], bool(options_data["reproducible"]))
    final = Path(out_root) / job.sha256
    work = Path(out_root) / f".{job.sha256}.partial-{os.getpid()}"
    started = time.time()
    outcome: dict[str, Any] = {"job": job.to_json(), "scan_key": scan_key(job, options), "tool_version": __version__,
                               "packs_digest": packs_digest(), "started_at": _utc(started),
                               "worker": f"{os.uname().nodename}:{os.getpid()}", "out_dir": job.sha256}
    shutil.rmtree(work, ignore_errors=True)
    try:
        ruleset, collectors = scan_setup()
        joiners: list[Any] = []
        if job.policy:
            from ..policy import parse_policy_spec
            from ..policy.joiner import PolicyJoiner

            role, path = parse_policy_spec(job.policy)
            joiners.append(PolicyJoiner([(role, Path(path))]))
        work.mkdir(parents=True)
        result = run_scan(job.path, collectors=collectors, joiners=joiners, ruleset=ruleset, out_dir=work,
                          command=_reproduce(job, final, options), case=CaseInfo(category=job.category),
                          reproducible=options.reproducible)
        write_outputs(result, work, options.formats, lang=options.lang, unmask=False)
        outcome.update(summarise(result))
        outcome.update(status="complete" if result.get("complete") else "incomplete", exit_code=int(ExitCode.OK), error=None)
        if return_files:
            outcome["files"] = {p.relative_to(work).as_posix(): p.read_bytes() for p in sorted(work.rglob("*")) if p.is_file()}
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(final, ignore_errors=True)
            os.replace(work, final)
    except PiscanError as exc:
        outcome.update(status="failed", exit_code=int(exc.exit_code), error=exc.line(), out_dir=None)
    except MemoryError:
        outcome.update(status="failed", exit_code=int(ExitCode.INPUT), error="memory limit exceeded", out_dir=None)
    except Exception as exc:  # noqa: BLE001 - one app's internal error is recorded; the batch goes on
        outcome.update(status="failed", exit_code=int(ExitCode.INTERNAL),
                       error=f"internal error: {type(exc).__name__}: {exc}", out_dir=None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finished = time.time()
    outcome.update(finished_at=_utc(finished), seconds=round(finished - started, 3))
    return outcome


def failed_outcome(job: Job, options: BatchOptions, reason: str, exit_code: int, started: float) -> dict[str, Any]:
    """The outcome of a job whose worker was stopped (time limit) or died (memory, crash)."""
    return {"job": job.to_json(), "scan_key": scan_key(job, options), "tool_version": __version__,
            "packs_digest": packs_digest(), "started_at": _utc(started), "finished_at": _utc(time.time()),
            "seconds": round(time.time() - started, 3), "status": "failed", "exit_code": exit_code, "error": reason,
            "out_dir": None, "worker": None}
