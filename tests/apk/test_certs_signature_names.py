"""``certs.signature_names`` lists the same v1 signature files as androguard, without its quadratic scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.apk.archive import open_apk
from scanner.apk.certs import signature_names
from scanner.testing.corpus import apk_params, corpus_apks, corpus_edge_apks


def test_sample_v1_signature_file(sample_apk: Path) -> None:
    apk = open_apk(sample_apk).apk
    names = signature_names(apk)
    assert names == apk.get_signature_names()
    assert len(names) == 1 and names[0].startswith("META-INF/") and names[0].endswith((".RSA", ".DSA", ".EC"))


@pytest.mark.corpus
@pytest.mark.parametrize("path", apk_params(corpus_apks() + corpus_edge_apks()))
def test_same_as_androguard(path: Path) -> None:
    apk = open_apk(path).apk
    assert signature_names(apk) == apk.get_signature_names()


@pytest.mark.corpus
def test_unsigned_apk_has_none(corpus: Path) -> None:
    apk = open_apk(corpus / "apk" / "edge" / "no_targetsdk_minsdk1_unsigned.apk").apk
    assert signature_names(apk) == []
