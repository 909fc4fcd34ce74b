"""Collect an APK's static, non-code facts: identity, signing, permissions, components, manifest
flags and endpoints in resources and assets.

:func:`collect_static` is what ``piscan scan`` calls after :func:`scanner.apk.archive.open_apk`.
It never parses DEX: code facts (and DEX-string endpoints, via
:func:`scanner.apk.endpoints.extract_endpoints`) are collected separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterator

from ..errors import InputError
from ..policy.discover import looks_like_policy
from ..model.records import Limitation
from .appbundle import BundleFormatError, is_proto_xml, xml_root
from .archive import ApkInput
from .certs import collect_bundle_signing, collect_signing
from .endpoints import extract_endpoints
from .labels import ResourceTable
from .manifest import Manifest, merge_split_manifest, parse_manifest, parse_network_security_config
from .permissions import CATALOGUE_ID, PermissionCatalogue, load_catalogue, permission_facts

#: endpoint scan caps: an asset larger than this is not searched (a limitation says so)
ASSET_CAP = 4 << 20
ASSETS_TOTAL_CAP = 64 << 20
_BINARY_EXT = frozenset("""
png jpg jpeg gif webp bmp ico mp3 mp4 ogg wav m4a aac amr flac mkv webm avi 3gp ttf otf woff woff2
so dex jar apk zip gz bz2 xz 7z rar tar arsc bin dat db sqlite realm pb tflite model mnn onnx pkm
ktx astc etc1 atlas fnt ser class keystore bks jks p12 pfx cer der crt
""".split())
_URL_MARK = (b"://", "://".encode("utf-16-le"))
_NS_MARK = (b"schemas.android.com/", "schemas.android.com/".encode("utf-16-le"))
#: frameworks and shells whose Application class is not the app maker's own code
_NOT_FIRST_PARTY = ("android.", "androidx.", "com.android.", "com.google.", "java.", "javax.", "kotlin.",
                    "dalvik.", "com.stub.", "com.secneo.", "com.secshell.", "com.tencent.StubShell",
                    "com.tencent.tinker.", "com.tencent.bugly.", "io.dcloud.", "com.baidu.protect.",
                    "com.shell.", "com.ali.mobisecenginesdk.", "com.bangcle.")


@dataclass(frozen=True)
class EntryPoints:
    """Classes whose code runs before any UI: the Application subclass, every enabled
    ContentProvider, and receivers of boot / unlock / package broadcasts (dotted names)."""

    application: str | None
    providers: tuple[str, ...]
    boot_receivers: tuple[str, ...]

    def classes(self) -> list[str]:
        """Every entry-point class, application first, then providers, then receivers."""
        head = [self.application] if self.application else []
        return head + list(self.providers) + list(self.boot_receivers)

    def to_json(self) -> dict[str, Any]:
        """Plain dict (for debugging and tests)."""
        return {"application": self.application, "providers": list(self.providers),
                "boot_receivers": list(self.boot_receivers)}


@dataclass(frozen=True)
class StaticFacts:
    """What :func:`collect_static` found: the ``app`` block, fact sections and limitations."""

    app: dict[str, Any]
    sections: dict[str, Any]
    limitations: list[Limitation] = field(default_factory=list)
    entry_points: EntryPoints = EntryPoints(None, (), ())
    #: data packs used, as keyword arguments for :func:`scanner.result.add_pack`
    packs: list[dict[str, str]] = field(default_factory=list)


def first_party_prefixes(package: str, application_class: str | None) -> list[str]:
    """The app's own package prefixes: the package, plus the Application class's package when it
    lies outside it and is not a framework, hot-fix or packer shell class (sorted)."""
    prefixes = {package} if package else set()
    if application_class and "." in application_class:
        owner = application_class.rsplit(".", 1)[0]
        inside = any(owner == p or owner.startswith(p + ".") for p in prefixes)
        if not inside and owner.count(".") >= 1 and not application_class.startswith(_NOT_FIRST_PARTY):
            prefixes.add(owner)
    return sorted(prefixes)


def _app_block(apk: ApkInput, manifest: Manifest, resources: ResourceTable) -> dict[str, Any]:
    ref = manifest.label_ref or manifest.launcher_label_ref  # Android falls back to the launcher's label
    label = resources.label(ref) if ref else {"default": None, "zh-CN": None}
    return {
        "platform": "android",
        "package": manifest.package or None,
        "label": label,
        "version_name": manifest.version_name,
        "version_code": manifest.version_code,
        "min_sdk": manifest.sdk.min_sdk,
        "target_sdk": manifest.sdk.target_sdk,
        "compile_sdk": manifest.sdk.compile_sdk,
        "max_sdk": manifest.sdk.max_sdk,
        "application_class": manifest.application_class,
        "first_party_prefixes": first_party_prefixes(manifest.package, manifest.application_class),
        "input_note": apk.note,
    }


def is_native_lib(name: str) -> bool:
    """Whether an APK entry is a native library the installer extracts (``lib/<abi>/<name>.so``)."""
    parts = name.split("/")
    return len(parts) == 3 and parts[0] == "lib" and parts[2].endswith(".so")


def _native_libs(entries: tuple[str, ...]) -> dict[str, list[str]]:
    libs: dict[str, set[str]] = {}
    for name in entries:
        if is_native_lib(name):
            _lib, abi, file = name.split("/")
            libs.setdefault(abi, set()).add(file)
    return {abi: sorted(names) for abi, names in sorted(libs.items())}


def _decode_xml(data: bytes, proto: bool = False) -> Any | None:
    """Binary XML (of an APK) or, with ``proto``, protobuf XML (of an App Bundle) as an lxml tree;
    ``None`` if it is not that. An APK's XML is binary XML only, as Android reads it."""
    from androguard.core.axml import AXMLPrinter

    if proto and is_proto_xml(data):
        try:
            return xml_root(data)
        except BundleFormatError:
            return None
    try:
        printer = AXMLPrinter(data)
        return printer.get_xml_obj() if printer.is_valid() else None
    except Exception:  # noqa: BLE001 - not binary XML or damaged
        return None


