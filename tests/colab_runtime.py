"""Colab's runtime as it publishes itself: the newest snapshot of its installed packages.

Colab lists the packages of its CPU/GPU runtime (``pip freeze``) in the public repository
googlecolab/backend-info. Copies of that list live beside this repository, in
``../shared/colab-runtime*.txt``, each with a header naming the commit and date it was copied
at. The newest one is the runtime the tests emulate: ``tests/test_colab_path.py`` builds an
environment from it and runs every chapter there, and ``tests/test_dependency_bounds.py``
counts its versions as tested lower bounds. Adding a newer snapshot is all it takes to move
both to it.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from helpers import ROOT
from packaging.requirements import Requirement

import lockfile

#: Where the snapshots are kept, beside the repository.
SHARED = ROOT.parent / "shared"
PATTERN = "colab-runtime*.txt"
#: What runs a notebook the way Colab's frontend does: its kernel and the client that drives it.
NOTEBOOK_STACK = ("ipykernel", "jupyter-client", "nbclient", "nbformat")
#: The installer the chapters' install cell calls, at the runtime's own version.
INSTALLER = "pip"

_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)")
_COMMIT = re.compile(r"\bcommit ([0-9a-f]{40})\b")
_PYTHON = re.compile(r"\bPython (\d+\.\d+)")


@dataclass(frozen=True)
class Snapshot:
    """One copy of the runtime's package list."""

    path: Path
    #: The header's date (ISO), or "" when it names none.
    date: str
    commit: str
    #: The runtime's Python (major.minor), as the header states it.
    python: str
    #: Every ``name==version`` line, by normalized name (lines such as ``name @ URL`` are left out).
    pins: dict[str, str]

    @property
    def digest(self) -> str:
        """SHA-256 of the file: what an environment built from it is keyed by."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def constraints(self) -> str:
        """The pins as a pip constraints file."""
        return "".join(f"{name}=={version}\n" for name, version in sorted(self.pins.items()))


def read_snapshot(path: Path) -> Snapshot:
    """Parse a snapshot: its header comments, then ``pip freeze`` lines copied unchanged."""
    text = path.read_text(encoding="utf-8")
    header = " ".join(line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#"))
    date, commit, python = (pattern.search(header) for pattern in (_DATE, _COMMIT, _PYTHON))
    return Snapshot(
        path=path,
        date=date.group(1) if date else "",
        commit=commit.group(1) if commit else "",
        python=python.group(1) if python else "",
        pins=lockfile.pins(text),
    )


def newest_snapshot(folder: Path = SHARED) -> Snapshot:
    """The snapshot with the latest date in its header (file name breaks ties)."""
    found = sorted(
        (read_snapshot(path) for path in folder.glob(PATTERN)), key=lambda s: (s.date, s.path.name)
    )
    if not found:
        raise FileNotFoundError(f"no Colab runtime snapshot ({PATTERN}) in {folder}")
    return found[-1]


def _project() -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def chapter_requirements() -> list[Requirement]:
    """What a chapter needs: casekit's dependencies and the ``jax`` extra (chapter 6 runs
    the same checks on JAX)."""
    project = _project()
    dependencies = project["dependencies"]
    extras = project["optional-dependencies"]
    assert isinstance(dependencies, list) and isinstance(extras, dict)
    return [Requirement(text) for text in [*dependencies, *extras["jax"]]]


def emulated_packages(snapshot: Snapshot) -> dict[str, str]:
    """The part of the runtime the emulation installs, at the runtime's versions: what the
    chapters need and what runs them, where the runtime has it (what it lacks is left for the
    install cell to add)."""
    names = [lockfile.normalize(r.name) for r in chapter_requirements()]
    names += [*NOTEBOOK_STACK, INSTALLER]
    return {name: snapshot.pins[name] for name in names if name in snapshot.pins}
