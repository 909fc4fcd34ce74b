"""Read an Android App Bundle (``.aab``) as the app its modules would install.

An ``.aab`` is the publishing format Google Play and other stores take: one zip holding a
``base/`` module and any feature modules (``<module>/``), each laid out as

``manifest/AndroidManifest.xml``  the manifest as *protobuf* XML (aapt2's ``XmlNode``)
``dex/classes*.dex``               the code
``resources.pb``                   the resource table as protobuf (aapt2's ``ResourceTable``)
``res/``, ``assets/``, ``lib/``    resources (XML files again as protobuf XML), assets, native code
``root/``                          files that go to the root of the installed APK

This module gives the rest of the scanner the same view an APK gives: :class:`ModuleArchive`
names each module's files as they would be named in its APK (``base/dex/classes.dex`` ->
``classes.dex``), :func:`xml_root` turns protobuf XML into the lxml tree androguard makes of
binary XML (attribute values spelled as androguard spells them, references as ``@7F0A0001``),
and :class:`ProtoResources` answers the lookups :class:`~scanner.apk.labels.ResourceTable`
answers for ``resources.arsc``. The schema is aapt2's ``Resources.proto``; only the fields the
scan reads are decoded, with :mod:`scanner.protowire`, within the scan's depth and size budgets.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any, Callable

from ..budgets import budgets
from ..protowire import ProtoField, parse_protobuf
from .labels import ResourceTable
from .manifest import merge_split_manifest
from .zipread import EntryError, ZipAmbiguity, ZipArchive

BASE = "base"
MANIFEST_IN_MODULE = "manifest/AndroidManifest.xml"
_MAX_FIELDS = 1_000_000  #: fields of one message level (the largest real resource tables hold ~100k entries)
_MAX_ELEMENTS = 200_000  #: elements of one protobuf XML document
_MODULE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}\Z")
#: module folder -> the APK path prefix its files install to ("" for root/)
_FOLDERS = {"dex/": "", "res/": "res/", "assets/": "assets/", "lib/": "lib/", "root/": ""}
_DEX_NAME = re.compile(r"\Aclasses\d*\.dex\Z")


class BundleFormatError(ValueError):
    """A protobuf part of a bundle that is not what aapt2 writes (damaged or crafted)."""


def is_app_bundle(suffix: str, names: list[str]) -> bool:
    """Whether a zip is an App Bundle: named ``.aab``, or a ``base/`` module manifest and no APK manifest."""
    return suffix.lower() == ".aab" or (f"{BASE}/{MANIFEST_IN_MODULE}" in names and "AndroidManifest.xml" not in names)


def bundle_modules(names: list[str]) -> list[str]:
    """The bundle's modules (folders with a module manifest), ``base`` first, then by name."""
    found = {n.split("/", 1)[0] for n in names if n.count("/") == 2 and n.endswith("/" + MANIFEST_IN_MODULE)}
    found = {m for m in found if _MODULE_NAME.match(m)}
    return sorted(found, key=lambda m: (m != BASE, m))


def apk_path(module_path: str) -> str | None:
    """Where a file of a module (path inside the module) lands in its APK; ``None`` for bundle
    metadata (``native.pb``, ``assets.pb``...) that is not an APK file. ``root/`` files keep their
    path, even one that would shadow a file of another folder (see :func:`shadows`)."""
    if module_path == MANIFEST_IN_MODULE:
        return "AndroidManifest.xml"
    if module_path == "resources.pb":
        return "resources.pb"
    for folder, prefix in _FOLDERS.items():
        if module_path.startswith(folder) and len(module_path) > len(folder):
            rest = module_path[len(folder):]
            if folder == "dex/" and not _DEX_NAME.match(rest):
                return None  # only the module's top-level classes*.dex files are its code
            return prefix + rest
    return None


def shadows(apk_name: str) -> bool:
    """Whether a ``root/`` file would take the place of the manifest, the code, the resource table
    or a file of ``res/``, ``lib/`` or ``assets/`` (bundletool refuses such a bundle)."""
    return (apk_name in ("AndroidManifest.xml", "resources.pb", "resources.arsc") or _DEX_NAME.match(apk_name) is not None
            or apk_name.startswith(("res/", "lib/", "assets/")))


