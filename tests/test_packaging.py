"""Packaging guards: dependency resolution, the package list, data shipped inside the wheel."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


#: known-safe floors of the installed set (pip-audit cannot reach its vulnerability service from
#: CI, whose network reaches only the package index; .ci/run says so): package -> (floor, why)
SAFE_FLOORS = {
    "mitmproxy": ((11, 1, 2), "CVE-2025-23217: mitmweb's API reachable through the proxy port"),
    "h11": ((0, 16, 0), "CVE-2025-43859: lenient chunked-encoding parsing (request smuggling)"),
    "cryptography": ((44, 0, 1), "CVE-2024-12797: vulnerable statically linked OpenSSL in wheels"),
    "jinja2": ((3, 1, 6), "CVE-2025-27516: sandbox breakout through |attr"),
    "urllib3": ((2, 5, 0), "CVE-2025-50181/50182: redirects not disabled as configured"),
    "requests": ((2, 32, 4), "CVE-2024-47081: .netrc credentials leak to third parties"),
    "lxml": ((5, 0, 0), "older libxml2 builds with known parser flaws"),
    "pyyaml": ((5, 4, 0), "CVE-2020-14343: arbitrary code execution in full_load"),
    "zstandard": ((0, 20, 0), "decompression fixes before 0.20"),
    "brotli": ((1, 2, 0), "CVE-2025-6176: decompression without an output limit (PIScan caps it itself)"),
}


def _version(name: str) -> tuple[int, ...] | None:
    try:
        text = metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())


@pytest.mark.parametrize("package", sorted(SAFE_FLOORS))
def test_installed_packages_are_at_or_above_their_safe_floor(package: str) -> None:
    floor, why = SAFE_FLOORS[package]
    installed = _version(package)
    if installed is None:
        return  # not installed here (mitmproxy and h11 on Python 3.11): nothing vulnerable either
    assert installed >= floor, f"{package} {'.'.join(map(str, installed))} is below {'.'.join(map(str, floor))}: {why}"


def test_mitmproxy_is_installed_exactly_where_it_is_safe() -> None:
    # Python 3.12+: mitmproxy >= 11.1.2. Python 3.11: no mitmproxy at all (its last release for 3.11
    # is vulnerable); an unbounded resolver used to pick mitmproxy 0.14 or 11.0 there.
    installed = _version("mitmproxy")
    if sys.version_info >= (3, 12):
        assert installed is not None and installed >= (11, 1, 2), installed
    else:
        assert installed is None, f"mitmproxy {installed} on Python 3.11: setup.cfg must not install it there"


def test_androguard_is_new_enough() -> None:
    parts = tuple(int(p) for p in metadata.version("androguard").split(".")[:3])
    assert parts >= (4, 1, 4)  # 4.1.3 pulled in frida and matplotlib (591 MB in all)


def test_every_subpackage_is_listed_in_setup_cfg() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    listed = set(cfg["options"]["packages"].split())
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "scanner").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "add these packages to setup.cfg [options] packages"
    assert {"scanner._packs", "scanner._templates"} <= listed


@pytest.mark.parametrize("requirement", ["androguard>=4.1.4", 'mitmproxy>=11.1.2; python_version >= "3.12"',
                                         'h11>=0.16; python_version >= "3.12"'])
def test_lower_bounds_are_declared(requirement: str) -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    lines = [line.strip() for line in cfg["options"]["install_requires"].splitlines()]
    assert requirement in lines


def test_shipped_data_is_found() -> None:
    from scanner.resources import rules_dir, templates_dir

    assert (rules_dir() / "pi-types.yaml").is_file()
    assert templates_dir().is_dir()


def test_the_distribution_has_a_name_of_its_own_and_ships_its_licence() -> None:
    """`piscan` on PyPI is an unrelated project (a police-radio scanner agent, 0.2.9), so `pip install
    piscan` or `pip install -U` would install or replace it: the distribution is piscan-compliance."""
    import configparser

    from scanner.testing.corpus import REPO

    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    assert cfg["metadata"]["name"] == "piscan-compliance"
    assert cfg["metadata"]["license"] == "Apache-2.0"
    assert cfg["metadata"]["license_files"].split() == ["LICENSE", "NOTICE"]
    assert "Apache License" in (REPO / "LICENSE").read_text(encoding="utf-8")[:200]
    assert "AGPL-3.0" in (REPO / "NOTICE").read_text(encoding="utf-8")  # the SDK pack's sources, named
    assert metadata.version("piscan-compliance")  # the editable or wheel install carries this name


#: imported but deliberately not a requirement of their own, or declared only as a floor
_IMPORT_EXCEPTIONS = {
    "pytest": "scanner/testing helpers run under the test extra",
    "atheris": "optional coverage-guided fuzz engine (tests/fuzz/README.md)",
    "dask": "the cluster extra",
    "distributed": "the cluster extra",
}
_FLOOR_ONLY = {"h11": "a security floor for mitmproxy's HTTP parser (CVE-2025-43859), not imported"}


def _requirement_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!;\[ ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_every_imported_package_is_declared_and_every_declared_one_is_used() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    declared = _requirement_names(cfg["options"]["install_requires"])
    extras = set().union(*(_requirement_names(v) for v in cfg["options.extras_require"].values()))
    imported: dict[str, str] = {}
    for path in sorted((REPO / "scanner").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "scanner":
                    imported.setdefault(top, str(path.relative_to(REPO)))
    distributions = metadata.packages_distributions()
    undeclared = {}
    used = set()
    for top, where in imported.items():
        dists = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
        used |= dists
        if not dists & (declared | extras) and top not in _IMPORT_EXCEPTIONS:
            undeclared[top] = where
    assert undeclared == {}, f"imported but not declared in setup.cfg: {undeclared}"
    assert declared - used - set(_FLOOR_ONLY) == set(), "declared in setup.cfg but never imported"


def test_a_stale_build_folder_never_ships(tmp_path: Path) -> None:
    """A module planted in build/lib (an earlier build's leftover) is not in the wheel: setup.py
    removes build/ before setuptools packs build/lib."""
    import shutil
    import subprocess
    import zipfile

    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs the git checkout to list the tracked files")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    tree = tmp_path / "src"
    for rel in filter(None, tracked):
        if (REPO / rel).is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, tree / rel)
    planted = tree / "build" / "lib" / "scanner" / "planted_stale_module.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("raise SystemExit('a stale module shipped')\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(tree)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    [wheel] = list((tmp_path / "dist").glob("piscan_compliance-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "scanner/cli.py" in names and "scanner/_packs/android-apis.yaml" in names
    assert not [n for n in names if "planted_stale_module" in n]
