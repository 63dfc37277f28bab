"""The Colab path: a runtime without casekit runs a chapter whose first cell installs it.

A fresh virtual environment sees the project's dependencies (through a path entry to this
environment's site-packages, standing in for Colab's preinstalled TensorFlow) but not
casekit. The chapter's own install cell, pointed at this checkout through
``CASEKIT_SOURCE``, installs it; then the whole chapter executes with papermill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a fresh virtual environment and a pip install

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "00-why-dropout-seems-broken.ipynb"


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("colab") / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A bare path line: the packages are importable, but their own .pth hooks (such as
    # this checkout's editable casekit install) are not run, so casekit stays missing.
    Path(site, "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_casekit_is_missing_before_the_install_cell(fresh_python: Path) -> None:
    probe = subprocess.run(
        [
            str(fresh_python),
            "-c",
            "import importlib.util; print(importlib.util.find_spec('casekit') is None)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "True"


def test_chapter_installs_casekit_and_runs(fresh_python: Path, tmp_path: Path) -> None:
    output = tmp_path / "executed.ipynb"
    env = {**os.environ, "CASEKIT_SOURCE": str(ROOT), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run(
        [
            str(fresh_python),
            "-m",
            "papermill",
            str(CHAPTER),
            str(output),
            "-p",
            "profile",
            "smoke",
            "--kernel",
            "python3",
            "--no-progress-bar",
            "--cwd",
            str(ROOT / "chapters"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    cells = json.loads(output.read_text())["cells"]
    printed = "".join(
        "".join(o.get("text", "")) for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])
    )
    assert "Device: CPU" in printed and "casekit 0.1.0" in printed
    installed = subprocess.run(
        [
            str(fresh_python),
            "-c",
            "import casekit, pathlib; print(pathlib.Path(casekit.__file__).parent.parent.name)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert installed.stdout.strip() == "site-packages"  # a real install, not this checkout's src/
    assert sys.executable != str(fresh_python)
