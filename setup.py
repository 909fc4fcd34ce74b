"""Build entry point. Everything is declared in setup.cfg; this file only removes a stale
``build/`` first, because setuptools packs whatever ``build/lib`` holds into the wheel (a module
left there by an earlier build once shipped: tests/test_packaging.py plants one to check)."""

import shutil
from pathlib import Path

from setuptools import setup

shutil.rmtree(Path(__file__).resolve().parent / "build", ignore_errors=True)
setup()
