"""Facts from AndroidManifest.xml: identity, SDK levels, permissions, components and flags.

Works on the lxml tree androguard decodes from the binary manifest (``APK.get_android_manifest_xml``)
plus a :class:`~scanner.apk.labels.ResourceTable` for ``@7F050007``-style references. Component
``exported`` is computed the way Android does: an explicit ``android:exported`` wins; otherwise a
component is exported iff it has an intent filter, except providers, which are exported by
default when minSdk or targetSdk is 16 or lower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from .labels import ResourceTable
from .permissions import UsesPermission

NS = "{http://schemas.android.com/apk/res/android}"
COMPONENT_TAGS = ("activity", "activity-alias", "service", "receiver", "provider")
USES_PERMISSION_TAGS = {"uses-permission": "uses-permission", "uses-permission-sdk-23": "uses-permission-sdk-23",
                        "uses-permission-sdk-m": "uses-permission-sdk-23"}

#: broadcasts that start an app's receiver without any UI (self-start, 自启动)
BOOT_ACTIONS = frozenset({
    "android.intent.action.BOOT_COMPLETED",
    "android.intent.action.LOCKED_BOOT_COMPLETED",
    "android.intent.action.QUICKBOOT_POWERON",
    "com.htc.intent.action.QUICKBOOT_POWERON",
    "android.intent.action.REBOOT",
    "android.intent.action.USER_PRESENT",
    "android.intent.action.USER_UNLOCKED",
    "android.intent.action.PACKAGE_ADDED",
    "android.intent.action.PACKAGE_REPLACED",
    "android.intent.action.PACKAGE_REMOVED",
    "android.intent.action.MY_PACKAGE_REPLACED",
    "android.net.conn.CONNECTIVITY_CHANGE",
    "android.intent.action.ACTION_POWER_CONNECTED",
    "android.intent.action.ACTION_POWER_DISCONNECTED",
})
_DATA_ATTRS = ("scheme", "host", "port", "path", "pathPrefix", "pathPattern", "pathAdvancedPattern",
               "pathSuffix", "mimeType", "mimeGroup", "ssp", "sspPrefix", "sspPattern")
_PROTECTION_BASE = {0: "normal", 1: "dangerous", 2: "signature", 3: "signatureOrSystem"}
_PROTECTION_FLAGS = {
    0x10: "privileged", 0x20: "development", 0x40: "appop", 0x80: "pre23", 0x100: "installer",
    0x200: "verifier", 0x400: "preinstalled", 0x800: "setup", 0x1000: "instant", 0x2000: "runtimeOnly",
    0x4000: "oem", 0x8000: "vendorPrivileged", 0x10000: "textClassifier", 0x20000: "wellbeing",
    0x40000: "documenter", 0x80000: "configurator", 0x100000: "incidentReportApprover",
    0x200000: "appPredictor", 0x400000: "module", 0x800000: "companion", 0x1000000: "retailDemo",
    0x2000000: "recents", 0x4000000: "role", 0x8000000: "knownSigner",
}


@dataclass(frozen=True)
class IntentFilter:
    """One ``<intent-filter>``: action and category names, and each ``<data>`` as a string."""

    actions: tuple[str, ...]
    categories: tuple[str, ...]
    data: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The result-format dict."""
        return {"actions": list(self.actions), "categories": list(self.categories), "data": list(self.data)}


