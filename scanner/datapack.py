"""One loader for every data pack: read with a budget, parse, check against a JSON Schema, build, cache.

A data pack is a YAML (or JSON-style YAML) file of data: the ones PIScan ships under ``rules/``
(PI vocabulary, the model's vocabularies, NPI table, permission and API catalogues, packers,
WeChat privacy APIs, the SDK pack), the report labels, and files a user supplies in the same
way (a device profile). Each kind is a :class:`DataKind`: a schema in ``scanner/schemas/data/``
and a builder that turns the checked data into the frozen records its module uses.

Loading a file:

1. read its bytes (at most :data:`MAX_PACK_BYTES`) and hash them;
2. in-process cache by (kind, sha256): a pack is compiled once per process (a batch of scans
   shares it);
3. disk cache by (kind, sha256, schema digest): the schema-checked data as JSON, so a warm
   start skips YAML parsing and schema validation (``$PISCAN_CACHE_DIR``, default
   ``$XDG_CACHE_HOME/piscan/packs``; ``PISCAN_NO_CACHE=1`` turns it off). The cache is only an
   accelerator: an unreadable or stale entry is ignored, a failed write is not an error;
4. otherwise parse (JSON when the text is JSON, else libyaml's safe loader), validate against the
   schema and, on any problem, parse again with line marks so that each problem reads
   ``file:line: key: message`` (:class:`scanner.problems.PackProblem`);
5. build: the builder may raise :class:`DataError` (a data path and a message) for what a schema
   cannot say (duplicate ids); it is located and reported the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Generic, NoReturn, TypeVar

from .errors import PiscanError, UsageError
from .marks import load_marked
from .problems import YAML_ERRORS, PackProblem, problem_at, schema_problems, yaml_problem
from .resources import schema_path
from .safeyaml import safe_load

T = TypeVar("T")

#: a data file larger than this is refused (the shipped SDK pack's largest file is ~1 MB)
MAX_PACK_BYTES = 32 << 20
#: bump when the cached form changes
CACHE_FORMAT = 1
CACHE_DIR_ENV = "PISCAN_CACHE_DIR"
NO_CACHE_ENV = "PISCAN_NO_CACHE"


class DataError(ValueError):
    """A problem the schema cannot express, found while building: where (a data path) and what."""

    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = list(path)
        self.message = message


@dataclass(frozen=True)
class DataFile:
    """The checked data of one file, its digest and where it came from."""

    path: Path
    sha256: str
    data: Any

    @property
    def version(self) -> str:
        """The file's top-level ``version`` (``""`` when it has none)."""
        return str(self.data.get("version", "")) if isinstance(self.data, dict) else ""


@dataclass(frozen=True)
class DataKind(Generic[T]):
    """One kind of data pack: its schema, how to build it, and how to recognise a file of it."""

    name: str
    title: str
    schema: str  #: file name under scanner/schemas/data/
    build: Callable[[DataFile], T] = field(compare=False, repr=False)
    #: top-level keys that identify a file of this kind (``piscan rules validate`` uses them)
    keys: frozenset[str] = frozenset()
    #: the exception type problems are raised as (UsageError for packs, InputError for user inputs)
    error: type[PiscanError] = UsageError
    #: checks the schema cannot express (unique ids, regexes that compile), raising DataError; run
    #: once per content, before the checked data is cached, so a warm start skips them
    check: Callable[[Any], None] | None = field(default=None, compare=False, repr=False)


def cache_dir() -> Path | None:
    """The disk cache folder, or ``None`` when caching is off."""
    if os.environ.get(NO_CACHE_ENV) == "1":
        return None
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "piscan" / "packs"


@cache
def kind_schema(schema_file: str) -> tuple[dict[str, Any], str]:
    """A data-pack schema with the model's vocabularies filled in, and its digest."""
    from .schema import with_vocabularies

    raw = json.loads(schema_path(f"data/{schema_file}").read_text(encoding="utf-8"))
    schema = with_vocabularies(raw) if schema_file not in _VOCABULARY_SCHEMAS else raw
    digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode("utf-8")).hexdigest()
    return schema, digest


