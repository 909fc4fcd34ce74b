"""Signing facts: which APK signature schemes are present and the certificates of each.

Reads the JAR signature (v1, ``META-INF/*.RSA|DSA|EC``) and the APK Signing Block (v2, v3 and,
when the installed androguard knows it, v3.1) through androguard. Certificates are described
from their DER bytes: subject and issuer (RFC 4514 strings, most specific part first, as
``apksigner verify --print-certs`` shows them), serial (hex), validity
(UTC ISO 8601) and SHA-256 / SHA-1 fingerprints of the DER encoding.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from ..model.records import Limitation

if TYPE_CHECKING:
    from androguard.core.apk import APK

    from .zipread import ZipArchive

SCHEMES = ("v1", "v2", "v3", "v31")


@dataclass(frozen=True)
class Certificate:
    """One signing certificate as found under one scheme."""

    scheme: str
    subject: str
    issuer: str
    serial: str
    not_before: str | None
    not_after: str | None
    sha256: str
    sha1: str

    def to_json(self) -> dict[str, Any]:
        """The result-format dict (documented key order)."""
        return {
            "scheme": self.scheme, "subject": self.subject, "issuer": self.issuer, "serial": self.serial,
            "not_before": self.not_before, "not_after": self.not_after, "sha256": self.sha256, "sha1": self.sha1,
        }


def _iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_SHORT = {
    "common_name": "CN", "organizational_unit_name": "OU", "organization_name": "O", "locality_name": "L",
    "state_or_province_name": "ST", "country_name": "C", "email_address": "EMAILADDRESS",
    "street_address": "STREET", "domain_component": "DC", "serial_number": "SERIALNUMBER",
    "surname": "SN", "given_name": "GIVENNAME", "title": "T", "user_id": "UID",
}
_ESCAPE = str.maketrans({c: "\\" + c for c in ',+"\\<>;'})


def _name(name: Any) -> str:
    """RFC 4514 string of an X.509 name (most specific RDN first), as apksigner and keytool print it."""
    parts = []
    for rdn in reversed(list(name.chosen)):
        for atv in rdn:
            key = atv["type"].native
            value = atv["value"].native
            if isinstance(value, bytes):
                value = value.hex()
            text = str(value).translate(_ESCAPE)
            if text.startswith((" ", "#")):
                text = "\\" + text
            parts.append(f"{_SHORT.get(key, key)}={text}")
    return ", ".join(parts)


def describe_certificate(scheme: str, der: bytes) -> Certificate:
    """Describe one DER certificate; raises ``ValueError`` if it cannot be decoded."""
    from asn1crypto import x509

    cert = x509.Certificate.load(bytes(der))
    tbs = cert["tbs_certificate"]
    validity = tbs["validity"]
    serial = tbs["serial_number"].native
    return Certificate(
        scheme=scheme,
        subject=_name(tbs["subject"]),
        issuer=_name(tbs["issuer"]),
        serial=format(serial, "x") if serial >= 0 else "-" + format(-serial, "x"),
        not_before=_iso(validity["not_before"].native),
        not_after=_iso(validity["not_after"].native),
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),  # noqa: S324 - fingerprint, as apksigner prints it
    )


_SIGNATURE_FILE = re.compile(r"\AMETA-INF/(?s:.)*\.(DSA|EC|RSA)\Z")


def signature_names(apk: APK) -> list[str]:
    """The v1 signature block files that have their ``.SF`` beside them, in zip order.

    Same list as androguard's ``APK.get_signature_names()``, which rebuilds the zip's name list
    for every signature file it tests and is called again by ``is_signed_v1`` (about 40 ms for an
    APK of 1 200 entries; this takes 2 ms).
    """
    names = apk.get_files()
    present = set(names)
    return [n for n in names if _SIGNATURE_FILE.search(n) and f"{n.rsplit('.', 1)[0]}.SF" in present]


def _v1_ders(apk: APK) -> list[bytes]:
    ders = []
    for name in signature_names(apk):
        der = apk.get_certificate_der(name)
        if der is not None:
            ders.append(bytes(der))
    return ders


def collect_signing(apk: APK) -> tuple[dict[str, Any], list[Limitation]]:
    """The ``signing`` fact section and any limitation met while reading signatures."""
    limitations: list[Limitation] = []
    present: dict[str, Callable[[], bool]] = {
        "v1": lambda: bool(signature_names(apk)),
        "v2": apk.is_signed_v2,
        "v3": apk.is_signed_v3,
    }
    if hasattr(apk, "is_signed_v31"):  # androguard >= 4.1.4
        present["v31"] = apk.is_signed_v31
    ders: dict[str, Callable[[], list[bytes]]] = {
        "v1": lambda: _v1_ders(apk),
        "v2": apk.get_certificates_der_v2,
        "v3": apk.get_certificates_der_v3,
    }
    if hasattr(apk, "get_certificates_der_v31"):
        ders["v31"] = apk.get_certificates_der_v31
    schemes = {scheme: False for scheme in SCHEMES}
    certificates: dict[tuple[str, str], Certificate] = {}
    for scheme, check in present.items():
        try:
            schemes[scheme] = bool(check())
        except Exception as exc:  # noqa: BLE001 - a damaged signing block
            limitations.append(Limitation("entry_unreadable", f"{scheme} signature block unreadable: {exc}", "signing"))
            continue
        if not schemes[scheme]:
            continue
        try:
            found = ders[scheme]()
        except Exception as exc:  # noqa: BLE001 - third-party decoder on hostile input; recorded as a limitation
            limitations.append(Limitation("entry_unreadable", f"{scheme} certificates unreadable: {exc}", "signing"))
            continue
        for der in found:
            try:
                cert = describe_certificate(scheme, der)
            except Exception as exc:  # noqa: BLE001 - third-party decoder on hostile input; recorded as a limitation
                limitations.append(Limitation("entry_unreadable", f"{scheme} certificate undecodable: {exc}", "signing"))
                continue
            certificates[(scheme, cert.sha256)] = cert
    ordered = [certificates[key] for key in sorted(certificates, key=lambda k: (SCHEMES.index(k[0]), k[1]))]
    return {"schemes": schemes, "certificates": [c.to_json() for c in ordered]}, limitations


def _pkcs7_certificates(block: bytes) -> list[bytes]:
    """DER certificates of a PKCS#7 ``SignedData`` block (a JAR signature file)."""
    from asn1crypto import cms

    info = cms.ContentInfo.load(block)
    certificates = info["content"]["certificates"]
    return [cert.chosen.dump() for cert in certificates] if certificates else []


