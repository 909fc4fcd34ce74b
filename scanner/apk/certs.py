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


_HASHES = {"sha1": "SHA1", "sha224": "SHA224", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}


def _verify(public_key: Any, algorithm: str, signature: bytes, data: bytes, digest: str) -> None:
    """Check one signature with ``cryptography``; raises on a bad signature or key/algorithm pair."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa

    hash_algorithm = getattr(hashes, _HASHES[digest])()
    if isinstance(public_key, rsa.RSAPublicKey) and algorithm == "rsassa_pkcs1v15":
        public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and algorithm == "ecdsa":
        public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
    elif isinstance(public_key, dsa.DSAPublicKey) and algorithm == "dsa":
        public_key.verify(signature, data, hash_algorithm)
    else:
        raise ValueError(f"signature algorithm {algorithm} with a {type(public_key).__name__} is not supported")


def signer_certificates(block: bytes, signed: bytes) -> tuple[list[bytes], list[str]]:
    """DER certificates of the signers of a detached PKCS#7 ``SignedData`` block whose signature
    over ``signed`` (the ``.SF`` file) verifies, and why each other signer did not.

    A certificate that merely sits in the block, signing nothing, is not a signer.
    """
    from asn1crypto import cms
    from cryptography import x509

    signed_data = cms.ContentInfo.load(block)["content"]
    certificates = {}
    for choice in signed_data["certificates"] or []:
        if choice.name == "certificate":
            cert = choice.chosen
            certificates[(cert.issuer.dump(), cert.serial_number)] = cert.dump()
    verified: list[bytes] = []
    problems: list[str] = []
    for signer in signed_data["signer_infos"]:
        sid = signer["sid"]
        if sid.name != "issuer_and_serial_number":
            problems.append("a signer named by key identifier (not used in JAR signing)")
            continue
        der = certificates.get((sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native))
        if der is None:
            problems.append("a signer whose certificate is not in the block")
            continue
        digest = signer["digest_algorithm"]["algorithm"].native
        if digest not in _HASHES:
            problems.append(f"a signer using the digest {digest}")
            continue
        data = signed
        attributes = signer["signed_attrs"]
        if attributes.native:  # signed attributes: they carry the digest of the .SF and are what is signed
            digests = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
            if not digests or digests[0] != hashlib.new(digest, signed).digest():
                problems.append("a signer whose message digest is not that of the .SF file")
                continue
            data = b"\x31" + attributes.dump()[1:]  # signed as a SET OF, not as the [0] field
        try:
            _verify(x509.load_der_x509_certificate(der).public_key(), signer["signature_algorithm"].signature_algo,
                    signer["signature"].native, data, digest)
        except Exception as exc:  # noqa: BLE001 - InvalidSignature, unsupported keys: the signer does not count
            problems.append(f"a signer whose signature does not verify ({type(exc).__name__})")
            continue
        verified.append(der)
    return verified, problems


def _jar_sections(text: bytes) -> list[dict[str, str]]:
    """The sections of a JAR manifest or signature file (headers joined across continuation lines)."""
    sections: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for line in text.replace(b"\r\n", b"\n").split(b"\n"):
        if not line:
            if current:
                sections.append(current)
            current, key = {}, None
        elif line.startswith(b" ") and key is not None:
            current[key] += line[1:].decode("utf-8", "replace")
        else:
            name, _sep, value = line.decode("utf-8", "replace").partition(":")
            key = name.strip()
            current[key] = value.strip()
    if current:
        sections.append(current)
    return sections


def _digest_ok(headers: dict[str, str], data: bytes, suffix: str) -> bool | None:
    """Whether a ``<ALG>-Digest<suffix>`` header matches ``data`` (``None``: no such header)."""
    import base64

    for algorithm in ("SHA-256", "SHA-512", "SHA-384", "SHA1", "SHA-1"):
        value = headers.get(f"{algorithm}-Digest{suffix}")
        if value is not None:
            name = algorithm.replace("-", "").lower()
            return base64.b64encode(hashlib.new(name, data).digest()).decode("ascii") == value
    return None


def _jar_problems(archive: ZipArchive, signature_file: bytes) -> list[str]:
    """What in the JAR signature does not hold: the ``.SF`` against ``MANIFEST.MF``, the manifest
    against each entry, and entries the manifest does not cover."""
    try:
        manifest = archive.read("META-INF/MANIFEST.MF")
    except Exception:  # noqa: BLE001 - absent or unreadable: nothing is covered
        return ["META-INF/MANIFEST.MF is missing or unreadable"]
    problems: list[str] = []
    sf_sections = _jar_sections(signature_file)
    if not sf_sections or _digest_ok(sf_sections[0], manifest, "-Manifest") is not True:
        problems.append("the .SF file does not hold the digest of META-INF/MANIFEST.MF")
    listed: dict[str, dict[str, str]] = {}
    for section in _jar_sections(manifest)[1:]:
        if "Name" in section:
            listed[section["Name"]] = section
    changed, unlisted = [], []
    for name in archive.names():
        if name.startswith("META-INF/") or name.endswith("/"):
            continue
        section = listed.get(name)
        if section is None:
            unlisted.append(name)
            continue
        try:
            ok = _digest_ok(section, archive.read(name), "")
        except Exception:  # noqa: BLE001 - an unreadable entry cannot be checked; the reader reports it
            continue
        if ok is not True:
            changed.append(name)
    if changed:
        problems.append(f"{len(changed)} entr{'y' if len(changed) == 1 else 'ies'} changed after signing (first: {changed[0]})")
    if unlisted:
        problems.append(f"{len(unlisted)} entr{'y' if len(unlisted) == 1 else 'ies'} not covered by the signature "
                        f"(first: {unlisted[0]})")
    return problems


def collect_bundle_signing(archive: ZipArchive) -> tuple[dict[str, Any], list[Limitation]]:
    """The ``signing`` section of an Android App Bundle: its JAR (v1) signature, verified here.

    An ``.aab`` carries only a JAR signature, by the upload key (or none): the APKs a device
    installs are signed later by the store (Play App Signing) or the developer, so these
    certificates need not be the ones users' devices see. A certificate is listed only for a
    signer whose signature over its ``.SF`` verifies, whose ``.SF`` holds the manifest's digest and
    whose manifest matches every entry; anything else (an entry changed or added after signing, a
    signature that does not verify) is a ``signature_mismatch`` limitation and no certificate.
    """
    limitations: list[Limitation] = []
    names = archive.names()
    present = set(names)
    blocks = [n for n in names if _SIGNATURE_FILE.search(n) and f"{n.rsplit('.', 1)[0]}.SF" in present]
    certificates: dict[str, Certificate] = {}
    for name in blocks:
        try:
            signature_file = archive.read(f"{name.rsplit('.', 1)[0]}.SF")
            ders, problems = signer_certificates(archive.read(name), signature_file)
        except Exception as exc:  # noqa: BLE001 - hostile signature block: a limitation, not a crash
            limitations.append(Limitation("entry_unreadable", f"v1 signature block {name} unreadable: {exc}", "signing"))
            continue
        problems += _jar_problems(archive, signature_file) if ders else []
        for problem in problems:
            limitations.append(Limitation("signature_mismatch", f"v1 signature {name}: {problem}", "signing"))
        if not ders or problems:  # signed content that does not match is not a signature to report
            continue
        for der in ders:
            try:
                cert = describe_certificate("v1", der)
            except Exception as exc:  # noqa: BLE001 - third-party decoder on hostile input; recorded as a limitation
                limitations.append(Limitation("entry_unreadable", f"v1 certificate undecodable: {exc}", "signing"))
                continue
            certificates[cert.sha256] = cert
    schemes = {scheme: False for scheme in SCHEMES}
    schemes["v1"] = bool(certificates)
    ordered = [certificates[key] for key in sorted(certificates)]
    return {"schemes": schemes, "certificates": [c.to_json() for c in ordered]}, limitations