#: schemas of the packs the vocabularies themselves come from (nothing to fill in, and filling
#: in would load the very file being checked)
_VOCABULARY_SCHEMAS = frozenset({"model.schema.json", "pi-types.schema.json"})


def _read_bytes(path: Path, kind: DataKind[Any]) -> bytes:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PACK_BYTES + 1)
    except FileNotFoundError:
        raise kind.error(f"no such {kind.title} file", path) from None
    except IsADirectoryError:
        raise kind.error(f"is a folder; expected a {kind.title} file", path) from None
    except OSError as exc:
        raise kind.error(f"cannot read the {kind.title}: {exc.strerror or exc}", path) from None
    if len(raw) > MAX_PACK_BYTES:
        raise kind.error(f"larger than {MAX_PACK_BYTES >> 20} MiB; not a {kind.title}", path)
    return raw


def _parse(text: str) -> Any:
    """JSON when the text (after leading comment lines) is a JSON object, which the json module reads
    far faster than any YAML parser (the generated SDK pack is written that way); YAML otherwise."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    if body.lstrip().startswith("{"):
        try:
            return json.loads(body)
        except ValueError:
            pass
    return safe_load(text)


def check_text(kind: DataKind[Any], raw: bytes, file: str) -> tuple[list[PackProblem], Any]:
    """Every problem of one file's bytes (parse and schema), and the parsed data."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [PackProblem(file, 1, "(file)", f"not UTF-8 text (byte {exc.start})")], None
    try:
        data = _parse(text)
    except YAML_ERRORS as exc:
        return [yaml_problem(file, exc)], None
    schema, _digest = kind_schema(kind.schema)
    import jsonschema

    if not jsonschema.Draft202012Validator(schema).is_valid(data):
        return schema_problems(data, schema, file, _marked(text)), data
    if kind.check is not None:
        try:
            kind.check(data)
        except DataError as exc:
            return [problem_at(file, _marked(text), exc.path, exc.message)], data
    return [], data


def _marked(text: str) -> Any:
    try:
        return load_marked(text)
    except YAML_ERRORS:
        return None


def _raise(kind: DataKind[Any], problems: list[PackProblem]) -> NoReturn:
    first = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    raise kind.error(f"{first.key}: {first.message}{more}", first.file, lineno=first.line)