def _network_security_config(
    apk: ApkInput, manifest: Manifest, resources: ResourceTable, limitations: list[Limitation]
) -> dict[str, Any] | None:
    ref = manifest.network_security_config
    if not ref:
        return None
    file = resources.resolve(ref)
    if not file or not apk.has(file):
        limitations.append(Limitation("entry_unreadable", f"network security config {ref} could not be resolved", "manifest"))
        return None
    data = _read_or_note(apk, file, limitations)
    root = _decode_xml(data, apk.bundle is not None) if data is not None else None
    if root is None:
        form = "protobuf" if apk.bundle is not None else "binary"
        limitations.append(Limitation("entry_unreadable", f"network security config {file} is not valid {form} XML", file))
        return None
    return parse_network_security_config(root, file, manifest.sdk.effective_target, manifest.debuggable)


def _manifest_section(
    apk: ApkInput, manifest: Manifest, resources: ResourceTable, limitations: list[Limitation]
) -> dict[str, Any]:
    explicit = manifest.uses_cleartext_traffic
    return {
        "id": "manifest",
        "debuggable": manifest.debuggable,
        "allow_backup": manifest.allow_backup,
        "uses_cleartext_traffic": explicit if explicit is not None else manifest.sdk.effective_target < 28,
        "uses_cleartext_traffic_explicit": explicit is not None,
        "network_security_config": _network_security_config(apk, manifest, resources, limitations),
        "queries": manifest.queries,
        "query_all_packages": any(u.name == "android.permission.QUERY_ALL_PACKAGES" for u in manifest.uses_permissions),
        "meta_data": [{"name": k, "value": v} for k, v in manifest.meta_data],
        # the libraries of every split (or feature module) are installed with the base APK's
        "native_libs": _native_libs((*apk.entries, *(name for split in apk.splits for name in split.entries))),
        "launcher_activities": list(manifest.launcher_activities),
    }


def _xml_strings(root: Any) -> Iterator[str]:
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        yield from el.attrib.values()
        if el.text and el.text.strip():
            yield el.text


def _read_or_note(apk: ApkInput, name: str, limitations: list[Limitation] | None) -> bytes | None:
    """An entry's bytes, or ``None`` (and an ``entry_unreadable`` limitation) when it is damaged."""
    try:
        return apk.read(name)
    except InputError as exc:
        if limitations is not None:
            limitations.append(Limitation("entry_unreadable", exc.message, name))
        return None


def _entry_usable(apk: ApkInput, name: str, limitations: list[Limitation]) -> bool:
    """Whether an entry that androguard reads itself fits the budgets (checked with the bounded
    reader first); otherwise a limitation names it and androguard never sees it."""
    if not apk.has(name):
        return True
    try:
        apk.read(name)
    except InputError as exc:
        limitations.append(Limitation("entry_unreadable", f"{exc.message}; resource names stay unresolved", name))
        return False
    return True


