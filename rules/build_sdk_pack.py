#!/usr/bin/env python3
"""Regenerate the SDK knowledge pack (``rules/sdks/*.yaml``) from public lists and curated facts.

Sources (all read locally; nothing is downloaded):

* ``exodus``      εxodus tracker list as shipped by MobSF 4.5.3 (``exodus_trackers.mobsf-4.5.3.json``):
                  **not in the shipped pack**. εxodus data is AGPL-3.0 and MobSF GPL-3.0; PIScan and
                  its packs ship under Apache-2.0, so the default build leaves this list out.
                  ``--include-exodus`` builds a pack with it for local use only (never commit it).
* ``appscan``     TongchengOpenSource/AppScan Chinese SDK prefixes (``appscan-tongcheng-sdk.pylist.txt``,
                  a Python literal read with ``ast.literal_eval``)
* ``libchecker``  LibChecker rules bundle v42 (``libchecker-rules-bundle-v42.rules.csv``)
* ``apk-analyzer`` apk-analyzer 1.32.0 curated profiles (``apk-analyzer-…-signatures.tar.gz``)
* ``curated``     ``rules/sdk-sources/curated-cn.yaml`` (vendors, Chinese SDKs the lists miss, hosts
                  from ../shared/corpus/traffic/SDK-ENDPOINTS.md)

Entries are merged by SDK: curated records first claim the list entries they ``absorb``; every other
entry joins the record with the same normalised name, else the record that already owns one of its
exact signatures, else starts a new record. Every signature keeps the list of sources that gave it.
The output is sorted and byte-stable, so ``git diff`` shows exactly what an update changed.

Usage: ``python rules/build_sdk_pack.py --signatures ../shared/corpus/signatures [--out rules/sdks]``
(``--check`` compares instead of writing and exits 1 on a difference).
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import re
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CURATED = HERE / "sdk-sources" / "curated-cn.yaml"
PI_TYPES = HERE / "pi-types.yaml"
PACK_ID = "piscan-sdks"

SOURCE_FILES = {
    "exodus": "exodus_trackers.mobsf-4.5.3.json",
    "appscan": "appscan-tongcheng-sdk.pylist.txt",
    "libchecker": "libchecker-rules-bundle-v42.rules.csv",
    "apk-analyzer": "apk-analyzer-1.32.0-curated-sdk-signatures.tar.gz",
}
SOURCE_LICENCES = {
    "exodus": "AGPL-3.0 (εxodus), as shipped in MobSF (GPL-3.0)",
    "appscan": "Apache-2.0",
    "libchecker": "Apache-2.0",
    "apk-analyzer": "MIT",
    "curated": "Apache-2.0",
}
SIG_KINDS = ("code_prefix", "class_suffix", "component", "meta_data", "action", "native_lib", "host")
CATEGORIES = (
    "analytics", "push", "advertising", "maps_location", "payment", "login_share", "crash_reporting",
    "hotfix", "webview", "identity_ocr_face", "risk_control", "social", "customer_service",
    "media", "game", "cloud", "library", "other",
)
#: keyword (lower-case, matched in the names) -> category, first hit wins
CATEGORY_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("推送", "push"), ("push", "push"), ("fcm", "push"), ("消息", "push"),
    ("广告", "advertising"), ("ads", "advertising"), ("ad sdk", "advertising"), ("admob", "advertising"),
    ("推广", "advertising"), ("audience network", "advertising"), ("unity ads", "advertising"),
    ("applovin", "advertising"), ("ironsource", "advertising"), ("adcolony", "advertising"),
    ("统计", "analytics"), ("分析", "analytics"), ("analytics", "analytics"), ("灯塔", "analytics"),
    ("crash", "crash_reporting"), ("崩溃", "crash_reporting"), ("bugsnag", "crash_reporting"),
    ("sentry", "crash_reporting"), ("acra", "crash_reporting"), ("breakpad", "crash_reporting"),
    ("apm", "crash_reporting"), ("性能监控", "crash_reporting"),
    ("热修复", "hotfix"), ("hotfix", "hotfix"), ("tinker", "hotfix"), ("andfix", "hotfix"),
    ("robust", "hotfix"), ("patch", "hotfix"),
    ("地图", "maps_location"), ("定位", "maps_location"), ("map", "maps_location"),
    ("location", "maps_location"), ("lbs", "maps_location"), ("导航", "maps_location"),
    ("支付", "payment"), ("钱包", "payment"), ("pay", "payment"), ("billing", "payment"),
    ("银联", "payment"), ("银行", "payment"),
    ("登录", "login_share"), ("登陆", "login_share"), ("分享", "login_share"), ("share", "login_share"),
    ("login", "login_share"), ("oauth", "login_share"), ("sign-in", "login_share"),
    ("开放平台", "login_share"), ("账号", "login_share"), ("帐号", "login_share"),
    ("人脸", "identity_ocr_face"), ("实人", "identity_ocr_face"), ("活体", "identity_ocr_face"),
    ("ocr", "identity_ocr_face"), ("文字识别", "identity_ocr_face"), ("认证", "identity_ocr_face"),
    ("号码", "identity_ocr_face"), ("语音", "identity_ocr_face"), ("speech", "identity_ocr_face"),
    ("face", "identity_ocr_face"),
    ("风控", "risk_control"), ("设备指纹", "risk_control"), ("反作弊", "risk_control"),
    ("验证码", "risk_control"), ("captcha", "risk_control"), ("安全", "risk_control"),
    ("security", "risk_control"), ("防水墙", "risk_control"), ("可信", "risk_control"),
    ("webview", "webview"), ("浏览", "webview"), ("内核", "webview"), ("x5", "webview"),
    ("tbs", "webview"), ("cordova", "webview"), ("小程序", "webview"),
    ("客服", "customer_service"), ("im", "social"), ("即时通讯", "social"), ("通信", "social"),
    ("聊天", "social"), ("社交", "social"), ("云信", "social"), ("环信", "social"), ("融云", "social"),
    ("直播", "media"), ("音视频", "media"), ("视频", "media"), ("player", "media"), ("播放", "media"),
    ("rtc", "media"), ("游戏", "game"), ("game", "game"), ("云", "cloud"),
    ("图片", "library"), ("组件", "library"), ("框架", "library"),
)
#: exodus categories -> our category (fallback when the name has no keyword)
EXODUS_CATEGORY = {
    "Advertisement": "advertising", "Analytics": "analytics", "Crash reporting": "crash_reporting",
    "Location": "maps_location", "Profiling": "analytics", "Identification": "analytics",
}
#: apk-analyzer categories -> ours
APK_ANALYZER_CATEGORY = {
    "ads": "advertising", "analytics": "analytics", "bytedance_internal": "library", "map": "maps_location",
    "media": "media", "network": "library", "payment": "payment", "push": "push", "security": "risk_control",
    "social": "login_share", "storage": "library", "ui": "library", "webview": "webview",
}
#: apk-analyzer profiles that describe packers (rules/packers.yaml covers them, not the SDK pack)
APK_ANALYZER_PACKERS = {"qihoo_jiagu", "bangcle_guard", "aliguard", "tencent_appguard", "dexguard", "arxan_guard", "appdome"}
#: LibChecker labels that name packers/protectors rather than SDKs (see rules/packers.yaml)
LIBCHECKER_PACKER_RE = re.compile(r"加固|乐固|梆梆|爱加密|御安全|APKiD|AppSealing|PairIP|nmmp|Arxan|DexProtector")
#: apk-analyzer data_collection phrases -> PI type ids
PI_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("IMEI", "imei"), ("OAID", "advertising_id"), ("广告ID", "advertising_id"), ("Android ID", "android_id"),
    ("精确位置", "location_precise"), ("应用安装列表", "installed_apps"), ("设备型号", "device_info"),
    ("设备信息", "device_info"), ("华为账户", "account"), ("Firebase安装ID", "device_info"),
)
#: LibChecker rule type -> our signature kind (6 "static" is handled separately)
LIBCHECKER_TYPES = {"0": "native_lib", "1": "component", "2": "component", "3": "component", "4": "component", "5": "code_prefix", "9": "action"}
HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]$")
CODE_RE = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Record:
    """One SDK while the pack is being merged."""

    id: str
    name_zh: str | None = None
    name_en: str | None = None
    vendor_key: str | None = None
    category: str | None = None
    category_hint: str | None = None
    origin_hint: str | None = None
    curated: bool = False
    pi_types: dict[str, set[str]] = field(default_factory=dict)
    privacy_policy_url: str | None = None
    website: str | None = None
    aliases: set[str] = field(default_factory=set)
    reject: set[str] = field(default_factory=set)
    sigs: dict[tuple[str, str, bool], set[str]] = field(default_factory=dict)

    def add_sig(self, kind: str, value: str, source: str, regex: bool = False) -> None:
        """Add one signature with its source (unless the curated record rejects it)."""
        if value in self.reject and source != "curated":
            return
        self.sigs.setdefault((kind, value, regex), set()).add(source)

    def add_pi(self, pi: str, source: str) -> None:
        """Add one PI type with its source."""
        self.pi_types.setdefault(pi, set()).add(source)

    def sources(self) -> set[str]:
        """Every source that contributed a signature or the record itself."""
        out = {s for srcs in self.sigs.values() for s in srcs}
        if self.curated:
            out.add("curated")
        return out


def norm_name(name: str) -> str:
    """Name key for merging: lower case, no spaces, punctuation or the word 'sdk'."""
    key = re.sub(r"\(.*?proxy\)", "", name.lower())
    key = re.sub(r"[\s\-_/·.()（）]+|sdk", "", key)
    return key


def slug(text: str) -> str:
    """Lower-case ASCII identifier."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_")


