"""Exact checks of what ``keras.layers.Dropout`` does, on the real layer (chapter 2).

Each function returns plain numbers or booleans that a chapter prints, so every claim
about the layer rests on a computed check rather than on prose.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def mean_ratios(rate: float, x: np.ndarray, seeds: Sequence[int]) -> list[float]:
    """``mean(y) / mean(x)`` of :func:`training_check` with each of ``seeds`` (one mask each)."""
    return [training_check(rate, x, seed=seed).mean_ratio for seed in seeds]


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


def custom_loop(
    make_model: Any,
    x: np.ndarray,
    y: np.ndarray,
    training: bool | None,
    *,
    batch_size: int = 32,
    seed: int = 0,
) -> list[np.ndarray]:
    """Train a fresh model for one pass over ``x`` with a hand-written loop; its final weights.

    Each step calls the model as a hand-written loop would: ``model(x)`` when ``training``
    is ``None`` (the argument omitted), else ``model(x, training=training)``, then applies
    Adam to the gradient of the categorical cross-entropy. On TensorFlow the loop uses
    ``tf.GradientTape``; on JAX, the model called under ``keras.StatelessScope`` inside
    ``jax.value_and_grad`` (what ``stateless_call`` does, as in the Keras guide to custom
    training loops on JAX). Both are the loop a reader writes, and both leave Dropout off
    when ``training`` is omitted.
    """
    keras = keras_module()
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model, optimizer = make_model(), keras.optimizers.Adam()
    loss_fn = keras.losses.CategoricalCrossentropy()
    flag = {} if training is None else {"training": training}
    batches = [(x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    if keras.backend.backend() == "jax":
        return _jax_loop(model, optimizer, loss_fn, flag, batches)
    import tensorflow as tf

    for x_batch, y_batch in batches:
        with tf.GradientTape() as tape:
            loss = loss_fn(y_batch, model(x_batch, **flag))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return [np.array(w) for w in model.get_weights()]


def _jax_loop(
    model: Any, optimizer: Any, loss_fn: Any, flag: dict[str, bool], batches: list[Any]
) -> list[np.ndarray]:
    import jax

    model(batches[0][0][:1])  # creates every variable (subclassed models too); inference draws nothing
    optimizer.build(model.trainable_variables)

    keras = keras_module()

    def loss_of(trainable: Any, non_trainable: Any, x_batch: Any, y_batch: Any) -> Any:
        # model(x, ...) itself, as in a TensorFlow loop (stateless_call would hand ``training``
        # to ``call`` directly, which a subclassed model without that argument rejects)
        mapping = [
            *zip(model.trainable_variables, trainable, strict=True),
            *zip(model.non_trainable_variables, non_trainable, strict=True),
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            predictions = model(x_batch, **flag)
        updated = [scope.get_current_value(v) for v in model.non_trainable_variables]
        new = [old if u is None else u for old, u in zip(non_trainable, updated, strict=True)]
        return loss_fn(y_batch, predictions), new

    gradient_of = jax.value_and_grad(loss_of, has_aux=True)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    state = [v.value for v in optimizer.variables]
    for x_batch, y_batch in batches:
        (_, non_trainable), gradients = gradient_of(trainable, non_trainable, x_batch, y_batch)
        trainable, state = optimizer.stateless_apply(state, gradients, trainable)
    for variable, value in zip(model.trainable_variables, trainable, strict=True):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable, strict=True):
        variable.assign(value)
    return [np.array(w) for w in model.get_weights()]