@dataclass(frozen=True)
class Component:
    """An application, activity, activity-alias, service, receiver or provider of the manifest."""

    kind: str
    name: str
    exported: bool
    exported_reason: str
    enabled: bool
    permission: str | None
    intent_filters: tuple[IntentFilter, ...]
    authorities: tuple[str, ...]
    runs_before_ui: bool
    before_ui_reason: str | None
    target_activity: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``components`` fact in the documented key order."""
        return {
            "id": f"component:{self.kind}:{self.name}",
            "kind": self.kind,
            "name": self.name,
            "exported": self.exported,
            "exported_reason": self.exported_reason,
            "enabled": self.enabled,
            "permission": self.permission,
            "intent_filters": [f.to_json() for f in self.intent_filters],
            "authorities": list(self.authorities),
            "runs_before_ui": self.runs_before_ui,
            "before_ui_reason": self.before_ui_reason,
        }


@dataclass(frozen=True)
class Sdk:
    """SDK levels: declared values (``None`` when absent) and the effective ones Android uses."""

    min_sdk: int | None
    target_sdk: int | None
    max_sdk: int | None
    compile_sdk: int | None

    @property
    def effective_min(self) -> int:
        """minSdkVersion, 1 when absent (Android's default)."""
        return self.min_sdk if self.min_sdk is not None else 1

    @property
    def effective_target(self) -> int:
        """targetSdkVersion, minSdkVersion when absent (Android's default)."""
        return self.target_sdk if self.target_sdk is not None else self.effective_min


@dataclass(frozen=True)
class Manifest:
    """Everything static.py needs from the manifest, already resolved."""

    package: str
    version_name: str | None
    version_code: str | None
    label_ref: str | None
    sdk: Sdk
    application_class: str | None
    app_enabled: bool
    debuggable: bool
    allow_backup: bool
    uses_cleartext_traffic: bool | None
    network_security_config: str | None
    uses_permissions: tuple[UsesPermission, ...]
    custom_permissions: tuple[tuple[str, str], ...]
    components: tuple[Component, ...]
    queries: dict[str, list[str]]
    meta_data: tuple[tuple[str, str | None], ...]
    launcher_activities: tuple[str, ...]
    launcher_label_ref: str | None = None
    unresolved: tuple[str, ...] = field(default=())


def _attr(el: Any, name: str) -> str | None:
    value = el.get(NS + name)
    return value if value is not None else el.get(name)


def _iter_tags(root: Any, *tags: str) -> Iterator[Any]:
    """Elements with one of the tag names, in document order (also the ``android:``-prefixed form)."""
    wanted = set(tags) | {NS + t for t in tags}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag in wanted:
            yield el


def _local(tag: str) -> str:
    return tag[len(NS):] if tag.startswith(NS) else tag


def class_name(package: str, value: str) -> str:
    """A manifest class name made absolute as Android does: ``.Foo`` and ``Foo`` -> ``<package>.Foo``."""
    if value and package:
        if value.startswith("."):
            return package + value
        if "." not in value:
            return f"{package}.{value}"
    return value


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value, 0) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    low = value.strip().lower()
    if low in ("true", "1", "-1", "0xffffffff"):
        return True
    if low in ("false", "0", "0x0"):
        return False
    return None


def protection_level_name(value: str | None) -> str:
    """``0x00000012`` -> ``signature|privileged``; names pass through; absent -> ``normal``."""
    if not value:
        return "normal"
    number = _int(value)
    if number is None:
        return value
    names = [_PROTECTION_BASE.get(number & 0xF, f"0x{number & 0xF:x}")]
    names += [name for bit, name in sorted(_PROTECTION_FLAGS.items()) if number & bit]
    return "|".join(names)


class _Reader:
    """Resolves attribute values of one manifest, remembering references it could not resolve."""

    def __init__(self, resources: ResourceTable) -> None:
        self.resources = resources
        self.unresolved: set[str] = set()

    def value(self, el: Any, name: str) -> str | None:
        raw = _attr(el, name)
        if raw is None or not ResourceTable.is_reference(raw):
            return raw
        resolved = self.resources.resolve(raw)
        if resolved is None:
            self.unresolved.add(f"{_local(el.tag)}@{name}={raw}")
        return resolved

    def flag(self, el: Any, name: str) -> bool | None:
        return _bool(self.value(el, name))


