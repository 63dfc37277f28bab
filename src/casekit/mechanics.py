"""Exact checks of what ``keras.layers.Dropout`` does, on the real layer (chapter 2).

Each function returns plain numbers or booleans that a chapter prints, so every claim
about the layer rests on a computed check rather than on prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from casekit._runtime import keras_module


@dataclass(frozen=True)
class TrainingCheck:
    """Dropout with ``training=True`` on a positive input ``x``."""

    rate: float
    elements: int
    dropped_fraction: float  # share of outputs that are exactly 0
    all_zero_or_scaled: bool  # every output is 0 or x / (1 - rate) (float32 rounding)
    max_scaling_error: float  # largest |y - x / (1 - rate)| over kept outputs
    mean_ratio: float  # mean(y) / mean(x): 1 when the expectation is preserved


def training_check(rate: float, x: np.ndarray, seed: int = 0) -> TrainingCheck:
    """Apply a real ``layers.Dropout(rate)`` in training mode to ``x`` (all entries > 0)."""
    keras = keras_module()
    if not (np.asarray(x) > 0).all():
        raise ValueError("x must be strictly positive so a dropped unit is distinguishable")
    layer = keras.layers.Dropout(rate, seed=seed)
    y = np.asarray(layer(x, training=True))
    kept = y != 0
    expected = (x / np.float32(1.0 - rate)).astype(np.float32)
    error = float(np.abs(y[kept] - expected[kept]).max()) if kept.any() else 0.0
    return TrainingCheck(
        rate=rate,
        elements=int(y.size),
        dropped_fraction=float((~kept).mean()),
        all_zero_or_scaled=bool(np.all(~kept | np.isclose(y, expected, rtol=1e-6, atol=0))),
        max_scaling_error=error,
        mean_ratio=float(y.astype(np.float64).mean() / np.asarray(x, dtype=np.float64).mean()),
    )


def inference_is_identity(rate: float, x: np.ndarray) -> bool:
    """True when ``layers.Dropout(rate)`` with ``training=False`` returns ``x`` bit for bit."""
    keras = keras_module()
    return bool(np.array_equal(np.asarray(keras.layers.Dropout(rate)(x, training=False)), x))


def weights_unchanged_by_predict(model: Any, x: np.ndarray) -> bool:
    """True when every weight is bit-identical before and after ``model.predict(x)``."""
    before = [np.array(w) for w in model.get_weights()]
    model.predict(x, verbose=0)
    return all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def dropout_mask(rate: float, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """One mask from the real layer: ``Dropout(rate)(ones, training=True)``, i.e. 0 or 1/(1-rate)."""
    keras = keras_module()
    return np.asarray(keras.layers.Dropout(rate, seed=seed)(np.ones(shape, np.float32), training=True))


def order_difference(activation: str, mask: np.ndarray, z: np.ndarray) -> float:
    """max |f(mask * z) - mask * f(z)|: dropout before vs after ``activation``, same mask."""
    keras = keras_module()
    f = keras.activations.get(activation)
    before = np.asarray(f(mask * z))
    after = mask * np.asarray(f(z))
    return float(np.abs(before - after).max())
