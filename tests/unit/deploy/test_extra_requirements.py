"""The image build installs each profile's dependencies from pyproject.toml's extras."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[3] / "docker" / "extra_requirements.py"
_spec = importlib.util.spec_from_file_location("extra_requirements", _PATH)
extra_requirements = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(extra_requirements)

PROJECT = {
    "name": "photo-factory",
    "dependencies": ["click>=8"],
    "optional-dependencies": {"a": ["x>=1"], "b": ["y", "x>=1"], "all": ["photo-factory[a,b]"]},
}


def test_no_extra_means_only_the_core_dependencies() -> None:
    assert extra_requirements.requirements(PROJECT, []) == ["click>=8"]


def test_an_extra_that_names_other_extras_expands_them_without_duplicates() -> None:
    assert sorted(extra_requirements.requirements(PROJECT, ["all"])) == ["click>=8", "x>=1", "y"]
