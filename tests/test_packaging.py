"""What PyPI and pip show: license, classifiers, version, entry points, a description that stands alone."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

import bitrix_bizproc

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_license_is_mit_in_spdx_and_in_the_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert not any(c.startswith("License ::") for c in PROJECT["classifiers"])  # SPDX says it once


def test_the_classifiers_say_typed_and_the_python_versions_tested() -> None:
    classifiers = PROJECT["classifiers"]
    assert "Typing :: Typed" in classifiers and "Framework :: AsyncIO" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert (ROOT / "bitrix_bizproc" / "py.typed").is_file()


def test_version_comes_from_the_package_metadata() -> None:
    assert isinstance(bitrix_bizproc.__version__, str)
    try:
        installed = importlib.metadata.version("bitrix_bizproc")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("bitrix_bizproc is not installed (pip install -e .): there is no metadata to read")
    assert bitrix_bizproc.__version__ == installed == PROJECT["version"]


def test_the_description_tells_how_to_install_from_pypi() -> None:
    readme = (ROOT / PROJECT["readme"]).read_text(encoding="utf-8")
    assert re.search(r"^pip install bitrix_bizproc$", readme, re.MULTILINE)
    assert "pip install 'bitrix_bizproc[cli]'" in readme
