"""``requirements.lock`` (pip-compile, with hashes) and the conda ``environment.yml`` made from it.

The lock is the exact environment that produced the stored chapters; ``make`` installs from
it with ``--require-hashes``. ``environment.yml`` (conda, Binder) lists the same pins without
hashes. ``python scripts/lockfile.py`` rewrites it; ``tests/test_packaging.py`` checks both
against each other and against the ranges in ``pyproject.toml``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)
#: Installed by conda itself, or by pip's own bootstrap: not listed in environment.yml.
CONDA_PROVIDES = frozenset({"pip", "setuptools", "wheel"})

HEADER = """\
# Conda/Binder environment for the Dropout Casebook, generated from requirements.lock by
# `python scripts/lockfile.py` (make lock); tests/test_packaging.py checks they agree.
name: dropout-casebook
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def normalize(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock_text: str) -> dict[str, str]:
    """Every ``name==version`` of a pip-compile lock, by normalized name."""
    return {normalize(name): version for name, version in _PIN.findall(lock_text)}


def environment_yml(locked: dict[str, str]) -> str:
    """The environment file for these pins (and this checkout, editable)."""
    lines = [
        f"      - {name}=={version}" for name, version in sorted(locked.items()) if name not in CONDA_PROVIDES
    ]
    return HEADER + "\n".join([*lines, "      - -e ."]) + "\n"


def main(root: Path) -> None:
    locked = pins((root / "requirements.lock").read_text(encoding="utf-8"))
    (root / "environment.yml").write_text(environment_yml(locked), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