def collect_bundle_signing(archive: ZipArchive) -> tuple[dict[str, Any], list[Limitation]]:
    """The ``signing`` section of an Android App Bundle: its JAR (v1) signature, read from the zip.

    An ``.aab`` carries only a JAR signature, by the upload key (or none): the APKs a device
    installs are signed later by the store (Play App Signing) or the developer, so these
    certificates need not be the ones users' devices see. Their ``scheme`` is ``v1``.
    """
    limitations: list[Limitation] = []
    names = archive.names()
    present = set(names)
    blocks = [n for n in names if _SIGNATURE_FILE.search(n) and f"{n.rsplit('.', 1)[0]}.SF" in present]
    certificates: dict[str, Certificate] = {}
    for name in blocks:
        try:
            ders = _pkcs7_certificates(archive.read(name))
        except Exception as exc:  # noqa: BLE001 - hostile signature block: a limitation, not a crash
            limitations.append(Limitation("entry_unreadable", f"v1 signature block {name} unreadable: {exc}", "signing"))
            continue
        for der in ders:
            try:
                cert = describe_certificate("v1", der)
            except Exception as exc:  # noqa: BLE001 - third-party decoder on hostile input; recorded as a limitation
                limitations.append(Limitation("entry_unreadable", f"v1 certificate undecodable: {exc}", "signing"))
                continue
            certificates[cert.sha256] = cert
    schemes = {scheme: False for scheme in SCHEMES}
    schemes["v1"] = bool(blocks)
    ordered = [certificates[key] for key in sorted(certificates)]
    return {"schemes": schemes, "certificates": [c.to_json() for c in ordered]}, limitations
