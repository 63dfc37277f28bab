"""Every chapter, opened from its Colab button, on Colab's own packages.

A virtual environment stands in for Colab's runtime (``tests/colab_runtime.py``): what casekit
and the chapters need and what runs a notebook (ipykernel, jupyter_client, nbclient, nbformat,
pip), at the versions of the newest runtime snapshot, with every dependency held to the
snapshot's version too. It is built once per snapshot and package set, under
``build/colab-runtime/<key>/`` (the first build downloads TensorFlow and JAX).

Each chapter then gets a runtime of its own, as a Colab button gives: a copy of the runtime
(hard links: seconds and no space; pip replaces files, never writes into them, so the built
runtime stays as it is), a working directory holding the notebook alone, and the runtime's
own ipykernel, driven through the runtime's nbclient as Colab's frontend drives its kernel. The notebook
runs from its first cell (the install cell, pointed at this checkout through
``CASEKIT_SOURCE``) at the smoke profile. It passes when every cell ran and ``pip freeze``
afterwards differs from before only by packages that were absent: casekit and what the
runtime lacks, never a changed version.

Not emulated: the runtime's Python (the snapshot names it; this environment runs this
interpreter) and its GPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import colab_runtime
import pytest
from helpers import ROOT

import lockfile

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
CACHE = ROOT / "build" / "colab-runtime"
#: Written last into a built runtime: its absence means an interrupted build.
COMPLETE = "complete.json"
#: Where the chapters' copies of the runtime are made, beside it.
SCRATCH = "scratch"
#: The profile each chapter runs at here.
PROFILE = "smoke"
#: Seconds one cell may run (a smoke-profile cell takes seconds; the limit only stops a hang).
CELL_TIMEOUT = 900
#: Variables of this test session that a fresh Colab runtime does not have.
NOT_ON_COLAB = ("TF_", "KERAS_", "ONEDNN_", "CASEKIT_", "PYTHON", "JUPYTER", "IPYTHON", "MPLBACKEND")
NOT_ON_COLAB_NAMES = ("VIRTUAL_ENV", "PYTEST_CURRENT_TEST", "PYTEST_VERSION")

#: Runs in the runtime: execute a notebook with nbclient and the runtime's ipykernel.
DRIVER = """
import sys
import nbformat
from nbclient import NotebookClient

source, output, folder, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
notebook = nbformat.read(source, as_version=4)
client = NotebookClient(
    notebook, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": folder}}
)
try:
    client.execute()
finally:
    nbformat.write(notebook, output)