def _intent_filters(reader: _Reader, el: Any) -> tuple[IntentFilter, ...]:
    filters = []
    for flt in el:
        if not isinstance(flt.tag, str) or _local(flt.tag) != "intent-filter":
            continue
        actions: list[str] = []
        categories: list[str] = []
        data: list[str] = []
        for item in flt:
            if not isinstance(item.tag, str):
                continue
            tag = _local(item.tag)
            if tag in ("action", "category"):
                name = reader.value(item, "name")
                target = actions if tag == "action" else categories
                if name and name not in target:
                    target.append(name)
            elif tag == "data":
                parts = [f"{a}={v}" for a in _DATA_ATTRS if (v := reader.value(item, a))]
                if parts:
                    data.append(" ".join(parts))
        filters.append(IntentFilter(tuple(sorted(actions)), tuple(sorted(categories)), tuple(sorted(set(data)))))
    return tuple(filters)


def _exported(kind: str, explicit: bool | None, has_filters: bool, sdk: Sdk) -> tuple[bool, str]:
    if explicit is not None:
        return explicit, "explicit"
    if kind == "provider":
        return (sdk.effective_min <= 16 or sdk.effective_target <= 16), "default"
    if has_filters:
        return True, "intent-filter"
    return False, "default"


def _components(reader: _Reader, root: Any, package: str, sdk: Sdk, app_enabled: bool) -> list[Component]:
    out: list[Component] = []
    seen: set[tuple[str, str]] = set()
    for el in _iter_tags(root, *COMPONENT_TAGS):
        kind = _local(el.tag)
        raw_name = _attr(el, "name")
        if not raw_name:
            continue
        name = class_name(package, raw_name)
        if (kind, name) in seen:  # Android keeps the first declaration
            continue
        seen.add((kind, name))
        filters = _intent_filters(reader, el)
        exported, reason = _exported(kind, reader.flag(el, "exported"), bool(filters), sdk)
        enabled = app_enabled and reader.flag(el, "enabled") is not False
        authorities: tuple[str, ...] = ()
        if kind == "provider":
            auth = reader.value(el, "authorities") or ""
            authorities = tuple(sorted({a.strip() for a in auth.split(";") if a.strip()}))
        before, why = False, None
        if enabled and kind == "provider":
            before, why = True, "provider"
        elif enabled and kind == "receiver" and any(set(f.actions) & BOOT_ACTIONS for f in filters):
            before, why = True, "boot_receiver"
        target = _attr(el, "targetActivity")
        out.append(Component(
            kind=kind, name=name, exported=exported, exported_reason=reason, enabled=enabled,
            permission=reader.value(el, "permission"), intent_filters=filters, authorities=authorities,
            runs_before_ui=before, before_ui_reason=why,
            target_activity=class_name(package, target) if target else None,
        ))
    return out


def _uses_permissions(reader: _Reader, root: Any) -> tuple[UsesPermission, ...]:
    merged: dict[str, tuple[list[int | None], list[str]]] = {}
    for el in _iter_tags(root, *USES_PERMISSION_TAGS):
        name = _attr(el, "name")
        if not name:
            continue
        max_sdk = _int(reader.value(el, "maxSdkVersion"))
        maxes, kinds = merged.setdefault(name, ([], []))
        maxes.append(max_sdk)
        kind = USES_PERMISSION_TAGS[_local(el.tag)]
        if kind not in kinds:
            kinds.append(kind)
    out = []
    for name, (maxes, kinds) in merged.items():
        # an entry without maxSdkVersion requests it on every level: no limit overall
        limit = None if any(m is None for m in maxes) else max(m for m in maxes if m is not None)
        out.append(UsesPermission(name=name, max_sdk_version=limit, declared_as=tuple(sorted(kinds))))
    return tuple(sorted(out, key=lambda u: u.name))


