"""Every lower bound in pyproject.toml is a version that a test environment runs.

Two environments run the tests: the lock (``requirements.lock``, what ``make`` installs) and
Colab's runtime as ``tests/test_colab_path.py`` emulates it (the newest snapshot in
``../shared``, for the packages it installs). A bound below the lowest of those versions would
promise what nothing checks, so each bound names the release series of that lowest version.
"""

from __future__ import annotations

import json
import re
import tomllib

import colab_runtime
import pytest
from helpers import ROOT
from packaging.requirements import Requirement
from packaging.version import Version

import lockfile

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKED = lockfile.pins((ROOT / "requirements.lock").read_text())
SNAPSHOT = colab_runtime.newest_snapshot()
EMULATED = colab_runtime.emulated_packages(SNAPSHOT)


def _all_requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    groups = [PYPROJECT["build-system"]["requires"], project["dependencies"]]
    groups += project["optional-dependencies"].values()
    return [Requirement(text) for group in groups for text in group]


def versions_under_test(name: str) -> list[Version]:
    """The versions of ``name`` that the test environments install."""
    name = lockfile.normalize(name)
    found = [LOCKED[name]] if name in LOCKED else []
    found += [EMULATED[name]] if name in EMULATED else []
    return [Version(v) for v in found]


def bound_is_tested(bound: str, tested: list[Version]) -> bool:
    """True when ``bound`` names the release series of the lowest tested version
    (``2.20`` for 2.20.0, ``1.0.4`` for 1.0.4.post1)."""
    wanted = Version(bound).release
    return bool(tested) and min(tested).release[: len(wanted)] == wanted


def test_the_rule_rejects_an_untested_bound() -> None:
    assert bound_is_tested("2.20", [Version("2.21.0"), Version("2.20.0")])
    assert bound_is_tested("1.0.4", [Version("1.0.4.post1")])
    assert not bound_is_tested("2.18", [Version("2.20.0")])
    assert not bound_is_tested("8.18", [])


@pytest.mark.parametrize("requirement", _all_requirements(), ids=str)
def test_each_lower_bound_is_a_tested_version(requirement: Requirement) -> None:
    tested = versions_under_test(requirement.name)
    for spec in requirement.specifier:
        if spec.operator in (">=", "==", "~="):
            assert bound_is_tested(spec.version, tested), (
                f"{requirement}: the test environments run {', '.join(map(str, tested)) or 'no version'}"
            )


def test_colab_s_own_versions_satisfy_casekit_s_ranges() -> None:
    """The install cell keeps the runtime's packages only if they are in range (IPython 7.34
    included: google-colab pins it)."""
    for requirement in colab_runtime.chapter_requirements():
        name = lockfile.normalize(requirement.name)
        if name in SNAPSHOT.pins:
            assert requirement.specifier.contains(SNAPSHOT.pins[name]), f"{requirement} excludes Colab's"
    assert "ipython" in EMULATED


def test_the_backend_chapter_installs_papermill_in_the_book_s_range() -> None:
    """Chapter 6 runs chapters with papermill; on a runtime without casekit its install cell
    adds it, in the range of casekit's ``book`` extra."""
    book = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["book"]]
    (papermill,) = [r for r in book if r.name == "papermill"]
    notebook = json.loads((ROOT / "chapters" / "06-backends.ipynb").read_text())
    install = "".join(next(c for c in notebook["cells"] if c["cell_type"] == "code")["source"])
    assert [Requirement(r) for r in re.findall(r'"(papermill[^"]*)"', install)] == [papermill]
