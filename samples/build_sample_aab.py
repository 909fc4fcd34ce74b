#!/usr/bin/env python3
"""Build ``samples/piscan-demo.aab``: the demo APK as an Android App Bundle, with a feature module.

Usage: ``python samples/build_sample_aab.py [OUTPUT.aab]`` (default: ``samples/piscan-demo.aab``).

Layout (as bundletool and the Android Gradle plugin write it):

- ``base/``: ``samples/piscan-demo.apk`` converted to protobuf format with ``aapt2 convert
  --output-format proto`` (manifest and XML as protobuf ``XmlNode``, ``resources.pb``), its
  ``classes.dex`` under ``dex/``;
- ``pay/``: an on-demand feature module linked with ``aapt2 link --proto-format`` from
  ``samples/demo-bundle/pay/`` (its manifest adds an activity and names ``CAMERA``, which Android does not grant from a split; its own string
  resources, package id 0x80) and a native library named as JPush's (``lib/arm64-v8a/libjcore.so``,
  a placeholder ELF header: SDK detection goes by the library's name);
- ``BundleConfig.pb`` (empty) and a JAR (v1) signature by the throwaway test key
  ``samples/demo-key.p12``, made here with ``cryptography`` (SHA-256 digests, a detached PKCS#7
  signature without signed attributes, so no signing time), as jarsigner signs a bundle.

Entries are written in a fixed order with the fixed date 1981-01-01, so the same aapt2 version
gives a byte-identical bundle. Needs ``aapt2`` (Debian package ``aapt``) and Debian's
``/usr/share/android-framework-res/framework-res.apk``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from scanner.testing.bundles import jar_signature, module_files, write_zip

HERE = Path(__file__).resolve().parent
BASE_APK = HERE / "piscan-demo.apk"
FEATURE = HERE / "demo-bundle" / "pay"
KEYSTORE = HERE / "demo-key.p12"
KEY_PASSWORD = b"piscan-demo"
FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")
#: a 64-byte ELF64 header (x86-64 little endian, shared object) with nothing after it
ELF_HEADER = (b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x03\x00\xb7\x00\x01\x00\x00\x00" + b"\x00" * 8
              + b"\x40" + b"\x00" * 7 + b"\x00" * 8 + b"\x00" * 4 + b"\x40\x00\x38\x00\x00\x00\x40\x00\x00\x00\x00\x00")


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"build_sample_aab.py: {' '.join(args[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")


def build(output: Path) -> None:
    """Build the bundle into ``output`` (see the module docstring)."""
    if shutil.which("aapt2") is None:
        sys.exit("build_sample_aab.py: aapt2 not found (Debian package aapt)")
    if not FRAMEWORK_RES.is_file():
        sys.exit(f"build_sample_aab.py: {FRAMEWORK_RES} not found (Debian package android-framework-res)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _run("aapt2", "convert", "--output-format", "proto", "-o", str(work / "base.apk"), str(BASE_APK))
        _run("aapt2", "compile", "--dir", str(FEATURE / "res"), "-o", str(work / "pay-res.zip"))
        _run("aapt2", "link", "--proto-format", "-o", str(work / "pay.apk"), "--manifest", str(FEATURE / "AndroidManifest.xml"),
             "-I", str(FRAMEWORK_RES), "-I", str(BASE_APK), "--package-id", "0x80", "--allow-reserved-package-id",
             str(work / "pay-res.zip"))
        entries = [("BundleConfig.pb", b"")]
        entries += [(f"base/{name}", data) for name, data in module_files(work / "base.apk")]
        entries += [(f"pay/{name}", data) for name, data in module_files(work / "pay.apk")]
        entries.append(("pay/lib/arm64-v8a/libjcore.so", ELF_HEADER))
    write_zip(output, jar_signature(entries, KEYSTORE, KEY_PASSWORD) + entries)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "piscan-demo.aab")
