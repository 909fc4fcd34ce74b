"""Open an APK (or the base APK of an XAPK / APKS / APKM bundle) for the static collectors.

:func:`open_apk` is the only place that turns a user's file into an androguard ``APK`` object.
Every way a file can be unusable becomes one :class:`~scanner.errors.InputError` naming the
file and the problem. Only the manifest and the zip directory are parsed here; nothing touches
DEX code, so opening even a large APK costs little more than androguard's manifest parse.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .. import safejson
from ..budgets import budgets
from ..errors import InputError
from ..hashing import digest_file
from ..safeio import NotRegularFile, file_kind
from .appbundle import AppBundle, BundleFormatError, ModuleArchive, is_app_bundle, open_app_bundle
from .labels import ResourceTable
from .zipread import EntryError, ZipAmbiguity, ZipArchive  # also lifts zipfile's extract-version refusal

if TYPE_CHECKING:  # androguard is heavy; imported lazily in open_apk
    from androguard.core.apk import APK

MANIFEST = "AndroidManifest.xml"
_T = TypeVar("_T")
_ZIP_LOCAL_MAGIC = b"PK\x03\x04"
_BUNDLE_SUFFIXES = (".xapk", ".apks", ".apkm", ".zip")
_quiet_done = False


def quiet_androguard() -> None:
    """Silence androguard's (loguru) logging, once per process.

    androguard logs warnings for ordinary quirks of real APKs to stderr; the CLI promises one
    line for bad input and nothing else, so its loggers are disabled. Only the ``androguard``
    and ``apkInspector`` loggers are switched off: other loguru users keep theirs.
    """
    global _quiet_done
    if _quiet_done:
        return
    from loguru import logger

    logger.disable("androguard")
    logger.disable("apkInspector")
    # apkInspector also warns through the standard root logger ("Does not seem to be the start of
    # a local header!"), which would print to stderr on its first call: give the root a handler
    # that drops records, unless the embedding program configured logging itself.
    import logging

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    _quiet_done = True


@dataclass(frozen=True)
class SplitApk:
    """A split APK of a bundle (``split_*.apk``, ``config.*.apk``): its code and files are part of
    the app as installed, so they are scanned with the base APK."""

    name: str
    archive: ZipArchive | ModuleArchive = field(repr=False, compare=False)

    @property
    def entries(self) -> tuple[str, ...]:
        return tuple(sorted(self.archive.names()))


@dataclass(frozen=True)
class ApkInput:
    """An opened APK: the user's file, its digests and androguard's parsed view of the APK.

    ``path`` and ``digests`` always describe the file the user gave (a bundle, when the APK
    came out of one); ``apk``, ``entries`` and :meth:`read` describe the APK itself. For an
    Android App Bundle (``.aab``) ``apk`` is ``None`` and ``bundle`` holds the protobuf
    manifest and resources of its modules; ``entries`` and :meth:`read` then use APK names for
    the base module's files (``classes.dex`` for ``base/dex/classes.dex``).
    """

    path: Path
    digests: dict[str, str | int]
    apk: APK | None = field(repr=False, compare=False)
    entries: tuple[str, ...] = field(repr=False)
    note: str | None = None
    archive: ZipArchive | ModuleArchive | None = field(default=None, repr=False, compare=False)
    ambiguities: tuple[ZipAmbiguity, ...] = ()
    splits: tuple[SplitApk, ...] = ()  #: the other APKs of a bundle, scanned with the base
    split_problems: tuple[tuple[str, str], ...] = ()  #: (split name, why it could not be read)
    bundle: AppBundle | None = field(default=None, repr=False, compare=False)  #: the .aab, when the input is one
    _names: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def read(self, name: str, copy: int = 0) -> bytes:
        """Bytes of one zip entry of the APK (``copy``: which of several entries of that name),
        within the budgets of :mod:`scanner.budgets`; ``InputError`` (an :class:`EntryError`)
        naming the entry when it is absent, over budget or unreadable."""
        if self.archive is not None and self.archive.copies(name):
            return self.archive.read(name, copy)
        if self.apk is None:
            raise EntryError(f"no entry {name!r}", self.path)
        try:
            return bytes(self.apk.get_file(name))
        except Exception as exc:  # noqa: BLE001 - androguard/apkInspector raise assorted types for bad members
            raise EntryError(f"cannot read entry {name!r}: {_reason(exc)}", self.path) from None

    def copy_count(self, name: str) -> int:
        """How many entries carry ``name`` (more than one: a duplicate name, a tampering sign)."""
        return len(self.archive.copies(name)) if self.archive is not None else int(name in self._names)

    def has(self, name: str) -> bool:
        """Whether the APK has a zip entry of this exact name."""
        return name in self._names

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", frozenset(self.entries))

    def close(self) -> None:
        """Release the files behind the APK, its splits and modules."""
        for split in self.splits:
            split.archive.close()
        if self.archive is not None:
            self.archive.close()

    def manifest_root(self) -> Any:
        """The manifest as an lxml element tree (androguard's, or the bundle's protobuf XML)."""
        if self.apk is not None:
            return self.apk.get_android_manifest_xml()
        return self.bundle.manifest if self.bundle is not None else None

    def resource_table(self, usable: Callable[[str], bool] = lambda _name: True) -> ResourceTable:
        """Resource lookups for the app (``resources.arsc``, or the bundle's ``resources.pb`` tables)."""
        return self.bundle.resources if self.bundle is not None else ResourceTable(self.apk, usable)

    def package_name(self) -> str | None:
        """The manifest's ``package``."""
        if self.apk is not None:
            return self.apk.get_package() or None
        return (self.bundle.manifest.get("package") or None) if self.bundle is not None else None


def _reason(exc: BaseException) -> str:
    """A parser's exception as words for the one-line message: never raw ``struct`` text."""
    import struct

    if isinstance(exc, (struct.error, IndexError, EOFError)):
        return "a structure ends before its declared size (truncated or damaged data)"
    if isinstance(exc, (TypeError, AttributeError, KeyError)):
        return "its structure is not what the format requires (damaged or crafted data)"
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__


def _check_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", path) from None
    if stat.S_ISDIR(mode):
        raise InputError("is a directory, not an APK file", path)
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"is {file_kind(mode)}, not a regular file; not read", path)
    if not os.access(path, os.R_OK):
        raise InputError("cannot read the file: permission denied", path)