class ModuleArchive:
    """One module of a bundle, seen as the APK it installs as: the archive methods of
    :class:`~scanner.apk.zipread.ZipArchive`, under APK names."""

    def __init__(self, bundle: ZipArchive, module: str, owns: bool = False) -> None:
        self.bundle = bundle
        self.module = module
        self.label = f"{bundle.label}!{module}"
        self._owns = owns
        self._to_bundle: dict[str, str] = {}
        #: root/ files that would take the place of another file: not used, and a sign of tampering
        self.shadowing: list[ZipAmbiguity] = []
        prefix = module + "/"
        for name in bundle.names():
            if not name.startswith(prefix):
                continue
            inner = name[len(prefix):]
            mapped = apk_path(inner)
            if mapped is None:
                continue
            if inner.startswith("root/") and shadows(mapped):
                self.shadowing.append(ZipAmbiguity(
                    "shadowing_entry", name, f"{name!r} would install as {mapped!r}, in place of the module's own; "
                    "bundletool refuses such a bundle (not used)"))
                continue
            self._to_bundle.setdefault(mapped, name)

    def bundle_name(self, name: str) -> str | None:
        """The bundle entry behind an APK name (``classes.dex`` -> ``base/dex/classes.dex``)."""
        return self._to_bundle.get(name)

    def names(self) -> list[str]:
        """APK names of the module's files, in the bundle's central-directory order."""
        return list(self._to_bundle)

    def copies(self, name: str) -> list[Any]:
        """Central-directory records of the file (more than one: a duplicate name)."""
        real = self._to_bundle.get(name)
        return self.bundle.copies(real) if real is not None else []

    def read(self, name: str, copy: int = 0, *, max_bytes: int | None = None) -> bytes:
        """The file's bytes, within the bundle's budgets; :class:`EntryError` naming it otherwise."""
        real = self._to_bundle.get(name)
        if real is None:
            raise EntryError(f"no entry {name!r} in module {self.module!r}", self.bundle.label)
        return self.bundle.read(real, copy, max_bytes=max_bytes)

    def ambiguities(self) -> list[ZipAmbiguity]:
        """The bundle's zip ambiguities (duplicate names, overlapping data), for the whole bundle."""
        return self.bundle.ambiguities() if self._owns else []

    def close(self) -> None:
        """Release the bundle when this view owns it."""
        if self._owns:
            self.bundle.close()


# --- protobuf reading ---------------------------------------------------------------------------

def _fields(data: bytes | memoryview, what: str) -> list[ProtoField]:
    """One message level; nested messages stay views of ``data`` (nesting copies nothing)."""
    if not data:
        return []
    fields = parse_protobuf(data if isinstance(data, memoryview) else memoryview(data), _MAX_FIELDS)
    if fields is None:
        raise BundleFormatError(f"{what} is not valid protobuf")
    return fields


def _bytes(fields: list[ProtoField], number: int) -> list[memoryview]:
    return [v for n, w, v in fields if n == number and w == 2 and isinstance(v, memoryview)]


def _first_bytes(fields: list[ProtoField], number: int) -> memoryview | None:
    found = _bytes(fields, number)
    return found[-1] if found else None  # protobuf: the last occurrence of a singular field wins


def _text(fields: list[ProtoField], number: int) -> str:
    raw = _first_bytes(fields, number)
    return bytes(raw).decode("utf-8", "replace") if raw else ""


def _int(fields: list[ProtoField], number: int) -> int | None:
    found = [v for n, w, v in fields if n == number and w in (0, 5, 1) and isinstance(v, int)]
    return found[-1] if found else None


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _package_prefix(rid: int) -> str:
    return "android:" if rid >> 24 == 1 else ""


