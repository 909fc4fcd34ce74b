"""Signing schemes and certificate fields, with apksigner (Debian) as the oracle where installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scanner.testing.corpus import corpus_dir
from scanner.apk.archive import open_apk
from scanner.apk.certs import collect_signing, describe_certificate

APKSIGNER = shutil.which("apksigner")
EDGE = (corpus_dir() / "apk" / "edge") if corpus_dir() else None


def edge(name: str, corpus: Path) -> Path:
    return corpus / "apk" / "edge" / name


def apksigner_certs(path: Path) -> list[tuple[str, str, str]]:
    """(DN, sha256, sha1) of each signer as apksigner prints them."""
    out = subprocess.run([APKSIGNER, "verify", "--print-certs", str(path)], capture_output=True, text=True,
                         check=False).stdout
    dns = re.findall(r"certificate DN: (.+)", out)
    sha256 = re.findall(r"certificate SHA-256 digest: ([0-9a-f]+)", out)
    sha1 = re.findall(r"certificate SHA-1 digest: ([0-9a-f]+)", out)
    return list(zip(dns, sha256, sha1))


@pytest.mark.corpus
def test_v2_only_apk(corpus: Path) -> None:
    signing, limitations = collect_signing(open_apk(edge("v2.only.sig_2.apk", corpus)).apk)
    assert limitations == []
    assert signing["schemes"] == {"v1": False, "v2": True, "v3": False, "v31": False}
    assert signing["certificates"] == [{
        "scheme": "v2",
        "subject": "CN=Hans-Christoph Steiner, OU=Unknown, O=Guardian Project, L=Brooklyn, ST=NY, C=US",
        "issuer": "CN=Hans-Christoph Steiner, OU=Unknown, O=Guardian Project, L=Brooklyn, ST=NY, C=US",
        "serial": "292ed29e",
        "not_before": "2014-06-23T16:32:12Z",
        "not_after": "2041-11-08T16:32:12Z",
        "sha256": "32a23624c201b949f085996ba5ed53d40f703aca4989476949cae891022e0ed6",
        "sha1": "3ca38c7edbd44522f4a19086dd20e012c0d8787d",
    }]


@pytest.mark.corpus
def test_v3_signed_apk_without_jar_signature(corpus: Path) -> None:
    signing, _ = collect_signing(open_apk(edge("issue-1128-poc1.apk", corpus)).apk)
    assert signing["schemes"] == {"v1": False, "v2": True, "v3": True, "v31": False}
    assert [c["scheme"] for c in signing["certificates"]] == ["v2", "v3"]
    v3 = signing["certificates"][1]
    assert (v3["subject"], v3["issuer"]) == ("CN=oops", "CN=oops")
    assert v3["serial"] == "7673bdc6a1d7325f26a058ed83eab3a3264f0aa"
    assert (v3["not_before"], v3["not_after"]) == ("2024-04-22T18:43:23Z", "2051-09-08T18:43:23Z")
    assert v3["sha256"] == "1dbb8be012293e988a0820f7d455b07abd267d2c0b500fc793fcfd80141cb5ce"


@pytest.mark.corpus
def test_unsigned_and_v1_only(corpus: Path) -> None:
    unsigned, _ = collect_signing(open_apk(edge("no_targetsdk_minsdk1_unsigned.apk", corpus)).apk)
    assert unsigned == {"schemes": {"v1": False, "v2": False, "v3": False, "v31": False}, "certificates": []}
    janus, _ = collect_signing(open_apk(edge("janus.apk", corpus)).apk)
    assert janus["schemes"]["v1"] and not janus["schemes"]["v2"]
    assert [(c["scheme"], c["subject"]) for c in janus["certificates"]] == [("v1", "CN=Android Debug, O=Android, C=US")]


def test_sample_has_all_three_schemes_sorted(sample_apk: Path) -> None:
    signing, _ = collect_signing(open_apk(sample_apk).apk)
    assert [c["scheme"] for c in signing["certificates"]] == ["v1", "v2", "v3"]
    assert {c["subject"] for c in signing["certificates"]} == {"CN=PIScan Demo Test Key, OU=Test Only, O=PIScan, C=CN"}


@pytest.mark.skipif(APKSIGNER is None, reason="apksigner (Debian package) is not installed")
@pytest.mark.parametrize("name", ["sample", "v2.only.sig_2.apk", "issue-1128-poc1.apk", "janus.apk"])
def test_subject_and_fingerprints_equal_apksigner(name: str, sample_apk: Path) -> None:
    if name == "sample":
        path = sample_apk
    elif EDGE is None:
        pytest.skip("the third-party corpus is not present")
    else:
        path = EDGE / name
    signing, _ = collect_signing(open_apk(path).apk)
    expected = apksigner_certs(path)
    assert expected, "apksigner printed no certificate"
    ours = {(c["subject"], c["sha256"], c["sha1"]) for c in signing["certificates"]}
    assert set(expected) <= ours


def test_describe_certificate_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        describe_certificate("v1", b"\x30\x03garbage")
