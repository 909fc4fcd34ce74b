"""Collect the facts of a WeChat mini-program: unpack (and decrypt) its packages, read its
declarations, find privacy-API use in JS and PI components in WXML, attribute code to the app,
the WeChat base library or a bundled SDK.

Entry point: :func:`collect_miniprogram`. The output follows docs/result-format.md (``app``
block, ``facts.miniprogram``, ``facts.sdks`` when an SDK is recognised, provenance inputs).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..budgets import budgets
from ..errors import InputError
from ..safeio import OverBudget, read_regular
from ..hashing import digest_file
from ..model.records import Limitation
from .code_facts import CodeFacts
from .config import MiniProgramConfig, parse_config, parse_json_file
from .decrypt import check_wxid, decrypt_pc_wxapkg, is_pc_encrypted, wxid_from_path
from .jsapi import scan_js
from .privacy_apis import PACK_ID, privacy_table
from .wxapkg import unpack_wxapkg
from .bindings import BindingResolver
from .wxml import is_compiled_wxml, scan_compiled_wxml, scan_wxml

PLATFORM = "wechat-miniprogram"
# node_modules is never shipped (WeChat builds npm packages into miniprogram_npm/).
SKIP_DIRS = frozenset({".git", ".svn", ".hg", ".idea", ".vscode", "node_modules"})
APP_CONFIG_FILES = ("app.json", "app-config.json", "game.json", "manifest.json", "ext.json")
COMPILED_WXML_FILES = frozenset({"app-wxss.js", "page-frame.js", "page-frame.html"})
_SAFE_NAME = re.compile(r"[^\w.-]+")


@dataclass(frozen=True)
class Package:
    """One input package (main, subpackage or source tree) and its files in memory."""

    name: str
    role: str
    encrypted: bool
    files: dict[str, bytes]
    input_row: dict[str, Any]


@dataclass(frozen=True)
class MiniProgramFacts:
    """What the lead merges into the result: app block, fact sections, inputs, limitations."""

    app: dict[str, Any]
    sections: dict[str, Any]
    inputs: list[dict[str, Any]]
    limitations: list[Limitation]
    packs: list[dict[str, str]] = field(default_factory=list)


def _read_tree(root: Path) -> tuple[dict[str, bytes], list[Limitation], dict[str, Any]]:
    """Files of a source tree (no symlinks followed) and a provenance row whose digests are those
    of the tree's sha256 manifest (``<sha256>  <DIR>/<path>`` lines sorted by path)."""
    files: dict[str, bytes] = {}
    limitations: list[Limitation] = []
    manifest: list[tuple[str, str]] = []
    size = 0
    limits = budgets()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        base = Path(dirpath)
        for link in [d for d in dirnames if (base / d).is_symlink()]:
            dirnames.remove(link)
            rel = (base / link).relative_to(root).as_posix()
            limitations.append(Limitation(kind="unsafe_path", detail="symbolic link not followed", where=rel))
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                limitations.append(Limitation(kind="unsafe_path", detail="symbolic link not followed", where=rel))
                continue
            try:
                data = read_regular(path, min(limits.file_bytes, max(limits.tree_bytes - size, 0)), shown=rel,
                                    follow_symlinks=False)
            except OverBudget as exc:
                limitations.append(Limitation(kind="over_budget", detail=exc.message, where=rel))
                continue
            except InputError as exc:  # a FIFO, device or socket (never opened for reading), or unreadable
                limitations.append(Limitation(kind="entry_unreadable", detail=exc.message, where=rel))
                continue
            files[rel] = data
            size += len(data)
            manifest.append((f"{root.name}/{rel}", hashlib.sha256(data).hexdigest()))
    # Same text as `find DIR -type f | LC_ALL=C sort | xargs sha256sum` run beside DIR, so the
    # tree hash can be reproduced with coreutils (and matches the corpus MANIFEST convention).
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(manifest)).encode("utf-8")
    row = {
        "size": size,
        "sha256": hashlib.sha256(text).hexdigest(),
        "sha1": hashlib.sha1(text).hexdigest(),  # noqa: S324 - identification only
        "md5": hashlib.md5(text).hexdigest(),  # noqa: S324 - identification only
    }
    return files, limitations, row