def _cache_path(kind: DataKind[Any], sha256: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    _schema, digest = kind_schema(kind.schema)
    return folder / f"{kind.name}-{sha256[:32]}-{digest[:16]}-v{CACHE_FORMAT}.json"


def cache_read(path: Path | None) -> Any:
    """The JSON at ``path`` in the disk cache, or ``None`` (missing, unreadable, damaged, or no cache)."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except (OSError, ValueError):
        return None


def cache_write(path: Path | None, data: Any) -> None:
    """Store JSON at ``path`` in the disk cache, atomically; failures are ignored (an accelerator only)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        return  # an accelerator only: a read-only or full disk costs speed, nothing else


_LOADED: dict[tuple[str, str], Any] = {}


def read_checked(kind: DataKind[Any], path: str | Path) -> DataFile:
    """The schema-checked data of one file; ``kind.error`` with ``file:line: key: message`` otherwise."""
    path = Path(path)
    raw = _read_bytes(path, kind)
    sha256 = hashlib.sha256(raw).hexdigest()
    cached = _cache_path(kind, sha256)
    data = cache_read(cached)
    if data is None:
        problems, data = check_text(kind, raw, str(path))
        if problems:
            _raise(kind, problems)
        cache_write(cached, data)
    return DataFile(path=path, sha256=sha256, data=data)


def build_checked(kind: DataKind[T], source: DataFile) -> T:
    """Run ``kind``'s builder on checked data, locating a :class:`DataError` at its line."""
    try:
        return kind.build(source)
    except DataError as exc:
        marked = _marked(source.path.read_text(encoding="utf-8", errors="replace"))
        _raise(kind, [problem_at(str(source.path), marked, exc.path, exc.message)])
        raise


def load(kind: DataKind[T], path: str | Path) -> T:
    """Load one data pack of ``kind`` (cached in process by content, on disk by content and schema)."""
    return load_source(kind, path)[0]


def load_source(kind: DataKind[T], path: str | Path) -> tuple[T, DataFile]:
    """:func:`load`, also returning the checked file (its digest and version)."""
    source = read_checked(kind, path)
    key = (kind.name, source.sha256)
    hit = _LOADED.get(key)
    if hit is None:
        hit = build_checked(kind, source)
        _LOADED[key] = hit
    return hit, source


def parse(kind: DataKind[T], text: str | bytes, path: str | Path) -> T:
    """Check and build data given as text (no file read, no cache): for tests and in-memory input."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    problems, data = check_text(kind, raw, str(path))
    if problems:
        _raise(kind, problems)
    source = DataFile(Path(path), hashlib.sha256(raw).hexdigest(), data)
    try:
        return kind.build(source)
    except DataError as exc:
        _raise(kind, [problem_at(str(path), _marked(raw.decode("utf-8", "replace")), exc.path, exc.message)])
        raise


def problems_of(kind: DataKind[Any], path: str | Path) -> list[PackProblem]:
    """Every problem of one file of ``kind`` (for ``piscan rules validate``); empty when it loads."""
    path = Path(path)
    try:
        raw = _read_bytes(path, kind)
    except PiscanError as exc:
        return [PackProblem(str(path), 1, "(file)", exc.message)]
    problems, data = check_text(kind, raw, str(path))
    if problems:
        return problems
    try:
        kind.build(DataFile(path, hashlib.sha256(raw).hexdigest(), data))
    except DataError as exc:
        return [problem_at(str(path), _marked(raw.decode("utf-8", "replace")), exc.path, exc.message)]
    except PiscanError as exc:
        return [PackProblem(str(path), 1, "(pack)", exc.message)]
    return []


def unique(rows: Sequence[Any], key: str, where: str) -> None:
    """:class:`DataError` at the second of two rows of ``where`` sharing the value of ``key``."""
    seen: dict[Any, int] = {}
    for index, row in enumerate(rows):
        value = row.get(key) if isinstance(row, dict) else None
        if value in seen:
            raise DataError([where, index, key], f"duplicate {key} {value!r} (first at {where}[{seen[value]}])")
        seen[value] = index


#: every data-pack kind, as "module:attribute" of its :class:`DataKind` (imported on first use)
#: (a file is recognised as the first kind whose identifying keys it has: more specific kinds first)
KINDS: dict[str, str] = {
    "model": "scanner.model.terms:MODEL_KIND",
    "pi-types": "scanner.pi:PI_TYPES_KIND",
    "npi-types": "scanner.rules.categories:NPI_KIND",
    "android-permissions": "scanner.apk.permissions:PERMISSIONS_KIND",
    "packers": "scanner.sdk.packers:PACKERS_KIND",
    "wechat-privacy-apis": "scanner.miniprogram.privacy_apis:PRIVACY_APIS_KIND",
    "android-apis": "scanner.apk.catalogue:CATALOGUE_KIND",
    "sdk-pack": "scanner.sdk.pack:SDK_META_KIND",
    "sdk-source": "scanner.sdk.pack:SDK_SOURCE_KIND",
    "policy-lexicon": "scanner.policy.lexicon:LEXICON_KIND",
    "sdk-category": "scanner.sdk.pack:SDK_CATEGORY_KIND",
    "labels": "scanner.report.i18n:LABELS_KIND",
    "device-profile": "scanner.traffic.device_profile:PROFILE_KIND",
}


def kind(name: str) -> DataKind[Any]:
    """The registered kind ``name``."""
    import importlib

    module_name, attr = KINDS[name].split(":")
    found: DataKind[Any] = getattr(importlib.import_module(module_name), attr)
    return found


def recognise(data: Any) -> DataKind[Any] | None:
    """The data-pack kind whose identifying top-level keys ``data`` has, or ``None``."""
    if not isinstance(data, dict):
        return None
    for name in KINDS:
        candidate = kind(name)
        if candidate.keys and candidate.keys <= set(data):
            return candidate
    return None