def _zip_names(path: Path, data: bytes | None = None) -> list[str]:
    """Entry names of a zip (file or bytes), or ``InputError`` saying why it is not a usable zip."""
    label = path
    try:
        if data is None:
            with open(path, "rb") as handle:
                head = handle.read(4)
                size = handle.seek(0, os.SEEK_END)
        else:
            head, size = data[:4], len(data)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or _reason(exc)}", label) from None
    if size == 0:
        raise InputError("empty file, not a zip archive, so not an APK", label)
    try:
        source: Any = io.BytesIO(data) if data is not None else path
        with zipfile.ZipFile(source) as archive:
            return archive.namelist()
    except zipfile.BadZipFile:
        if head == _ZIP_LOCAL_MAGIC:
            raise InputError("truncated or damaged zip archive (no end-of-central-directory record)", label) from None
        raise InputError("not a zip archive, so not an APK", label) from None
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise InputError(f"damaged zip archive: {_reason(exc)}", label) from None


def _bundle_base(path: Path, names: list[str]) -> str | None:
    """Name of the base APK inside an XAPK/APKS/APKM bundle, or ``None`` if there is none."""
    apks = sorted(n for n in names if n.lower().endswith(".apk") and "/" not in n.strip("/"))
    for known in ("universal.apk", "splits/base-master.apk", "standalones/standalone.apk"):  # bundletool layouts
        if not apks and known in names:
            return known
    if not apks:
        return None
    if "base.apk" in apks:
        return "base.apk"
    package = None
    if "manifest.json" in names:  # XAPK: {"package_name": ...}
        try:
            with ZipArchive(path, path) as archive:
                meta = safejson.loads(archive.read("manifest.json", max_bytes=budgets().file_bytes).decode("utf-8"))
            package = meta.get("package_name") if isinstance(meta, dict) else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, RecursionError):
            package = None  # an unreadable, oversized or absurdly nested manifest.json names no package
    if package and f"{package}.apk" in apks:
        return f"{package}.apk"
    non_split = [n for n in apks if not PurePosixPath(n).name.startswith(("split_", "config."))]
    return non_split[0] if len(non_split) == 1 else None


