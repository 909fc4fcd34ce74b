"""Policy documents found without asking: bundled in the APK (the session side is
tests/traffic/test_policy_pages_live.py, beside the live-proxy fixtures)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


from scanner.cli import main
from scanner.policy.discover import documents_in_apk, extract_found
from scanner.testing.builders import sample_policy_html
from scanner.testing.corpus import REPO
from scanner.testing.hostile import apk_with

SAMPLE_APK = REPO / "samples" / "piscan-demo.apk"


def _scan(tmp_path: Path, target: Path, *extra: str) -> dict:
    out = tmp_path / "out"
    assert main(["scan", str(target), "-o", str(out), "-f", "json", "-q", *extra]) == 0
    return json.loads((out / "result.json").read_text())


def test_a_policy_bundled_in_the_apk_is_read_without_asking(tmp_path: Path) -> None:
    apk = apk_with(tmp_path / "with-policy.apk", extra=[("assets/privacy_policy.html", sample_policy_html()),
                                                        ("assets/licenses.txt", b"MIT License " * 200)])
    found, limitations = documents_in_apk(apk)
    assert [d.name for d in found] == ["assets/privacy_policy.html"] and limitations == []
    result = _scan(tmp_path, apk)
    (doc,) = result["facts"]["policy"]["documents"]
    assert doc["source"] == {"kind": "apk_asset", "name": "assets/privacy_policy.html", "url": None, "time": None,
                             "phase": None}
    assert doc["role"] == "privacy_policy"
    assert doc["sha256"] == hashlib.sha256(sample_policy_html()).hexdigest()
    assert {"imei", "location_precise"} <= set(result["facts"]["policy"]["pi_types"])
    # the policy refers to an SDK list that is not bundled: "not declared" cannot be concluded
    (umeng,) = [c for c in result["facts"]["policy"]["comparisons"] if c["kind"] == "sdk_undeclared"]
    assert umeng["status"] == "undecidable" and umeng["missing"] == ["《第三方SDK共享清单》 (referenced, not provided)"]
    assert "policy_incomplete" in {lim["kind"] for lim in result["limitations"]}


def test_a_bundled_policy_and_sdk_list_are_held_against_the_code(tmp_path: Path) -> None:
    sdk_list = (REPO / "samples" / "policy" / "sdk-list.md").read_bytes()
    apk = apk_with(tmp_path / "with-lists.apk", extra=[("assets/privacy_policy.html", sample_policy_html()),
                                                       ("res/raw/third_party_sdk_list.md", sdk_list)])
    result = _scan(tmp_path, apk)
    docs = result["facts"]["policy"]["documents"]
    assert sorted((d["source"]["name"], d["role"]) for d in docs) == [
        ("assets/privacy_policy.html", "privacy_policy"), ("res/raw/third_party_sdk_list.md", "sdk_list")]
    (umeng,) = [c for c in result["facts"]["policy"]["comparisons"] if c["kind"] == "sdk_undeclared"]
    assert umeng["status"] == "mismatch", umeng
    assert any(f["rule_id"] == "RD-2.1-sdk-undeclared" for f in result["findings"])


def test_a_policy_in_a_bundle_is_found_in_its_apk_or_module(tmp_path: Path) -> None:
    """Inside an .apks the documents sit in the base or a split APK; inside an .aab, in a module."""
    import zipfile

    from scanner.testing.bundles import write_zip

    base = apk_with(tmp_path / "base.apk", extra=[("assets/privacy_policy.html", sample_policy_html())]).read_bytes()
    split = tmp_path / "split.zip"
    write_zip(split, [("AndroidManifest.xml", b""), ("res/raw/third_party_sdk_list.md",
                                                       (REPO / "samples" / "policy" / "sdk-list.md").read_bytes())])
    apks = tmp_path / "app.apks"
    write_zip(apks, [("base.apk", base), ("split_pay.apk", split.read_bytes())])
    found, _ = documents_in_apk(apks)
    assert [d.name for d in found] == ["assets/privacy_policy.html", "split_pay.apk!res/raw/third_party_sdk_list.md"]
    with zipfile.ZipFile(REPO / "samples" / "piscan-demo.aab") as sample:
        entries = [(name, sample.read(name)) for name in sample.namelist() if not name.startswith("META-INF/")]
    aab = tmp_path / "app.aab"
    write_zip(aab, [*entries, ("base/assets/privacy_policy.html", sample_policy_html())])
    found, _ = documents_in_apk(aab)
    assert [d.name for d in found] == ["assets/privacy_policy.html"]
    result = _scan(tmp_path, aab)
    assert [d["source"]["name"] for d in result["facts"]["policy"]["documents"]] == ["assets/privacy_policy.html"]


def test_no_document_anywhere_adds_no_policy_section(tmp_path: Path) -> None:
    assert "policy" not in _scan(tmp_path, SAMPLE_APK)["facts"]


def test_an_unreadable_candidate_is_a_limitation_not_an_error() -> None:
    from scanner.policy.discover import FoundDocument

    docs, limitations = extract_found([FoundDocument("x.pdf", "%PDF-1.4 broken 隐私政策".encode() * 100,
                                                     {"kind": "apk_asset", "name": "assets/x.pdf", "url": None,
                                                      "time": None, "phase": None})])
    assert docs == [] and [lim.kind for lim in limitations] == ["policy_incomplete"]
