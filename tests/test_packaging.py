"""Packaging guards: dependency resolution, the package list, data shipped inside the wheel."""

from __future__ import annotations

import configparser
from importlib import metadata
from pathlib import Path

import mitmproxy.version
import pytest

REPO = Path(__file__).resolve().parent.parent


def test_mitmproxy_is_a_modern_release() -> None:
    # On Python 3.11 an unbounded resolver can silently pick mitmproxy 0.14; the addon needs >= 11.
    major = int(mitmproxy.version.VERSION.split(".")[0])
    assert major >= 11, f"mitmproxy {mitmproxy.version.VERSION} installed; setup.cfg requires mitmproxy>=11"


def test_androguard_is_new_enough() -> None:
    parts = tuple(int(p) for p in metadata.version("androguard").split(".")[:3])
    assert parts >= (4, 1, 3)


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


@pytest.mark.parametrize("requirement", ["androguard>=4.1.3", "mitmproxy>=11"])
def test_lower_bounds_are_declared(requirement: str) -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg", encoding="utf-8")
    assert requirement in cfg["options"]["install_requires"].split()


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
