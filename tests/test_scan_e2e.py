"""End to end: `piscan scan` on the sample, on every corpus APK and on every edge-case file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scanner.testing.corpus import REPO, apk_params, corpus_apks, corpus_edge_apks
from scanner.cli import main
from scanner.model.view import ResultView
from scanner.schema import validation_errors

GOLDEN = REPO / "tests" / "data" / "golden"


def scan(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["scan", "-q", *args])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory: pytest.TempPathFactory, sample_apk: Path) -> dict:
    out = tmp_path_factory.mktemp("sample")
    assert main(["scan", "-q", str(sample_apk), "-o", str(out), "--category", "38", "--reproducible",
                 "--case-id", "DEMO-1", "--examiner", "PIScan CI", "--format", "json,html,sarif"]) == 0
    return json.loads((out / "result.json").read_text(encoding="utf-8"))


def normalised(result: dict) -> dict:
    """The result without the fields that depend on the machine (versions of Python and libraries)."""
    data = json.loads(json.dumps(result))
    prov = data["provenance"]
    for key in ("python_version", "androguard_version", "mitmproxy_version", "command", "reproduce"):
        prov[key] = "<pinned>"
    return data


def test_sample_result_is_schema_valid(sample_result: dict) -> None:
    assert validation_errors(sample_result) == []


def test_sample_matches_golden(sample_result: dict) -> None:
    path = GOLDEN / "piscan-demo.result.json"
    if os.environ.get("PISCAN_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(normalised(sample_result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert normalised(sample_result) == golden, f"{path.name} differs; PISCAN_UPDATE_GOLDEN=1 regenerates it"


def test_sample_imei_and_android_id_reachable_from_application(sample_result: dict) -> None:
    calls = sample_result["facts"]["api_calls"]
    imei = [c for c in calls if "imei" in c["pi_types"] and c["caller"]["class"] == "cn.piscan.demo.DemoApplication"]
    android_id = [c for c in calls if "android_id" in c["pi_types"]]
    assert imei and android_id
    for call in imei + android_id:
        assert call["reachable_before_ui"] is True
        assert call["reach_path"][0].startswith("cn.piscan.demo.DemoApplication.onCreate")
    assert android_id[0]["argument"] == "android_id"


def test_sample_umeng_mac_read_is_attributed_to_umeng(sample_result: dict) -> None:
    mac = [c for c in sample_result["facts"]["api_calls"] if "mac_address" in c["pi_types"]]
    assert mac and all(c["owner"]["kind"] == "sdk" and c["owner"]["sdk_id"].startswith("umeng") for c in mac)
    assert any(s["sdk_id"].startswith("umeng") for s in sample_result["facts"]["sdks"])


def test_sample_findings_cite_the_legal_items(sample_result: dict) -> None:
    by_item: dict[str, list[dict]] = {}
    for finding in sample_result["findings"]:
        for ref in finding["legal_refs"]:
            by_item.setdefault(f"{ref['doc']}-{ref['item']}", []).append(finding)
    rd31 = [f for f in by_item.get("RD-3.1", []) if f["evidence_level"] == "reachable_before_consent"]
    assert rd31, "IMEI read before any UI must give an RD-3.1 finding"
    assert any(ref["doc"] == "PIPL" and str(ref["item"]).startswith("13") for f in rd31 for ref in f["legal_refs"])
    rd41 = by_item.get("RD-4.1", [])
    assert any(e["ref"] == "perm:android.permission.READ_CONTACTS" for f in rd41 for e in f["evidence"])
    assert any(f["pack"] == "cn-npi-2021" for f in sample_result["findings"])


def test_reproducible_scan_is_byte_identical(tmp_path: Path, sample_apk: Path, monkeypatch) -> None:
    outputs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)  # same command line, different folders
        assert main(["scan", "-q", str(sample_apk), "-o", "out", "--reproducible", "--format", "json,html,sarif"]) == 0
        out = tmp_path / name / "out"
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()})
    assert outputs[0] == outputs[1]
    assert set(outputs[0]) == {"result.json", "report.html", "result.sarif"}


def test_fail_on_sets_exit_code_1(tmp_path: Path, sample_apk: Path) -> None:
    assert main(["scan", "-q", str(sample_apk), "-o", str(tmp_path), "--fail-on", "medium"]) == 1


def test_unknown_category_lists_valid_ones(tmp_path: Path, sample_apk: Path, capsys) -> None:
    code, err = scan([str(sample_apk), "-o", str(tmp_path / "out"), "--category", "spaceships"], capsys)
    assert code == 2 and "实用工具类" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params(corpus_apks()))
def test_every_corpus_apk_scans_and_permissions_equal_androguard(apk: Path, tmp_path: Path, capsys) -> None:
    from androguard.core.apk import APK

    code, err = scan([str(apk), "-o", str(tmp_path)], capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert validation_errors(result) == []
    ours = {p["name"] for p in result["facts"]["permissions"]}
    assert ours == set(APK(str(apk)).get_permissions())
    # every finding's evidence names a fact of the result (the report never says "not found")
    assert ResultView(result).unresolved() == []
    # `piscan sdks match` lists exactly the scan's SDKs (one collector stage serves both)
    assert main(["sdks", "match", str(apk), "--json"]) == 0
    matched = json.loads(capsys.readouterr().out)
    assert matched["sdks"] == result["facts"]["sdks"]
    assert matched["packers"] == result["facts"]["packers"]


@pytest.mark.corpus
@pytest.mark.parametrize("apk", apk_params(corpus_edge_apks()))
def test_every_edge_file_scans_or_fails_cleanly(apk: Path, tmp_path: Path, capsys) -> None:
    code, err = scan([str(apk), "-o", str(tmp_path / "out")], capsys)
    assert code in (0, 3), err
    assert "Traceback" not in err
    if code == 3:
        assert len(err.strip().splitlines()) == 1 and apk.name in err
        assert not (tmp_path / "out").exists()
    else:
        assert (tmp_path / "out" / "result.json").is_file()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a zip"),
        (b"hello, not an apk", "not a zip"),
        (b"PK\x03\x04truncated", "zip"),
    ],
    ids=["empty", "text", "truncated-zip"],
)
def test_bad_files_exit_3_with_one_line(content: bytes, message: str, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.apk"
    bad.write_bytes(content)
    code, err = scan([str(bad), "-o", str(tmp_path / "out")], capsys)
    assert code == 3 and "bad.apk" in err and message in err.lower()
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_zip_without_manifest(tmp_path: Path, capsys) -> None:
    import zipfile

    bad = tmp_path / "nomanifest.apk"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("classes.dex", b"dex\n035\x00")
    code, err = scan([str(bad), "-o", str(tmp_path / "out")], capsys)
    assert code == 3 and "AndroidManifest.xml" in err and len(err.strip().splitlines()) == 1


def test_scan_with_the_sample_policy_finds_the_undeclared_sdk(tmp_path: Path, sample_apk: Path, capsys) -> None:
    policy = REPO / "samples" / "policy"
    code, err = scan([str(sample_apk), "-o", str(tmp_path), "--category", "38", "--reproducible",
                      "--policy", str(policy / "privacy-policy.md"), "--policy", f"sdk-list={policy / 'sdk-list.md'}"], capsys)
    assert code == 0, err
    result = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert validation_errors(result) == []
    view = ResultView(result)
    comparison = view.fact("cmp:sdk_undeclared:umeng_analytics")
    assert comparison is not None and comparison.item["status"] == "mismatch"
    assert [o["ref"] for o in comparison.item["observed"]] == ["sdk:umeng_analytics"]
    (declared,) = comparison.item["declared"]
    assert view.fact(declared["document"]).item["role"] == "sdk_list" and declared["quote"]
    roles = [(i["role"], i["name"]) for i in result["provenance"]["inputs"]]
    assert ("policy:sdk_list", "sdk-list.md") in roles and ("policy:privacy_policy", "privacy-policy.md") in roles
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="policy"' in html and "cmp:sdk_undeclared:umeng_analytics" in html


def test_a_missing_policy_file_is_one_line_before_the_scan(tmp_path: Path, sample_apk: Path, capsys) -> None:
    code, err = scan([str(sample_apk), "-o", str(tmp_path / "out"), "--policy", "sdk-list=nowhere.md"], capsys)
    assert code == 3 and err.strip() == "piscan: nowhere.md: no such file" and not (tmp_path / "out").exists()
    code, err = scan([str(sample_apk), "-o", str(tmp_path / "out"), "--policy", "menu=x.md"], capsys)
    assert code == 2 and "unknown policy role 'menu'" in err
