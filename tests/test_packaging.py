"""Dependencies: ranges in pyproject.toml, exact pins with hashes in requirements.lock, and
environment.yml generated from the lock; all three must agree."""

from __future__ import annotations

import re
import tomllib

import yaml
from helpers import ROOT
from packaging.requirements import Requirement

import lockfile

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = (ROOT / "requirements.lock").read_text()


def _requirements(group: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in group]


def test_runtime_dependencies_are_ranges_not_pins() -> None:
    for requirement in _requirements(PROJECT["dependencies"]):
        assert "==" not in str(requirement.specifier), f"{requirement} pins an exact version"


def test_runtime_dependencies_are_what_casekit_needs_to_run_a_chapter() -> None:
    names = {lockfile.normalize(r.name) for r in _requirements(PROJECT["dependencies"])}
    assert names == {"tensorflow", "keras", "numpy", "scipy", "pandas", "matplotlib", "mlxtend", "ipython"}
    extras = PROJECT["optional-dependencies"]
    assert {"papermill", "jupyter-book", "myst-nb"} <= {
        lockfile.normalize(Requirement(r).name) for r in extras["book"]
    }
    assert {"pytest", "nbval", "selenium", "ruff", "mypy"} <= {
        lockfile.normalize(Requirement(r).name) for r in extras["test"]
    }


def test_the_lock_satisfies_every_range_and_extra() -> None:
    locked = lockfile.pins(LOCK)
    groups = [PROJECT["dependencies"], *PROJECT["optional-dependencies"].values()]
    for requirement in _requirements([r for group in groups for r in group]):
        name = lockfile.normalize(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside {requirement.specifier}"
        )


def test_every_locked_package_has_a_hash() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK[LOCK.index("\n", LOCK.index("pip-compile")) :].strip())
    for entry in entries:
        if "==" in entry:
            assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_environment_yml_is_generated_from_the_lock() -> None:
    expected = lockfile.environment_yml(lockfile.pins(LOCK))
    assert (ROOT / "environment.yml").read_text() == expected, "run `make lock` (python scripts/lockfile.py)"
    env = yaml.safe_load(expected)
    assert "python=3.11" in env["dependencies"]
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()


def test_make_installs_from_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--no-deps" in makefile
