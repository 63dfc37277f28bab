"""The Colab path: a runtime without casekit runs a chapter whose first cell installs it.

A fresh virtual environment stands in for a runtime with its own packages: NumPy and pandas
are installed in it at versions inside casekit's ranges but other than the lock's
(:data:`PREINSTALLED`), and it sees the rest of this environment's packages (TensorFlow,
Keras...) through a path entry, but not casekit. The chapter's own install cell, pointed at
this checkout through ``CASEKIT_SOURCE``, installs casekit; the preinstalled versions must
survive it, and then the whole chapter executes with papermill.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a fresh virtual environment and a pip install

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "00-why-dropout-seems-broken.ipynb"


#: Compatible with casekit's ranges, different from requirements.lock.
PREINSTALLED = {"numpy": "2.4.5", "pandas": "3.1.0"}


def _versions(python: Path) -> dict[str, str]:
    names = ", ".join(PREINSTALLED)
    probe = subprocess.run(
        [str(python), "-c", f"import {names}; print({', '.join(f'{n}.__version__' for n in PREINSTALLED)})"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(zip(PREINSTALLED, probe.stdout.split(), strict=True))


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("colab") / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    pins = [f"{name}=={version}" for name, version in PREINSTALLED.items()]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins], check=True, timeout=600)
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


def test_the_runtime_has_its_own_numpy_and_pandas(fresh_python: Path) -> None:
    assert _versions(fresh_python) == PREINSTALLED


def test_install_cell_keeps_the_runtime_packages(fresh_python: Path) -> None:
    """The chapter's first cell, run as it is, installs casekit and nothing the runtime has."""
    cell = json.loads(CHAPTER.read_text())["cells"][1]
    env = {**os.environ, "CASEKIT_SOURCE": str(ROOT), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    started = time.perf_counter()
    subprocess.run([str(fresh_python), "-c", "".join(cell["source"])], env=env, check=True, timeout=900)
    print(f"install cell: {time.perf_counter() - started:.1f} s")
    assert _versions(fresh_python) == PREINSTALLED


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
    assert _versions(fresh_python) == PREINSTALLED