def _load_androguard(path: Path, raw: bytes | None, shown: Path) -> APK:
    quiet_androguard()
    from androguard.core.apk import APK

    try:
        apk = APK(raw, raw=True) if raw is not None else APK(str(path))
    except Exception as exc:  # noqa: BLE001 - androguard raises bare ValueError/struct.error for broken zips
        raise InputError(f"androguard could not parse the APK: {_reason(exc)}", shown) from None
    if not apk.is_valid_APK():
        raise InputError("corrupt binary XML in AndroidManifest.xml (not a valid APK manifest)", shown)
    return apk


def open_apk(path: str | Path) -> ApkInput:
    """Open an APK, or the base APK of a bundle, for static inspection.

    Raises :class:`InputError` for a missing file, a directory, an unreadable file, something
    that is not a zip, a truncated zip, a zip without ``AndroidManifest.xml`` (and without a
    base APK inside), and a manifest that is not valid binary XML.
    """
    path = Path(path)
    _check_file(path)
    names = _zip_names(path)
    note = None
    raw: bytes | None = None
    splits: list[SplitApk] = []
    split_problems: list[tuple[str, str]] = []
    if is_app_bundle(path.suffix, names):
        return _open_app_bundle(path)
    if MANIFEST not in names:
        base = _bundle_base(path, names)
        if base is None:
            if path.suffix.lower() in _BUNDLE_SUFFIXES:
                raise InputError("bundle has no AndroidManifest.xml and no base APK inside", path)
            raise InputError("zip archive has no AndroidManifest.xml, so it is not an APK", path)
        try:
            with ZipArchive(path, path) as archive:
                raw = archive.read(base)
        except EntryError as exc:
            raise InputError(f"cannot use the bundle's base APK: {exc.message}", path) from None
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            raise InputError(f"cannot extract {base!r} from the bundle: {_reason(exc)}", path) from None
        inner = _zip_names(path, raw) if raw is not None else []
        if MANIFEST not in inner:
            raise InputError(f"{base!r} inside the bundle has no AndroidManifest.xml", path)
        kind = {".xapk": "an XAPK", ".apks": "an APKS", ".apkm": "an APKM"}.get(path.suffix.lower(), "an APK")
        splits, split_problems = _bundle_splits(path, names, base)
        note = f"base APK {base!r} of {kind} bundle" + (f", with {len(splits)} split APK(s)" if splits else "")
        alternatives = _standalone_alternatives(names, base)
        if alternatives:
            note += (f"; {len(alternatives)} standalone APK(s) not read (bundletool's whole-app alternatives to the "
                     "base and split APKs, for devices before Android 5)")
    try:
        archive = ZipArchive(raw if raw is not None else path, path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise InputError(f"damaged zip archive: {_reason(exc)}", path) from None
    def load() -> tuple[APK, dict[str, str | int]]:
        _check_budgeted(archive, path)
        return _load_androguard(path, raw, path), digest_file(path)

    apk, digests = _closing_on_error(archive, path, load)
    entries = tuple(sorted(set(apk.get_files()) | set(archive.names())))
    return ApkInput(path=path, digests=digests, apk=apk, entries=entries, note=note, archive=archive,
                    ambiguities=tuple(archive.ambiguities()), splits=tuple(splits), split_problems=tuple(split_problems))


def _closing_on_error(archive: ZipArchive, path: Path, load: Callable[[], _T]) -> _T:
    """``load()``; on any failure the archive is closed, and an ``OSError`` becomes one line."""
    try:
        return load()
    except OSError as exc:
        archive.close()
        raise InputError(f"cannot read the file: {exc.strerror or _reason(exc)}", path) from None
    except BaseException:
        archive.close()
        raise


def _open_app_bundle(path: Path) -> ApkInput:
    """An ``.aab``: its base module as the APK, its feature modules as splits."""
    try:
        archive = ZipArchive(path, path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise InputError(f"damaged zip archive: {_reason(exc)}", path) from None
    def load() -> tuple[AppBundle, dict[str, str | int]]:
        try:
            return open_app_bundle(archive), digest_file(path)
        except BundleFormatError as exc:
            raise InputError(f"Android App Bundle: {exc}", path) from None

    bundle, digests = _closing_on_error(archive, path, load)
    features = len(bundle.features)
    note = "base module of an Android App Bundle (.aab)" + (f", with {features} feature module(s)" if features else "")
    return ApkInput(path=path, digests=digests, apk=None, entries=tuple(sorted(bundle.base.names())), note=note,
                    archive=bundle.base,
                    ambiguities=(*archive.ambiguities(), *(a for view in (bundle.base, *bundle.features) for a in view.shadowing)),
                    splits=tuple(SplitApk(view.module, view) for view in bundle.features), bundle=bundle)


def _standalone_alternatives(names: list[str], base: str) -> list[str]:
    """bundletool's ``standalones/*.apk`` besides the chosen base: each is the whole app for older
    devices, installed instead of the base and split APKs (or of another standalone), never with
    them, so reading it as a split would add code and components twice."""
    if not base.startswith(("splits/", "standalones/")):
        return []
    return sorted(n for n in names if n.startswith("standalones/") and n.lower().endswith(".apk") and n != base)


def _bundle_splits(path: Path, names: list[str], base: str) -> tuple[list[SplitApk], list[tuple[str, str]]]:
    """The bundle's other APKs (every ``*.apk`` but the base and bundletool's standalone
    alternatives, at any depth), each opened within the budgets; one that cannot be read is named
    with the reason, never silently skipped."""
    splits: list[SplitApk] = []
    problems: list[tuple[str, str]] = []
    alternatives = set(_standalone_alternatives(names, base))
    others = sorted(n for n in names if n.lower().endswith(".apk") and n != base and n not in alternatives)
    if not others:
        return splits, problems
    with ZipArchive(path, path) as bundle:
        for name in others:
            try:
                splits.append(SplitApk(name, ZipArchive(bundle.read(name), f"{path}!{name}")))
            except EntryError as exc:
                problems.append((name, exc.message))
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                problems.append((name, f"not a readable zip ({_reason(exc)})"))
    return splits, problems


def _check_budgeted(archive: ZipArchive, shown: Path) -> None:
    """androguard inflates the manifest (and, when asked, resources.arsc) itself: make sure the
    manifest fits the budgets first, so that a bomb named AndroidManifest.xml stops here."""
    if not archive.copies(MANIFEST):
        return
    try:
        archive.read(MANIFEST)
    except EntryError as exc:
        raise InputError(f"AndroidManifest.xml cannot be used: {exc.message}", shown) from None


def apk_package(path: str | Path) -> str:
    """The package name in an APK's (or a bundle's base APK's) manifest; ``InputError`` when the
    file is not a readable APK or names no package."""
    opened = open_apk(path)
    try:
        package = opened.package_name()
    finally:
        opened.close()
    if not package:
        raise InputError("APK manifest has no package name", opened.path)
    return str(package)