def _queries(reader: _Reader, root: Any) -> dict[str, list[str]]:
    packages: set[str] = set()
    intents: set[str] = set()
    providers: set[str] = set()
    for q in _iter_tags(root, "queries"):
        for child in q:
            if not isinstance(child.tag, str):
                continue
            tag = _local(child.tag)
            if tag == "package" and (name := reader.value(child, "name")):
                packages.add(name)
            elif tag == "provider" and (auth := reader.value(child, "authorities")):
                providers.update(a.strip() for a in auth.split(";") if a.strip())
            elif tag == "intent":
                parts = []
                for item in child:
                    if not isinstance(item.tag, str):
                        continue
                    itag = _local(item.tag)
                    if itag in ("action", "category") and (name := reader.value(item, "name")):
                        parts.append(f"{itag}={name}")
                    elif itag == "data":
                        parts.extend(f"{a}={v}" for a in _DATA_ATTRS if (v := reader.value(item, a)))
                if parts:
                    intents.add(" ".join(parts))
    return {"packages": sorted(packages), "intents": sorted(intents), "providers": sorted(providers)}


def _launchers(reader: _Reader, root: Any, package: str) -> tuple[tuple[str, ...], str | None]:
    """Launcher activities (sorted) and the label attribute of the first one in the manifest."""
    out = set()
    label = None
    for el in _iter_tags(root, "activity", "activity-alias"):
        if reader.flag(el, "enabled") is False or not _attr(el, "name"):
            continue
        for flt in _intent_filters(reader, el):
            if "android.intent.action.MAIN" in flt.actions and "android.intent.category.LAUNCHER" in flt.categories:
                out.add(class_name(package, _attr(el, "name") or ""))
                label = label or _attr(el, "label")
    return tuple(sorted(out)), label


_COMPONENT_TAGS = frozenset({"activity", "activity-alias", "service", "receiver", "provider"})


def merge_split_manifest(base: Any, feature: Any) -> None:
    """Add the components a split (or a bundle's feature module) declares to the base manifest
    tree, each once.

    Only components: Android reads a split's ``<application>`` and takes permissions from the base
    APK's manifest alone (build tools merge a feature's ``uses-permission`` into the base manifest),
    so a permission named only by a split is not one the app gets. What the base already has, by
    (tag, ``android:name``), is not added again, so nothing is reported twice.
    """
    android = "{http://schemas.android.com/apk/res/android}name"
    application = base.find("application")
    feature_app = feature.find("application")
    if application is None or feature_app is None:
        return
    seen = {(el.tag, el.get(android)) for el in application if el.get(android)}
    for el in list(feature_app):
        key = (el.tag, el.get(android))
        if el.tag in _COMPONENT_TAGS and key[1] and key not in seen:
            seen.add(key)
            application.append(el)