def _unique_name(stem: str, used: set[str]) -> str:
    name = _SAFE_NAME.sub("_", stem).strip("._") or "package"
    candidate, n = name, 2
    while candidate in used:
        candidate, n = f"{name}-{n}", n + 1
    used.add(candidate)
    return candidate


def _load_package(
    path: Path, role: str, wxid: str | None, unpack_dir: Path, used: set[str]
) -> tuple[Package, list[Limitation], str | None]:
    """Read one input; returns the package, its limitations and the wxid used to decrypt it."""
    if path.is_dir():
        files, limitations, digest = _read_tree(path)
        row = {"role": "source-tree" if role == "wxapkg" else role, "name": path.name, **digest}
        return Package(path.name, row["role"], False, files, row), limitations, None
    if not path.exists() and not path.is_symlink():
        raise InputError("no such file or folder", path)
    data = read_regular(path, budgets().entry_bytes)  # InputError: not a regular file, over budget
    used_wxid = None
    encrypted = is_pc_encrypted(data)
    if encrypted:
        used_wxid = wxid or wxid_from_path(path.absolute())
        if used_wxid is None:
            raise InputError(
                "PC-encrypted wxapkg (V1MMWX): pass --wxid with the mini-program id (wx…) to decrypt it", path
            )
        data = decrypt_pc_wxapkg(data, check_wxid(used_wxid), path)
    stem = path.name[: -len(".wxapkg")] if path.name.endswith(".wxapkg") else path.name
    name = _unique_name(stem, used)
    unpacked = unpack_wxapkg(data, unpack_dir, name, path)
    row = {"role": role, "name": path.name, **digest_file(path)}
    return Package(name, role, encrypted, unpacked.files, row), list(unpacked.limitations), used_wxid


def _config_prefix(files: dict[str, bytes]) -> str:
    """Where app.json lives in a source tree (``miniprogramRoot`` of project.config.json)."""
    project = files.get("project.config.json")
    if project is not None:
        try:
            value = parse_json_file(project)
        except (ValueError, UnicodeDecodeError):
            value = {}
        root = value.get("miniprogramRoot") if isinstance(value, dict) else None
        if isinstance(root, str) and root.strip("./"):
            prefix = root.strip("/").removeprefix("./") + "/"
            if any(f"{prefix}{n}" in files for n in ("app.json", "game.json")):
                return prefix
    return ""


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _load_inputs(
    path: Path, wxid: str | None, subpackages: Sequence[Path], unpack_dir: Path
) -> tuple[list[Package], list[Limitation], str | None]:
    """Load the main input and the subpackages; the wxid that decrypted any of them, if one did."""
    used_names: set[str] = set()
    main, limitations, used_wxid = _load_package(Path(path), "wxapkg", wxid, unpack_dir, used_names)
    packages = [main]
    for sub in subpackages:
        package, lims, sub_wxid = _load_package(Path(sub), "subpackage", wxid or used_wxid, unpack_dir, used_names)
        packages.append(package)
        limitations += lims
        used_wxid = used_wxid or sub_wxid
    return packages, limitations, used_wxid


def _scan_files(files: dict[str, bytes], prefix: str, code: CodeFacts,
                encodings: dict[str, str]) -> list[Limitation]:
    """Scan every JS and (source or compiled) WXML file under ``prefix`` once, into ``code``;
    JS files not in UTF-8 are recorded in ``encodings``."""
    limitations: list[Limitation] = []
    resolver = BindingResolver({rel: data for rel, data in files.items() if rel.endswith(".js")
                                and (not prefix or rel.startswith(prefix))})
    for rel in sorted(files):
        if prefix and not rel.startswith(prefix):
            continue  # outside miniprogramRoot: not part of the mini-program (cloud functions, tooling)
        data = files[rel]
        if rel.endswith(".wxml"):
            code.add_elements(scan_wxml(_decode(data), rel, resolver))
        elif rel.rsplit("/", 1)[-1] in COMPILED_WXML_FILES:
            text = _decode(data)
            if is_compiled_wxml(text):
                code.add_elements(scan_compiled_wxml(text, rel))
        if rel.endswith(".js"):
            scan = scan_js(data, rel, code.api_names, code.methods)
            code.add_js(scan)
            if scan.encoding != "utf-8":
                encodings[rel] = scan.encoding
            if scan.encoding == "utf-8-replaced":
                limitations.append(Limitation(
                    kind="entry_unreadable",
                    detail="neither UTF-8 nor GB18030 text: invalid bytes were replaced, text inside them is not read",
                    where=rel,
                ))
            if scan.has_errors:
                limitations.append(Limitation(
                    kind="entry_unreadable",
                    detail="JavaScript syntax errors: uses inside the unparsable parts may be missed",
                    where=rel,
                ))
    return limitations


