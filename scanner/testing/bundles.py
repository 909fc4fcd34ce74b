"""Android App Bundles for tests and samples: an APK's files in bundletool's module layout, a JAR
signature, and a deterministic zip writer.

``aapt2 convert --output-format proto`` turns an APK into the protobuf format a bundle module
holds; :func:`module_files` lays its files out as a module; :func:`bundle_from_apk` does both.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import tempfile
import zipfile
from pathlib import Path

DATE = (1981, 1, 1, 0, 0, 0)


def module_files(proto_apk: Path) -> list[tuple[str, bytes]]:
    """An aapt2 proto-format APK's files under their module paths (bundletool's layout)."""
    out: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(proto_apk) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            if name.startswith("META-INF/"):
                continue  # the APK's own signature does not go into a bundle
            if name == "AndroidManifest.xml":
                out.append(("manifest/AndroidManifest.xml", data))
            elif name == "resources.pb" or name.startswith(("res/", "assets/", "lib/")):
                out.append((name, data))
            elif name.endswith(".dex") and "/" not in name:
                out.append((f"dex/{name}", data))
            else:
                out.append((f"root/{name}", data))
    order = {"manifest/": 0, "dex/": 1, "res": 2, "assets/": 3, "lib/": 4, "root/": 5}
    return sorted(out, key=lambda item: (next((v for k, v in order.items() if item[0].startswith(k)), 9), item[0]))


def _manifest_line(key: str, value: str) -> bytes:
    """One JAR manifest header, wrapped at 72 bytes with continuation lines."""
    raw = f"{key}: {value}".encode()
    lines = [raw[:72]] + [b" " + raw[i:i + 71] for i in range(72, len(raw), 71)]
    return b"".join(line + b"\r\n" for line in lines)


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def jar_signature(entries: list[tuple[str, bytes]], keystore: Path, password: bytes) -> list[tuple[str, bytes]]:
    """``META-INF/MANIFEST.MF``, ``.SF`` and ``.RSA`` of a JAR signature over ``entries``."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

    key, cert, _extra = pkcs12.load_key_and_certificates(keystore.read_bytes(), password)
    if key is None or cert is None:
        raise ValueError(f"{keystore} holds no key and certificate")
    head = _manifest_line("Manifest-Version", "1.0") + _manifest_line("Created-By", "PIScan sample builder") + b"\r\n"
    sections = [_manifest_line("Name", name) + _manifest_line("SHA-256-Digest", _digest(data)) + b"\r\n"
                for name, data in entries]
    manifest = head + b"".join(sections)
    signature_file = (_manifest_line("Signature-Version", "1.0") + _manifest_line("Created-By", "PIScan sample builder")
                      + _manifest_line("SHA-256-Digest-Manifest", _digest(manifest)) + b"\r\n"
                      + b"".join(_manifest_line("Name", name) + _manifest_line("SHA-256-Digest", _digest(section)) + b"\r\n"
                                 for (name, _data), section in zip(entries, sections)))
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.NoAttributes, pkcs7.PKCS7Options.Binary]
    block = (pkcs7.PKCS7SignatureBuilder().set_data(signature_file).add_signer(cert, key, hashes.SHA256())  # type: ignore[arg-type]
             .sign(serialization.Encoding.DER, options))
    return [("META-INF/MANIFEST.MF", manifest), ("META-INF/PISCAN-D.SF", signature_file), ("META-INF/PISCAN-D.RSA", block)]


def write_zip(output: Path, entries: list[tuple[str, bytes]]) -> None:
    """Write ``entries`` in order, deflated, dated 1981-01-01, with no POSIX mode bits (a JAR
    signature does not cover them): the same entries give the same bytes."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system, info.external_attr = 0, 0
            archive.writestr(info, data)


def bundle_from_apk(apk: Path, output: Path) -> Path:
    """An unsigned one-module ``.aab`` of ``apk`` (``aapt2`` must be on PATH)."""
    with tempfile.TemporaryDirectory() as tmp:
        proto = Path(tmp) / "proto.apk"
        subprocess.run(["aapt2", "convert", "--output-format", "proto", "-o", str(proto), str(apk)],
                       check=True, capture_output=True)
        entries = [("BundleConfig.pb", b"")] + [(f"base/{name}", data) for name, data in module_files(proto)]
    write_zip(output, entries)
    return output