def _has_url(data: bytes) -> bool:
    """Whether binary XML holds a URL besides the Android XML namespace every layout carries."""
    urls = sum(data.count(mark) for mark in _URL_MARK)
    return urls > sum(data.count(mark) for mark in _NS_MARK)


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def endpoint_sources(
    apk: ApkInput, resources: ResourceTable, limitations: list[Limitation] | None = None
) -> list[tuple[str, str, list[str]]]:
    """``(file, kind, strings)`` sources for endpoint extraction from resources and assets.

    Resources: the ``resources.arsc`` string pool and every decoded ``res/**.xml`` and text
    ``res/raw`` file. Assets: text files under ``assets/`` up to :data:`ASSET_CAP` each (larger
    ones are skipped and reported in ``limitations`` when given). Bundled privacy documents are
    left out: their hosts are declarations, not the app's endpoints.
    """
    sources: list[tuple[str, str, list[str]]] = []
    strings = resources.strings()
    if strings:
        sources.append(("resources.pb" if apk.bundle is not None else "resources.arsc", "resource", strings))
    total = 0
    for name in apk.entries:
        path = PurePosixPath(name)
        ext = path.suffix.lower().lstrip(".")
        if name.startswith("res/") and ext == "xml":
            data = _read_or_note(apk, name, limitations)
            if data is None:
                continue
            # layouts and drawables rarely hold endpoints: decode them only when a URL is visible
            if not name.startswith("res/xml") and not _has_url(data):
                continue
            root = _decode_xml(data, apk.bundle is not None)
            if root is not None:
                sources.append((name, "resource", list(_xml_strings(root))))
            continue
        is_raw = name.startswith("res/raw/")
        if not (is_raw or name.startswith("assets/")) or ext in _BINARY_EXT or name.endswith("/"):
            continue
        if total >= ASSETS_TOTAL_CAP:
            if limitations is not None:
                limitations.append(Limitation(
                    "not_collected", f"{name} not searched for endpoints: the {ASSETS_TOTAL_CAP >> 20} MiB total cap was reached", name))
            continue
        data = _read_or_note(apk, name, limitations)
        if data is None or _looks_binary(data):
            continue
        if looks_like_policy(data):
            # a bundled privacy policy or SDK list names SDK vendors' hosts and policy links: they are
            # declarations (read by the policy joiner), not endpoints the app talks to or SDK evidence
            continue
        if len(data) > ASSET_CAP:
            if limitations is not None:
                limitations.append(Limitation(
                    "not_collected", f"only the first {ASSET_CAP >> 20} MiB of {name} ({len(data)} bytes) were searched for endpoints", name))
            data = data[:ASSET_CAP]
        total += len(data)
        text = data.decode("utf-8", errors="replace")
        sources.append((name, "resource" if is_raw else "asset", text.splitlines()))
    return sources


def _entry_points(manifest: Manifest) -> EntryPoints:
    providers = sorted(c.name for c in manifest.components if c.before_ui_reason == "provider")
    receivers = sorted(c.name for c in manifest.components if c.before_ui_reason == "boot_receiver")
    application = manifest.application_class if manifest.app_enabled else None
    return EntryPoints(application=application, providers=tuple(providers), boot_receivers=tuple(receivers))


def _with_split_manifests(apk: ApkInput, root: Any, limitations: list[Limitation]) -> Any:
    """A copy of the base manifest with each split APK's permissions and components added (a
    feature split may declare its own); a split manifest that cannot be decoded is a limitation."""
    import copy

    merged = copy.deepcopy(root)
    for split in apk.splits:
        if not split.archive.copies("AndroidManifest.xml"):
            continue
        where = f"{split.name}!AndroidManifest.xml"
        try:
            data = split.archive.read("AndroidManifest.xml")
        except InputError as exc:
            limitations.append(Limitation("entry_unreadable", exc.message, where))
            continue
        tree = _decode_xml(data)
        if tree is None:
            limitations.append(Limitation("entry_unreadable", "the split's manifest is not valid binary XML; its "
                                          "permissions and components are not included", where))
            continue
        merge_split_manifest(merged, tree)
    return merged


def collect_static(apk: ApkInput, catalogue: PermissionCatalogue | None = None) -> StaticFacts:
    """Collect every static non-code fact of an opened APK (see the module docstring)."""
    limitations: list[Limitation] = []
    resources = apk.resource_table(lambda name: _entry_usable(apk, name, limitations))
    root = apk.manifest_root()
    if apk.bundle is None and apk.splits:
        root = _with_split_manifests(apk, root, limitations)
    manifest = parse_manifest(root, resources)
    for ref in manifest.unresolved:
        limitations.append(Limitation("entry_unreadable", f"unresolved resource reference {ref}", "AndroidManifest.xml"))

    if apk.bundle is not None:
        for where, reason in apk.bundle.problems:
            limitations.append(Limitation("entry_unreadable", reason, where))
        signing, sign_limits = collect_bundle_signing(apk.bundle.base.bundle)
    else:
        signing, sign_limits = collect_signing(apk.apk)
    limitations.extend(sign_limits)
    catalogue = catalogue or load_catalogue()
    sections: dict[str, Any] = {
        "signing": signing,
        "permissions": permission_facts(list(manifest.uses_permissions), manifest.sdk.effective_target, catalogue),
        "custom_permissions": [
            {"id": f"customperm:{name}", "name": name, "protection_level": level}
            for name, level in manifest.custom_permissions
        ],
        "components": [c.to_json() for c in manifest.components],
        "manifest": _manifest_section(apk, manifest, resources, limitations),
        "endpoints": extract_endpoints(endpoint_sources(apk, resources, limitations)),
    }
    return StaticFacts(
        app=_app_block(apk, manifest, resources),
        sections=sections,
        limitations=sorted(set(limitations), key=lambda lim: (lim.kind, lim.where or "", lim.detail)),
        entry_points=_entry_points(manifest),
        packs=[{"pack_id": CATALOGUE_ID, "kind": "catalogue", "version": catalogue.version, "sha256": catalogue.sha256}],
    )