def _app_block(config: MiniProgramConfig, app_id: str | None, note: str | None) -> dict[str, Any]:
    """The result's ``app`` object for a mini-program."""
    return {
        "platform": PLATFORM,
        "package": app_id,
        "label": {"default": config.name, "zh-CN": None},
        "version_name": config.version_name,
        "version_code": config.version_code,
        "min_sdk": None,
        "target_sdk": None,
        "compile_sdk": None,
        "max_sdk": None,
        "application_class": None,
        "first_party_prefixes": [],
        "input_note": note,
    }


def collect_miniprogram(
    path: Path, *, wxid: str | None, subpackages: Sequence[Path], unpack_dir: Path
) -> MiniProgramFacts:
    """Scan a mini-program given as a .wxapkg (plain or PC-encrypted) or an unpacked source tree,
    with optional subpackage .wxapkg files merged in. Packages are unpacked under ``unpack_dir``.

    Raises ``InputError`` (one line) for a missing, truncated or undecryptable package and
    ``UsageError`` for a malformed ``wxid``.
    """
    if wxid is not None:
        check_wxid(wxid)
    table = privacy_table()
    packages, limitations, used_wxid = _load_inputs(path, wxid, subpackages, unpack_dir)
    main = packages[0]

    # Merge: the first package that holds a path wins (subpackage paths carry their root).
    files: dict[str, bytes] = {}
    for package in packages:
        for rel, data in package.files.items():
            files.setdefault(rel, data)

    prefix = _config_prefix(main.files) if main.role == "source-tree" else ""
    config = parse_config(main.files, prefix)
    limitations += config.limitations
    if not any(name.endswith(APP_CONFIG_FILES) for name in config.config_files):
        limitations.append(Limitation(
            kind="not_collected",
            detail="no app.json / app-config.json / game.json: declarations (requiredPrivateInfos, permission) unknown",
            where=main.name,
        ))

    code = CodeFacts(table)
    encodings: dict[str, str] = {}
    limitations += _scan_files(files, prefix, code, encodings)

    app_id = config.app_id or used_wxid or wxid
    section = {
        "app_id": app_id,
        "is_game": config.is_game or "game.js" in main.files,
        "config_files": list(config.config_files),
        "pages": list(config.pages),
        "subpackages": [s.to_json() for s in config.subpackages],
        "plugins": list(config.plugins),
        "permission_scopes": list(config.permission_scopes),
        "required_private_infos": list(config.required_private_infos),
        "use_privacy_check": config.use_privacy_check,
        **code.rows(),
        "packages": [
            {"id": f"mppkg:{p.name}", "name": p.name, "role": p.role, "files": len(p.files), "encrypted": p.encrypted}
            for p in packages
        ],
    }
    if encodings:
        section["source_encodings"] = dict(sorted(encodings.items()))
    sections: dict[str, Any] = {"miniprogram": section}
    sdks = code.sdk_rows()
    if sdks:
        sections["sdks"] = sdks
    if main.role == "source-tree":
        note: str | None = "unpacked source tree"
    else:
        note = f"PC-encrypted, decrypted with wxid {used_wxid}" if main.encrypted else None
    return MiniProgramFacts(
        app=_app_block(config, app_id, note),
        sections=sections,
        inputs=[p.input_row for p in packages],
        limitations=sorted(set(limitations), key=lambda lim: (lim.kind, lim.where or "", lim.detail)),
        packs=[{"id": PACK_ID, "kind": "data", "version": table.version, "sha256": table.sha256}],
    )