def clean_code(value: str) -> tuple[str, str] | None:
    """Normalise a code signature: ('code_prefix'|'class_suffix'|'action', value) or None if unusable."""
    value = value.strip().replace("\\.", ".").replace("\\", "")
    if not value:
        return None
    if ".action." in value or ".intent." in value and value.split(".")[-1].isupper():
        return ("action", value)
    if value.startswith("."):
        value = value.rstrip(".")
        return ("class_suffix", value) if CODE_RE.match(value[1:]) else None
    value = value.rstrip(".")
    if not CODE_RE.match(value):
        return None
    if "." in value and value.split(".")[0] == "wxapi":
        return ("class_suffix", "." + value)
    return ("code_prefix", value)


def clean_host(pattern: str) -> str | None:
    """Turn an εxodus network-signature regex into a plain domain suffix, or None."""
    value = pattern.strip().lower()
    value = re.sub(r"^\^|\$$", "", value)
    value = re.sub(r"^\.\*\\?\.?|^\\\.|^\.", "", value)
    value = value.replace("\\.", ".").replace("\\-", "-")
    value = value.lstrip(".")
    return value if HOST_RE.match(value) else None


class Builder:
    """Merges the sources into records."""

    def __init__(self, curated: dict[str, Any], pi_ids: set[str]) -> None:
        self.curated = curated
        self.pi_ids = pi_ids
        self.records: dict[str, Record] = {}
        self.by_name: dict[str, str] = {}
        self.by_sig: dict[tuple[str, str], str] = {}
        self.claims: dict[tuple[str, str], str] = {}
        self.generic_code = set(curated.get("generic_code_prefixes", []))
        self.generic_hosts = set(curated.get("generic_hosts", []))
        self.vendor_prefixes = sorted(
            ((p, key) for key, v in curated["vendors"].items() for p in v.get("prefixes", [])),
            key=lambda t: (-len(t[0]), t[0]),
        )
        self.notes: list[str] = []

    # --- helpers -------------------------------------------------------------------------
    def _new_id(self, base: str) -> str:
        base = slug(base) or "sdk"
        if base[0].isdigit():
            base = "sdk_" + base
        cand, n = base, 2
        while cand in self.records:
            cand, n = f"{base}_{n}", n + 1
        return cand

    def _index(self, rec: Record) -> None:
        for key in {norm_name(a) for a in rec.aliases if a}:
            self.by_name.setdefault(key, rec.id)
        for kind, value, _regex in rec.sigs:
            self.by_sig.setdefault((kind, value), rec.id)

    def _accept(self, kind: str, value: str, source: str) -> bool:
        if kind == "code_prefix" and (value in self.generic_code or ("." not in value and source != "curated")):
            self.notes.append(f"dropped generic code prefix {value!r} from {source}")
            return False
        if kind == "host" and value in self.generic_hosts:
            self.notes.append(f"dropped generic host {value!r} from {source}")
            return False
        return True

    def vendor_for(self, prefixes: list[str]) -> str | None:
        """Vendor key whose prefix is the longest match of the first usable code prefix."""
        for pref in prefixes:
            for vp, key in self.vendor_prefixes:
                if pref == vp or pref.startswith(vp + "."):
                    return key
        return None

    def place(self, source: str, name: str, sigs: list[tuple[str, str, bool]]) -> Record:
        """The record a list entry belongs to (claimed, same name, shared signature, or new)."""
        rid = self.claims.get((source, name)) or self.by_name.get(norm_name(name))
        if rid is None:
            for kind, value, _regex in sigs:
                rid = self.by_sig.get((kind, value))
                if rid:
                    break
        if rid is None:
            ascii_name = name if not CJK_RE.search(name) else ""
            code = [v for k, v, _ in sigs if k == "code_prefix"]
            rid = self._new_id(ascii_name or (code[0] if code else (sigs[0][1] if sigs else name)))
            self.records[rid] = Record(id=rid)
        rec = self.records[rid]
        rec.aliases.add(name)
        if CJK_RE.search(name):
            rec.name_zh = rec.name_zh or name
        else:
            rec.name_en = rec.name_en or name
        for kind, value, regex in sigs:
            if self._accept(kind, value, source):
                rec.add_sig(kind, value, source, regex)
        self._index(rec)
        return rec

    # --- sources ---------------------------------------------------------------------------
    def add_curated(self) -> None:
        """Curated records first; they claim the list entries they absorb."""
        for row in self.curated["sdks"]:
            rec = Record(id=row["id"], curated=True)
            rec.name_zh, rec.name_en = row["name"]["zh"], row["name"]["en"]
            rec.vendor_key = row.get("vendor")
            rec.category = row["category"]
            rec.privacy_policy_url = row.get("privacy_policy_url")
            rec.aliases.update([rec.name_zh, rec.name_en, *row.get("aliases", [])])
            rec.reject.update(row.get("reject", []))
            for value in row.get("code", []):
                rec.add_sig("code_prefix", value, "curated")
            for value in row.get("class_suffixes", []):
                rec.add_sig("class_suffix", value, "curated")
            for kind, key in (("component", "components"), ("meta_data", "meta_data"), ("action", "actions"), ("native_lib", "native_libs"), ("host", "hosts")):
                for value in row.get(key, []):
                    regex = value.startswith("re:")
                    rec.add_sig(kind, value[3:] if regex else value, "curated", regex)
            for pi in row.get("pi_types", []):
                rec.add_pi(pi, "curated")
            if rec.id in self.records:
                raise SystemExit(f"curated: duplicate id {rec.id}")
            self.records[rec.id] = rec
            for source, names in (row.get("absorb") or {}).items():
                src = "apk-analyzer" if source == "apk_analyzer" else source
                for name in names:
                    self.claims[(src, name)] = rec.id
            self._index(rec)

    def add_exodus(self, path: Path) -> None:
        """εxodus trackers: code signatures, network signatures, categories."""
        trackers = json.loads(path.read_text(encoding="utf-8"))["trackers"]
        for key in sorted(trackers, key=int):
            t = trackers[key]
            sigs: list[tuple[str, str, bool]] = []
            for part in (t.get("code_signature") or "").split("|"):
                cleaned = clean_code(part)
                if cleaned:
                    sigs.append((cleaned[0], cleaned[1], False))
                elif part.strip():
                    self.notes.append(f"exodus {t['name']}: unusable code signature {part!r}")
            for part in (t.get("network_signature") or "").split("|"):
                host = clean_host(part)
                if host:
                    sigs.append(("host", host, False))
                elif part.strip():
                    self.notes.append(f"exodus {t['name']}: unusable network signature {part!r}")
            rec = self.place("exodus", t["name"].strip(), sigs)
            rec.website = rec.website or (t.get("website") or None)
            cats = t.get("categories") or []
            if rec.category_hint is None:
                for cat in cats:
                    if cat in EXODUS_CATEGORY:
                        rec.category_hint = EXODUS_CATEGORY[cat]
                        break
            if "Location" in cats:
                rec.add_pi("location_coarse", "exodus")

    def add_apk_analyzer(self, path: Path) -> None:
        """apk-analyzer curated YAML profiles inside the tarball."""
        with tarfile.open(path) as tar:
            members = sorted((m for m in tar.getmembers() if m.name.endswith(".yaml") and not m.name.endswith("_meta.yaml")), key=lambda m: m.name)
            for member in members:
                handle = tar.extractfile(member)
                assert handle is not None
                prof = yaml.safe_load(handle.read().decode("utf-8"))
                if prof["id"] in APK_ANALYZER_PACKERS:
                    self.notes.append(f"apk-analyzer {prof['id']}: a packer, see rules/packers.yaml")
                    continue
                det = prof.get("detection") or {}
                sigs: list[tuple[str, str, bool]] = []
                for value in det.get("package_prefixes") or []:
                    cleaned = clean_code(value)
                    if cleaned:
                        sigs.append((cleaned[0], cleaned[1], False))
                for value in det.get("native_libs") or []:
                    sigs.append(("native_lib", value, False))
                for key in ("manifest_services", "manifest_receivers", "manifest_activities", "manifest_providers"):
                    for value in det.get(key) or []:
                        sigs.append(("component", value, False))
                if ("apk-analyzer", prof["id"]) in self.claims:
                    self.claims[("apk-analyzer", prof["name"])] = self.claims[("apk-analyzer", prof["id"])]
                rec = self.place("apk-analyzer", prof["name"], sigs)
                rec.category_hint = rec.category_hint or APK_ANALYZER_CATEGORY.get(prof.get("category", ""))
                for phrase in (prof.get("risk") or {}).get("data_collection") or []:
                    for kw, pi in PI_KEYWORDS:
                        if kw.lower() in str(phrase).lower():
                            rec.add_pi(pi, "apk-analyzer")

    def add_appscan(self, path: Path) -> None:
        """AppScan: sdk_name -> package prefixes (a Python literal, not JSON)."""
        rows = ast.literal_eval(path.read_text(encoding="utf-8"))
        grouped: dict[str, list[str]] = {}
        for row in rows:
            grouped.setdefault(row["sdk_name"].strip(), []).append(row["package_name"].strip())
        for name in sorted(grouped):
            sigs: list[tuple[str, str, bool]] = []
            for value in sorted(set(grouped[name])):
                cleaned = clean_code(value)
                if cleaned:
                    sigs.append((cleaned[0], cleaned[1], False))
                else:
                    self.notes.append(f"appscan {name}: unusable prefix {value!r}")
            if (("appscan", name) not in self.claims) and norm_name(name) not in self.by_name:
                # AppScan rows are independent prefix -> name facts (some names are groups such as
                # "图片选择 & 图片预览 & 图片加载相关"): a prefix another record already owns goes there
                rest = []
                for sig in sigs:
                    owner = self.by_sig.get((sig[0], sig[1]))
                    if owner:
                        self.records[owner].add_sig(sig[0], sig[1], "appscan", sig[2])
                    else:
                        rest.append(sig)
                if not rest:
                    continue
                sigs = rest
            rec = self.place("appscan", name, sigs)
            if rec.origin_hint is None and CJK_RE.search(name):
                rec.origin_hint = "cn"

    def add_libchecker(self, path: Path) -> None:
        """LibChecker rules: native libs, components, dex prefixes and actions by label."""
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        grouped: dict[str, list[tuple[str, str, bool]]] = {}
        for row in rows:
            label = re.sub(r"\s*\(.*?Proxy\)$", "", row["label"].strip()).strip()
            if LIBCHECKER_PACKER_RE.search(label):
                continue
            kind = LIBCHECKER_TYPES.get(row["type"])
            value = row["name"].strip()
            regex = row["isRegexRule"] == "1"
            if row["type"] == "6":
                kind = "action" if (".action." in value or ".intent." in value) else None
            if kind is None:
                continue
            if kind == "code_prefix":
                cleaned = clean_code(value)
                if not cleaned:
                    continue
                kind, value = cleaned
            grouped.setdefault(label, []).append((kind, value, regex))
        for label in sorted(grouped):
            self.place("libchecker", label, sorted(set(grouped[label])))

    # --- output ------------------------------------------------------------------------------
    def category_of(self, rec: Record) -> str:
        """Curated category, else keyword in the names, else a source hint, else library/other."""
        if rec.category:
            return rec.category
        text = " ".join(sorted(a.lower() for a in rec.aliases if a))
        for kw, cat in CATEGORY_KEYWORDS:
            if kw.isascii():
                if re.search(rf"(?<![a-z]){re.escape(kw)}(?![a-z])", text):
                    return cat
            elif kw in text:
                return cat
        if rec.category_hint:
            return rec.category_hint
        if "exodus" in rec.sources() or rec.origin_hint == "cn" or CJK_RE.search(rec.name_zh or ""):
            return "other"
        # open-source and platform libraries from LibChecker / AppScan / apk-analyzer
        return "library"

    def to_rows(self) -> list[dict[str, Any]]:
        """The final, sorted records."""
        vendors = self.curated["vendors"]
        rows = []
        for rid in sorted(self.records):
            rec = self.records[rid]
            code = sorted(v for (k, v, _r) in rec.sigs if k == "code_prefix")
            vkey = rec.vendor_key if rec.curated else (rec.vendor_key or self.vendor_for(code))
            vendor = vendors.get(vkey) if vkey else None
            if vendor:
                origin = vendor["origin"]
            elif rec.origin_hint or CJK_RE.search(rec.name_zh or ""):
                origin = "cn"
            else:
                origin = "unknown"
            # compact form, value -> sources ("re:" marks a regex), to keep the pack quick to load
            signatures: dict[str, dict[str, list[str]]] = {}
            for kind in SIG_KINDS:
                items = sorted((("re:" + v) if r else v, sorted(s)) for (k, v, r), s in rec.sigs.items() if k == kind)
                if items:
                    signatures[kind] = dict(items)
            if not signatures:
                self.notes.append(f"{rid}: no usable signature, left out")
                continue
            pis = {p: sorted(s) for p, s in sorted(rec.pi_types.items())}
            bad = [p for p in pis if p not in self.pi_ids]
            if bad:
                raise SystemExit(f"{rid}: unknown PI types {bad}")
            name_zh = rec.name_zh or rec.name_en or rid
            name_en = rec.name_en or rec.name_zh or rid
            rows.append({
                "id": rid,
                "name": {"zh": name_zh, "en": name_en},
                "vendor": {"zh": vendor["zh"], "en": vendor["en"]} if vendor else None,
                "origin": origin,
                "category": self.category_of(rec),
                "signatures": signatures,
                "pi_types": list(pis),
                "pi_type_sources": pis,
                "privacy_policy_url": rec.privacy_policy_url,
                "website": rec.website,
                "aliases": sorted(a for a in rec.aliases if a and a not in (name_zh, name_en)),
                "provenance": sorted(rec.sources()),
            })
        return rows


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