def _float(value: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", value & 0xFFFFFFFF))[0])


def _primitive(fields: list[ProtoField]) -> str | None:
    """A ``Primitive`` as androguard formats the binary-XML value of the same type."""
    for number, _wire, value in fields:
        if not isinstance(value, int):
            continue
        if number == 8:
            return "true" if value else "false"
        if number == 6:
            return "%d" % _int32(value)
        if number == 7:
            return "0x%08X" % (value & 0xFFFFFFFF)
        if number in (9, 10, 11, 12):
            return "#%08X" % (value & 0xFFFFFFFF)
        if number == 3:
            return "%f" % _float(value)
    return None


def _reference(fields: list[ProtoField]) -> str | None:
    rid = _int(fields, 2) or 0
    if not rid:
        return None
    sigil = "?" if _int(fields, 1) == 1 else "@"
    return f"{sigil}{_package_prefix(rid)}{rid:08X}"


def item_value(data: bytes | memoryview) -> str | None:
    """An ``Item`` (reference, string, file, primitive) as text; ``None`` for kinds with no text."""
    fields = _fields(data, "a resource item")
    for number, wire, value in fields:
        if wire != 2 or not isinstance(value, memoryview):
            continue
        inner = _fields(value, "a resource item")
        if number == 1:
            return _reference(inner)
        if number in (2, 3, 4):  # String, RawString, StyledString: value = 1
            return _text(inner, 1)
        if number == 5:  # FileReference: path = 1
            return _text(inner, 1)
        if number == 7:
            return _primitive(inner)
    return None


# --- protobuf XML -------------------------------------------------------------------------------

def xml_root(data: bytes | memoryview, what: str = "protobuf XML") -> Any:
    """The lxml element tree of a protobuf ``XmlNode`` document (the root must be an element).

    Attribute values are spelled as androguard spells decoded binary XML: a compiled reference
    ``@7F0A0001`` (``@android:01040000`` for the framework), booleans ``true``/``false``,
    integers in decimal (hex flags as ``0x00000012``); otherwise the source text. Raises
    :class:`BundleFormatError` past the depth or element budget or on malformed data.
    """
    from lxml import etree

    node = _fields(data, what)
    element = _first_bytes(node, 1)
    if element is None:
        raise BundleFormatError(f"{what} has no root element")
    count = [0]
    depth_cap = budgets().depth

    def build(raw: memoryview, parent: Any, depth: int) -> Any:
        if depth > depth_cap:
            raise BundleFormatError(f"{what} nests deeper than {depth_cap} elements")
        count[0] += 1
        if count[0] > _MAX_ELEMENTS:
            raise BundleFormatError(f"{what} has more than {_MAX_ELEMENTS:,} elements")
        fields = _fields(raw, what)
        uri, name = _text(fields, 2), _text(fields, 3)
        nsmap = {}
        for decl in _bytes(fields, 1):
            decl_fields = _fields(decl, what)
            prefix, ns_uri = _text(decl_fields, 1), _text(decl_fields, 2)
            if prefix and ns_uri and prefix.isidentifier():
                nsmap[prefix] = ns_uri
        tag = f"{{{uri}}}{name}" if uri else name
        try:
            el = etree.Element(tag, nsmap=nsmap or None) if parent is None else etree.SubElement(parent, tag, nsmap=nsmap or None)
        except ValueError:
            raise BundleFormatError(f"{what} has an element named {name[:60]!r}, not a valid XML name") from None
        for attr in _bytes(fields, 4):
            attr_fields = _fields(attr, what)
            attr_uri, attr_name = _text(attr_fields, 1), _text(attr_fields, 2)
            compiled = _first_bytes(attr_fields, 6)
            value = item_value(compiled) if compiled else None
            if value is None:
                value = _text(attr_fields, 3)
            try:
                el.set(f"{{{attr_uri}}}{attr_name}" if attr_uri else attr_name, value)
            except ValueError:
                continue  # a name or value lxml cannot hold (control characters): Android ignores unknown attributes too
        last: Any = None
        texts: list[str] = []  # text nodes up to the next element, joined once (never a quadratic +=)

        def place_text() -> None:
            if texts:
                try:
                    if last is None:
                        el.text = "".join(texts)
                    else:
                        last.tail = "".join(texts)
                except ValueError:
                    pass  # control characters lxml cannot hold: the text is left out
                texts.clear()

        for child in _bytes(fields, 5):
            child_fields = _fields(child, what)
            child_element = _first_bytes(child_fields, 1)
            if child_element is not None:
                place_text()
                last = build(child_element, el, depth + 1)
            else:
                texts.append(_text(child_fields, 2))
        place_text()
        return el

    return build(element, None, 0)


# --- resources.pb -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Value:
    locale: str  #: BCP-47 locale of the configuration ("" for none)
    default: bool  #: the configuration has no qualifier at all
    item: memoryview  #: the ``Item`` message (a view of the table)


class ProtoResources(ResourceTable):
    """The :class:`ResourceTable` lookups over the ``resources.pb`` tables of a bundle's modules."""

    def __init__(self, tables: list[bytes] = ()) -> None:  # type: ignore[assignment]
        super().__init__(None)
        self._values: dict[int, list[_Value]] = {}
        self._strings: list[str] = []
        for table in tables:
            self.add_table(table)

    def add_table(self, data: bytes) -> None:
        """Index one module's ``resources.pb``; :class:`BundleFormatError` (and nothing added)
        when it is malformed."""
        values: dict[int, list[_Value]] = {}
        strings: list[str] = []
        self._index(data, values, strings)
        for rid, found in values.items():
            self._values.setdefault(rid, []).extend(found)
        self._strings.extend(strings)

    def _index(self, data: bytes, values: dict[int, list[_Value]], strings: list[str]) -> None:
        for package in _bytes(_fields(data, "resources.pb"), 2):
            pkg = _fields(package, "resources.pb package")
            pkg_id = _int(_fields(_first_bytes(pkg, 1) or b"", "package id"), 1) or 0
            for type_raw in _bytes(pkg, 3):
                type_fields = _fields(type_raw, "resources.pb type")
                type_id = _int(_fields(_first_bytes(type_fields, 1) or b"", "type id"), 1) or 0
                for entry_raw in _bytes(type_fields, 3):
                    entry = _fields(entry_raw, "resources.pb entry")
                    entry_id = _int(_fields(_first_bytes(entry, 1) or b"", "entry id"), 1) or 0
                    rid = ((pkg_id & 0xFF) << 24) | ((type_id & 0xFF) << 16) | (entry_id & 0xFFFF)
                    for config_value in _bytes(entry, 6):
                        self._add(rid, _fields(config_value, "resources.pb value"), values, strings)

    @staticmethod
    def _add(rid: int, config_value: list[ProtoField], values: dict[int, list[_Value]], strings: list[str]) -> None:
        config = _first_bytes(config_value, 1) or b""
        value = _fields(_first_bytes(config_value, 2) or b"", "resources.pb value")
        item = _first_bytes(value, 4)
        if item is None:
            return  # compound values (arrays, styles, plurals) are never a label or a file
        locale = _text(_fields(config, "resources.pb configuration"), 3)
        values.setdefault(rid, []).append(_Value(locale, not config, item))
        text = item_value(item)
        if text and not text.startswith(("@", "?")) and text not in ("true", "false"):
            strings.append(text)

    def _texts(self, value: str, depth: int = 0, seen: set[int] | None = None) -> list[tuple[_Value, str]]:
        """(entry, text) of every configuration of a reference, following references to others
        (each resource expanded once per lookup, so a self-referencing table costs nothing)."""
        match = re.match(r"^@(?:([\w.]+):)?([0-9A-Fa-f]{8})$", value)
        if match is None or match.group(1) == "android":
            return []
        out: list[tuple[_Value, str]] = []
        rid = int(match.group(2), 16)
        seen = set() if seen is None else seen
        if rid in seen:
            return out
        seen.add(rid)
        for entry in self._values.get(rid, []):
            try:
                text = item_value(entry.item)
            except BundleFormatError:
                continue
            if text is None:
                continue
            if text.startswith("@"):  # a reference: its target's values (never the reference itself)
                if depth < 8:
                    out.extend((entry, t) for _e, t in self._texts(text, depth + 1, seen))
            else:
                out.append((entry, text))
        return out

    def resolve(self, value: str | None) -> str | None:
        """The default-configuration value of a reference (see :meth:`ResourceTable.resolve`)."""
        if value is None or not self.is_reference(value):
            return value
        found = self._texts(value)
        if not found:
            return None
        for entry, text in found:
            if entry.default:
                return text
        for entry, text in found:
            if not entry.locale:
                return text
        return found[0][1]

    def resolve_zh_cn(self, value: str | None) -> str | None:
        """The value a zh-CN device would show (see :meth:`ResourceTable.resolve_zh_cn`)."""
        if value is None or not self.is_reference(value):
            return None
        ranked: list[tuple[int, str]] = []
        for entry, text in self._texts(value):
            parts = entry.locale.replace("_", "-").split("-")
            if parts[0].lower() != "zh":
                continue
            rest = [p.lower() for p in parts[1:]]
            if "cn" in rest:
                ranked.append((0, text))
            elif "hans" in rest:
                ranked.append((1, text))
            elif not rest:
                ranked.append((2, text))
        return min(ranked)[1] if ranked else None

    def strings(self) -> list[str]:
        """Every string value of the modules' resource tables (all configurations)."""
        return list(self._strings)


# --- the bundle as a whole ----------------------------------------------------------------------

@dataclass
class AppBundle:
    """An opened bundle: its base module's view, the merged manifest and resources, the other modules."""

    modules: list[str]
    base: ModuleArchive
    features: list[ModuleArchive]
    manifest: Any  #: lxml root: the base manifest, with the feature modules' components added
    resources: ProtoResources
    problems: list[tuple[str, str]]  #: (module or entry, why it was not read)


def open_app_bundle(archive: ZipArchive, read_usable: Callable[[str], bool] = lambda _n: True) -> AppBundle:
    """The bundle behind ``archive`` (which the returned views own); :class:`BundleFormatError`
    when the base module's manifest is missing or unreadable, which leaves nothing to scan."""
    names = archive.names()
    modules = bundle_modules(names)
    if BASE not in modules:
        raise BundleFormatError("the bundle has no base module (base/manifest/AndroidManifest.xml)")
    base = ModuleArchive(archive, BASE, owns=True)
    problems: list[tuple[str, str]] = []
    try:
        manifest = xml_root(base.read("AndroidManifest.xml", max_bytes=budgets().file_bytes), "base/manifest/AndroidManifest.xml")
    except EntryError as exc:
        raise BundleFormatError(f"base/manifest/AndroidManifest.xml cannot be used: {exc.message}") from None
    resources = ProtoResources()
    features: list[ModuleArchive] = []
    for module in modules:
        view = base if module == BASE else ModuleArchive(archive, module)
        if module != BASE:
            features.append(view)
            try:
                feature_manifest = view.read("AndroidManifest.xml", max_bytes=budgets().file_bytes)
                merge_split_manifest(manifest, xml_root(feature_manifest, f"{module}/{MANIFEST_IN_MODULE}"))
            except (EntryError, BundleFormatError) as exc:
                problems.append((f"{module}/{MANIFEST_IN_MODULE}", _message(exc)))
        if view.bundle_name("resources.pb") is None or not read_usable(f"{module}/resources.pb"):
            continue
        try:
            resources.add_table(view.read("resources.pb"))
        except (EntryError, BundleFormatError) as exc:
            problems.append((f"{module}/resources.pb", _message(exc)))
    return AppBundle(modules=modules, base=base, features=features, manifest=manifest, resources=resources, problems=problems)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, EntryError) else str(exc)


def is_proto_xml(data: bytes) -> bool:
    """Whether an XML file of a bundle is protobuf XML (binary XML starts with chunk type 0x0003)."""
    return bool(data) and not data.startswith(b"\x03\x00") and data[:1] == b"\x0a"