def parse_manifest(root: Any, resources: ResourceTable) -> Manifest:
    """Read the decoded manifest tree (``<manifest>`` element) into a :class:`Manifest`."""
    reader = _Reader(resources)
    package = _attr(root, "package") or ""
    uses_sdk = next(_iter_tags(root, "uses-sdk"), None)

    def sdk_attr(name: str) -> int | None:
        return _int(reader.value(uses_sdk, name)) if uses_sdk is not None else None

    compile_sdk = _int(reader.value(root, "compileSdkVersion"))
    if compile_sdk is None:
        compile_sdk = _int(root.get("platformBuildVersionCode"))
    sdk = Sdk(sdk_attr("minSdkVersion"), sdk_attr("targetSdkVersion"), sdk_attr("maxSdkVersion"), compile_sdk)

    app = next(_iter_tags(root, "application"), None)
    app_enabled = True
    application_class = None
    debuggable, allow_backup, cleartext, nsc, label_ref = False, True, None, None, None
    meta: list[tuple[str, str | None]] = []
    components: list[Component] = []
    if app is not None:
        app_enabled = reader.flag(app, "enabled") is not False
        name = _attr(app, "name")
        application_class = class_name(package, name) if name else None
        debuggable = reader.flag(app, "debuggable") is True
        allow_backup = reader.flag(app, "allowBackup") is not False
        cleartext = reader.flag(app, "usesCleartextTraffic")
        nsc = _attr(app, "networkSecurityConfig")
        label_ref = _attr(app, "label")
        for child in app:
            if isinstance(child.tag, str) and _local(child.tag) == "meta-data" and (key := _attr(child, "name")):
                value = reader.value(child, "value")
                if value is None and _attr(child, "resource") is not None:
                    value = reader.value(child, "resource")
                meta.append((key, value))
        if application_class:
            components.append(Component(
                kind="application", name=application_class, exported=False, exported_reason="default",
                enabled=app_enabled, permission=reader.value(app, "permission"), intent_filters=(),
                authorities=(), runs_before_ui=app_enabled, before_ui_reason="application" if app_enabled else None,
            ))
    components.extend(_components(reader, root, package, sdk, app_enabled))
    components.sort(key=lambda c: (c.kind, c.name))

    custom = {}
    for el in _iter_tags(root, "permission"):
        name = _attr(el, "name")
        if name and name not in custom:
            custom[name] = protection_level_name(reader.value(el, "protectionLevel"))

    version_name = reader.value(root, "versionName")
    launchers, launcher_label = _launchers(reader, root, package)
    return Manifest(
        package=package,
        version_name=version_name,
        version_code=reader.value(root, "versionCode"),
        label_ref=label_ref,
        sdk=sdk,
        application_class=application_class,
        app_enabled=app_enabled,
        debuggable=debuggable,
        allow_backup=allow_backup,
        uses_cleartext_traffic=cleartext,
        network_security_config=nsc,
        uses_permissions=_uses_permissions(reader, root),
        custom_permissions=tuple(sorted(custom.items())),
        components=tuple(components),
        queries=_queries(reader, root),
        meta_data=tuple(sorted(meta, key=lambda kv: (kv[0], kv[1] or ""))),
        launcher_activities=launchers,
        launcher_label_ref=launcher_label,
        unresolved=tuple(sorted(reader.unresolved)),
    )


def _nsc_flag(el: Any, inherited: bool) -> bool:
    value = _bool(el.get("cleartextTrafficPermitted") or _attr(el, "cleartextTrafficPermitted"))
    return inherited if value is None else value


def _user_certs(el: Any) -> bool:
    for anchors in el:
        if isinstance(anchors.tag, str) and anchors.tag == "trust-anchors":
            for cert in anchors:
                if isinstance(cert.tag, str) and cert.tag == "certificates" and (cert.get("src") or _attr(cert, "src")) == "user":
                    return True
    return False


def parse_network_security_config(root: Any, file: str, target_sdk: int, debuggable: bool) -> dict[str, Any]:
    """The ``network_security_config`` block from a decoded ``res/xml/…`` config tree.

    ``base_cleartext_permitted`` is the ``<base-config>`` value, else Android's default (true
    only for targetSdk < 28). ``cleartext_permitted_domains`` lists every domain of a
    ``<domain-config>`` (nested ones inherit) that permits cleartext. ``user_certs_trusted`` is
    true when any trust anchor accepts user-installed CAs (``<debug-overrides>`` only counts
    for a debuggable app).
    """
    base = target_sdk < 28
    user_certs = False
    domains: set[str] = set()

    def walk_domain_config(el: Any, inherited: bool) -> None:
        nonlocal user_certs
        permitted = _nsc_flag(el, inherited)
        user_certs = user_certs or _user_certs(el)
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "domain" and permitted and (child.text or "").strip():
                domains.add(child.text.strip().lower())
            elif child.tag == "domain-config":
                walk_domain_config(child, permitted)

    for el in root.iter("base-config"):
        base = _nsc_flag(el, base)
        user_certs = user_certs or _user_certs(el)
    for el in root:
        if isinstance(el.tag, str) and el.tag == "domain-config":
            walk_domain_config(el, base)
        elif isinstance(el.tag, str) and el.tag == "debug-overrides" and debuggable:
            user_certs = user_certs or _user_certs(el)
    return {
        "file": file,
        "base_cleartext_permitted": base,
        "cleartext_permitted_domains": sorted(domains),
        "user_certs_trusted": user_certs,
    }