CURATED_SDK_KEYS = {"id", "name", "vendor", "category", "code", "class_suffixes", "components", "meta_data", "actions",
                    "native_libs", "hosts", "pi_types", "privacy_policy_url", "absorb", "reject", "aliases"}


def check_curated(curated: dict[str, Any]) -> None:
    """Fail loudly on a typo in the curated file (an unquoted comma in a flow mapping adds a key)."""
    for key, vendor in curated["vendors"].items():
        if set(vendor) - {"legal_names"} != {"zh", "en", "origin", "prefixes"} or vendor["origin"] not in ("cn", "intl"):
            raise SystemExit(f"{CURATED}: vendor {key}: expected zh, en, origin (cn|intl), prefixes, optional legal_names; got {vendor}")
    for row in curated["sdks"]:
        extra = set(row) - CURATED_SDK_KEYS
        if extra or set(row.get("name") or {}) != {"zh", "en"}:
            raise SystemExit(f"{CURATED}: sdk {row.get('id')}: unexpected keys {sorted(extra)} or bad name {row.get('name')}")
        if row.get("vendor") is not None and row["vendor"] not in curated["vendors"]:
            raise SystemExit(f"{CURATED}: sdk {row['id']}: unknown vendor {row['vendor']!r}")
        if row.get("category") not in CATEGORIES:
            raise SystemExit(f"{CURATED}: sdk {row['id']}: unknown category {row.get('category')!r}")


