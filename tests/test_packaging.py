from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_pins() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {dep.replace(" ", "").lower() for dep in project["dependencies"]}


def _environment_pins() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(item["pip"] for item in env["dependencies"] if isinstance(item, dict))
    return {dep.replace(" ", "").lower() for dep in pip if not dep.startswith("-e")}


def test_environment_yml_and_pyproject_pin_the_same_versions() -> None:
    assert _environment_pins() == _pyproject_pins()


def test_every_dependency_is_pinned_exactly() -> None:
    assert all("==" in dep for dep in _pyproject_pins())


def test_environment_uses_python_3_11() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