"""


def freeze(python: Path) -> dict[str, str]:
    """``pip freeze --all`` of an environment: each distribution's version (or its ``@ URL``),
    by normalized name."""
    listed = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout
    found: dict[str, str] = {}
    for line in listed.splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
        elif " @ " in line:
            name, version = line.split(" @ ", 1)
        else:
            continue
        found[lockfile.normalize(name.strip())] = version.strip()
    return found


def changed_versions(before: dict[str, str], after: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """Distributions of ``before`` whose version moved or that are gone in ``after``."""
    return {name: (old, after.get(name)) for name, old in before.items() if after.get(name) != old}


def runtime_key(snapshot: colab_runtime.Snapshot, packages: dict[str, str]) -> str:
    """What a built runtime depends on: the snapshot's bytes, the package set, this Python."""
    text = "\n".join([snapshot.digest, sys.version, *(f"{n}=={v}" for n, v in sorted(packages.items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _build_runtime(snapshot: colab_runtime.Snapshot) -> Path:
    """The runtime's environment for ``snapshot``, built unless a complete one is cached."""
    packages = colab_runtime.emulated_packages(snapshot)
    target = CACHE / runtime_key(snapshot, packages)
    if (target / COMPLETE).is_file():
        recorded = json.loads((target / COMPLETE).read_text(encoding="utf-8")).get("freeze")
        if freeze(target / "bin" / "python") == recorded:
            return target
    for stale in CACHE.glob("*"):  # another snapshot's, an interrupted or a changed build
        if stale.is_dir():
            shutil.rmtree(stale)
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    constraints = target / "constraints.txt"
    constraints.write_text(snapshot.constraints(), encoding="utf-8")
    started = time.perf_counter()
    install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c"]
    installer = f"{colab_runtime.INSTALLER}=={packages[colab_runtime.INSTALLER]}"
    specs = [f"{name}=={version}" for name, version in packages.items() if name != colab_runtime.INSTALLER]
    for step in ([installer], specs):  # the runtime's pip first, then everything with it
        done = subprocess.run(
            [*install, str(constraints), *step], capture_output=True, text=True, timeout=1800, check=False
        )
        assert done.returncode == 0, f"building the Colab runtime failed:\n{done.stderr[-4000:]}"
    record = {
        "snapshot": str(snapshot.path),
        "commit": snapshot.commit,
        "packages": packages,
        "build_s": round(time.perf_counter() - started),
        "freeze": freeze(python),
    }
    (target / COMPLETE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def snapshot() -> colab_runtime.Snapshot:
    return colab_runtime.newest_snapshot()


@pytest.fixture(scope="module")
def colab(snapshot: colab_runtime.Snapshot) -> Path:
    """The built runtime (its directory)."""
    return _build_runtime(snapshot)


@contextlib.contextmanager
def _fresh_runtime(colab: Path, name: str) -> Iterator[Path]:
    """A copy of the runtime ``colab`` for one chapter, removed afterwards; yields its Python.

    Hard links, beside the runtime (same file system): pip installs new files and removes old
    ones by renaming them away, so nothing it does in the copy changes the runtime's files.
    """
    copy = CACHE / SCRATCH / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(colab, copy, symlinks=True, copy_function=os.link)
    try:
        yield copy / "bin" / "python"
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _colab_env(python: Path, scratch: Path) -> dict[str, str]:
    """This process's environment without what a fresh Colab runtime lacks, with a Jupyter
    and IPython home of its own and a ``python3`` kernel that is the runtime's Python."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(NOT_ON_COLAB) and name not in NOT_ON_COLAB_NAMES
    }
    kernel = scratch / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec))
    env.update(
        CASEKIT_SOURCE=str(ROOT),
        JUPYTER_PATH=str(scratch / "jupyter"),
        JUPYTER_DATA_DIR=str(scratch / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"),
        IPYTHONDIR=str(scratch / "ipython"),
        PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _at_profile(chapter: Path, profile: str) -> dict[str, Any]:
    """The chapter with a cell after its parameters cell that sets ``profile``, as papermill
    injects one (a Colab reader edits the parameters cell instead)."""
    notebook: dict[str, Any] = json.loads(chapter.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    index = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    injected: dict[str, Any] = {
        "cell_type": "code",
        "id": "injected-parameters",
        "metadata": {"tags": ["injected-parameters"]},
        "execution_count": None,
        "outputs": [],
        "source": f"profile = {profile!r}\n",
    }
    cells.insert(index + 1, injected)
    return notebook


def _printed(notebook: dict[str, Any], stream: str) -> str:
    return "".join(
        "".join(output.get("text", ""))
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if output.get("name") == stream
    )


def test_the_newest_snapshot_is_the_one_with_the_latest_date(tmp_path: Path) -> None:
    header = "# pip-freeze.txt at commit {} ({}). os-info.txt there: Python 3.13.1.\n"
    (tmp_path / "colab-runtime.txt").write_text(header.format("a" * 40, "2026-08-19") + "numpy==2.1.3\n")
    (tmp_path / "colab-runtime-next.txt").write_text(header.format("b" * 40, "2026-11-02") + "numpy==2.3.0\n")
    (tmp_path / "colab-runtime-zold.txt").write_text(header.format("c" * 40, "2025-01-30") + "numpy==2.0.0\n")
    newest = colab_runtime.newest_snapshot(tmp_path)
    assert (newest.date, newest.commit, newest.python) == ("2026-11-02", "b" * 40, "3.13")
    assert newest.pins == {"numpy": "2.3.0"}
    with pytest.raises(FileNotFoundError, match="no Colab runtime snapshot"):
        colab_runtime.newest_snapshot(tmp_path / "empty")


def test_the_shared_snapshot_has_what_the_chapters_need(snapshot: colab_runtime.Snapshot) -> None:
    assert snapshot.commit and snapshot.date and snapshot.python
    emulated = colab_runtime.emulated_packages(snapshot)
    for name in ("tensorflow", "keras", "numpy", "ipython", "ipykernel", "nbclient", "jax", "pip"):
        assert name in emulated, f"the runtime snapshot has no {name}"


def test_a_changed_version_is_found_and_an_added_package_is_not() -> None:
    before = {"ipython": "7.34.0", "numpy": "2.1.3"}
    assert changed_versions(before, {**before, "casekit": "file:///x", "jedi": "0.19.2"}) == {}
    assert changed_versions(before, {**before, "ipython": "9.18.1"}) == {"ipython": ("7.34.0", "9.18.1")}
    assert changed_versions(before, {"ipython": "7.34.0"}) == {"numpy": ("2.1.3", None)}


@pytest.mark.slow
def test_the_runtime_has_the_snapshot_versions(colab: Path, snapshot: colab_runtime.Snapshot) -> None:
    """Every installed package the snapshot lists is at its version; dependencies the snapshot
    lacks are few (they resolved freely)."""
    installed = freeze(colab / "bin" / "python")
    assert changed_versions({n: snapshot.pins[n] for n in installed if n in snapshot.pins}, installed) == {}
    assert colab_runtime.emulated_packages(snapshot).items() <= installed.items()
    assert "casekit" not in installed
    unlisted = sorted(set(installed) - set(snapshot.pins))
    print(f"installed, not in the snapshot: {unlisted}")
    assert len(unlisted) < len(installed) // 10


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_alone_on_the_colab_runtime(
    chapter: Path, colab: Path, snapshot: colab_runtime.Snapshot, tmp_path: Path
) -> None:
    with _fresh_runtime(colab, chapter.stem) as python:
        _run_alone(chapter, python, snapshot, tmp_path)


def _run_alone(chapter: Path, python: Path, snapshot: colab_runtime.Snapshot, tmp_path: Path) -> None:
    folder = tmp_path / "content"  # what Colab's /content is to a notebook opened from a button
    folder.mkdir()
    source = folder / chapter.name
    source.write_text(json.dumps(_at_profile(chapter, PROFILE), indent=1), encoding="utf-8")
    executed = tmp_path / "executed.ipynb"
    env = _colab_env(python, tmp_path / "home")

    before = freeze(python)
    assert "casekit" not in before
    started = time.perf_counter()
    result = subprocess.run(
        [str(python), "-c", DRIVER, str(source), str(executed), str(folder), str(CELL_TIMEOUT)],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=CELL_TIMEOUT * 2,
    )
    elapsed = time.perf_counter() - started
    after = freeze(python)
    added = sorted(set(after) - set(before))
    print(f"{chapter.stem}: {elapsed:.0f} s on the emulated runtime; install cell added {added}")
    _record(chapter.stem, elapsed, added)

    assert result.returncode == 0, result.stderr[-4000:]
    assert changed_versions(before, after) == {}, "the install cell changed the runtime's packages"
    assert "casekit" in added
    located = subprocess.run(
        [str(python), "-c", "import casekit; print(casekit.__file__)"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert Path(located.stdout.strip()).is_relative_to(python.parent.parent), "casekit was not installed"

    notebook = json.loads(executed.read_text(encoding="utf-8"))
    printed = _printed(notebook, "stdout")
    assert f"Settings(profile={PROFILE!r}" in printed
    for library in ("tensorflow", "keras", "numpy"):
        assert f"{library} {snapshot.pins[library]}" in printed, f"{library} is not the runtime's"
    assert "Device: " in printed
    warned = _printed(notebook, "stderr")
    print(f"{chapter.stem}: stderr in the notebook: {warned.strip()[:2000] or 'none'}")
    assert "setup_book_session" not in warned


def _record(stem: str, seconds: float, added: list[str]) -> None:
    """Keep each chapter's time and added packages beside the cached runtime (for the README)."""
    path = CACHE / "last-run.json"
    found = json.loads(path.read_text()) if path.is_file() else {}
    found[stem] = {"seconds": round(seconds), "added": added}
    path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