SHIPPED_SOURCES = ("appscan", "libchecker", "apk-analyzer")  #: licences compatible with Apache-2.0


def build(signatures: Path, include_exodus: bool = False) -> tuple[dict[str, str], list[str]]:
    """Build the pack; return {file name: YAML text} and the build notes. The εxodus list
    (AGPL-3.0 via GPL-3.0 MobSF) is read only with ``include_exodus``, for local use."""
    used = {sid: fname for sid, fname in SOURCE_FILES.items() if sid in SHIPPED_SOURCES or include_exodus}
    curated = yaml.safe_load(CURATED.read_text(encoding="utf-8"))
    check_curated(curated)
    pi_ids = {row["id"] for row in yaml.safe_load(PI_TYPES.read_text(encoding="utf-8"))["pi_types"]}
    for name in used.values():
        if not (signatures / name).is_file():
            raise SystemExit(f"{signatures / name}: source list missing")
    builder = Builder(curated, pi_ids)
    builder.add_curated()
    if include_exodus:
        builder.add_exodus(signatures / SOURCE_FILES["exodus"])
    builder.add_apk_analyzer(signatures / SOURCE_FILES["apk-analyzer"])
    builder.add_appscan(signatures / SOURCE_FILES["appscan"])
    builder.add_libchecker(signatures / SOURCE_FILES["libchecker"])
    rows = builder.to_rows()
    version = str(curated["version"])
    header = "# GENERATED by rules/build_sdk_pack.py from ../shared/corpus/signatures and rules/sdk-sources/curated-cn.yaml.\n# Do not edit by hand: edit the curated source and rebuild (see rules/sdks/README.md).\n"
    files: dict[str, str] = {}
    meta = {
        "id": PACK_ID,
        "kind": "sdks",
        "version": version,
        "sdk_count": len(rows),
        "origin_counts": {o: sum(1 for r in rows if r["origin"] == o) for o in sorted({r["origin"] for r in rows})},
        "sources": [
            {"id": sid, "file": fname, "sha256": sha256_file(signatures / fname), "licence": SOURCE_LICENCES[sid]}
            for sid, fname in sorted(used.items())
        ] + [{"id": "curated", "file": "rules/sdk-sources/curated-cn.yaml", "sha256": sha256_file(CURATED),
               "licence": SOURCE_LICENCES["curated"]}],
        "licence": "Apache-2.0" if not include_exodus else "AGPL-3.0 (includes εxodus data): local use only, do not ship",
        "categories": sorted({r["category"] for r in rows}),
        # legal names under which privacy policies and SDK lists name a vendor (第三方名称), for
        # matching declared SDKs by operator (scanner/policy/sdklist.py)
        "vendors": [
            {"zh": v["zh"], "en": v["en"], "legal_names": sorted(v["legal_names"])}
            for _key, v in sorted(curated["vendors"].items(), key=lambda kv: kv[1]["zh"]) if v.get("legal_names")
        ],
    }
    files["_pack.yaml"] = header + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=200)
    # Record files are written in YAML's JSON-compatible flow style: still YAML (yaml.safe_load
    # reads them), one key per line for reviewable diffs, and the loader can parse them with the
    # json module, about 20 times faster than a YAML parser; this keeps `piscan sdks match` fast.
    for cat in sorted({r["category"] for r in rows}):
        body = {"category": cat, "sdks": [r for r in rows if r["category"] == cat]}
        files[f"{cat}.yaml"] = header + json.dumps(body, ensure_ascii=False, indent=1) + "\n"
    return files, sorted(set(builder.notes))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=Path, default=HERE.parent.parent / "shared" / "corpus" / "signatures")
    parser.add_argument("--out", type=Path, default=HERE / "sdks")
    parser.add_argument("--check", action="store_true", help="compare with the committed pack instead of writing")
    parser.add_argument("--notes", action="store_true", help="print what was dropped and why")
    parser.add_argument("--include-exodus", action="store_true",
                        help="also read the εxodus list (AGPL-3.0): a pack for local use only, never to ship")
    args = parser.parse_args(argv)
    files, notes = build(args.signatures, include_exodus=args.include_exodus)
    if args.notes:
        print("\n".join(notes))
    existing = {p.name for p in args.out.glob("*.yaml")} if args.out.is_dir() else set()
    if args.check:
        diff = sorted(n for n in set(files) | existing if (args.out / n).is_file() is False or n not in files or (args.out / n).read_text(encoding="utf-8") != files[n])
        if diff:
            print(f"pack differs from a fresh build: {', '.join(diff)}", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in existing - set(files):
        (args.out / stale).unlink()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    meta = yaml.safe_load(files["_pack.yaml"])
    print(f"wrote {len(files)} files, {meta['sdk_count']} SDKs ({meta['origin_counts']}) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
