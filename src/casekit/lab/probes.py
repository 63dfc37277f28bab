"""Measure the mechanism inside any Keras model: variance shift and BN re-estimation.

Variance shift (Li et al., CVPR 2019): a BatchNormalization layer fed by Dropout
accumulates its moving variance while dropout is active, but at inference dropout is
the identity, so the layer normalizes with a variance that no longer matches its input.
:func:`variance_shift` measures, per BN unit, the moving variance against the real
variance of the layer's input at inference, and predicts the ratio in closed form.

Works on Sequential, Functional and nested models, and on subclassed models (layers
are found recursively; which layer feeds which comes from the graph when the model has
one, otherwise from the order the layers are called).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from casekit._runtime import keras_module

#: Units whose inference variance is below this (e.g. dead ReLUs) get no ratio (NaN).
MIN_VARIANCE = 1e-6


def walk_layers(model: Any) -> list[Any]:
    """Every layer inside ``model``, depth first, nested models expanded (not included)."""
    found = []
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            found.extend(walk_layers(layer))
        else:
            found.append(layer)
    return found


def layer_kind(layer: Any) -> str:
    """``"bn"``, ``"dropout"``, ``"dense"`` or the layer's class name."""
    keras = keras_module()
    if isinstance(layer, keras.layers.BatchNormalization):
        return "bn"
    if isinstance(layer, keras.layers.Dropout):
        return "dropout"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    return type(layer).__name__


def graph_producer(layer: Any) -> Any | None:
    """The layer whose output feeds ``layer`` in a Functional/Sequential graph, if known."""
    keras = keras_module()
    try:
        producer = layer.input._keras_history[0]
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
    while isinstance(producer, keras.Model) and getattr(producer, "layers", None):
        producer = producer.layers[-1]
    return producer


@dataclass
class _Moments:
    """Running per-channel sums in float64 (inputs flattened to (-1, channels))."""

    n: int = 0
    total: np.ndarray | None = None
    squares: np.ndarray | None = None

    def add(self, values: Any) -> None:
        array = np.asarray(values, dtype=np.float64)
        flat = array.reshape(-1, array.shape[-1])
        self.n += len(flat)
        self.total = flat.sum(0) if self.total is None else self.total + flat.sum(0)
        self.squares = (flat**2).sum(0) if self.squares is None else self.squares + (flat**2).sum(0)

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self.total / self.n)  # type: ignore[operator]

    @property
    def second_moment(self) -> np.ndarray:
        return np.asarray(self.squares / self.n)  # type: ignore[operator]

    @property
    def variance(self) -> np.ndarray:
        return np.asarray(np.maximum(self.second_moment - self.mean**2, 0.0))


@dataclass
class _Recording:
    order: list[Any] = field(default_factory=list)
    moments: dict[int, _Moments] = field(default_factory=dict)


@contextlib.contextmanager
def _record_inputs(layers: list[Any]) -> Iterator[_Recording]:
    """Accumulate the input moments of ``layers`` for every eager call inside the block."""
    recording = _Recording()
    for layer in layers:
        original = layer.call

        def wrapped(
            inputs: Any, *args: Any, _layer: Any = layer, _call: Any = original, **kwargs: Any
        ) -> Any:
            if id(_layer) not in recording.moments:
                recording.order.append(_layer)
                recording.moments[id(_layer)] = _Moments()
            recording.moments[id(_layer)].add(inputs)
            return _call(inputs, *args, **kwargs)

        layer.call = wrapped
    try:
        yield recording
    finally:
        for layer in layers:
            del layer.call


def _forward(model: Any, x: np.ndarray, batch_size: int, training: bool) -> None:
    for start in range(0, len(x), batch_size):
        model(x[start : start + batch_size], training=training)


@contextlib.contextmanager
def _restored_state(model: Any) -> Iterator[None]:
    """Put every non-trainable variable (BN moving statistics, seed states) back afterwards."""
    saved = [np.array(v.numpy()) for v in model.non_trainable_variables]
    try:
        yield
    finally:
        for variable, value in zip(model.non_trainable_variables, saved, strict=True):
            variable.assign(value)


def record_inputs(model: Any, x: np.ndarray, *, batch_size: int = 1000, training: bool = False) -> _Recording:
    """Input moments of every BN and Dropout layer over ``x`` (model state left unchanged)."""
    watched = [layer for layer in walk_layers(model) if layer_kind(layer) in ("bn", "dropout")]
    with _restored_state(model), _record_inputs(watched) as recording:
        _forward(model, x, batch_size, training)
    return recording


def feeding_dropout(bn: Any, model: Any) -> tuple[Any | None, Any | None]:
    """(dropout, dense) when ``bn`` is fed by Dropout directly or through one Dense layer.

    Uses the model graph; a subclassed model has none, so there the layer listed just
    before (attribute order, which is normally call order) counts as the producer.
    """
    sequence = walk_layers(model)

    def producer(layer: Any) -> Any | None:
        found = graph_producer(layer)
        if found is not None:
            return found
        index = next((i for i, item in enumerate(sequence) if item is layer), None)
        return sequence[index - 1] if index else None

    first = producer(bn)
    if first is not None and layer_kind(first) == "dropout":
        return first, None
    if first is not None and layer_kind(first) == "dense":
        second = producer(first)
        if second is not None and layer_kind(second) == "dropout":
            return second, first
    return None, None


def variance_shift(
    model: Any, x: np.ndarray, *, batch_size: int = 1000, training_variance: bool = True
) -> pd.DataFrame:
    """Per BN unit: moving vs inference variance of its input, measured and predicted.

    Columns: ``layer``, ``unit``, ``fed_by`` ("dropout", "dropout>dense" or "other"),
    ``rate``, ``input_mean``, ``moving_mean``, ``inference_variance`` (input variance over
    ``x`` with dropout off), ``moving_variance``, ``shift`` (moving / inference),
    ``predicted_shift`` (closed form below; NaN when not fed by Dropout), and, with
    ``training_variance``, ``training_variance``: the input variance with dropout active,
    what BN normalizes with while training (model state is restored afterwards).

    Prediction: for ``y = W^T (m * x) / p + b`` with mask ``m ~ Bernoulli(p)`` independent
    of ``x``, ``Var_train(y_j) = Var_test(y_j) + (1 - p) / p * sum_i W_ij^2 E[x_i^2]``.
    With ``W = I`` (Dropout straight into BN) this is Li et al.'s
    ``((c^2 + v) / p - c^2) / v`` for input mean ``c`` and variance ``v``.
    """
    inference = record_inputs(model, x, batch_size=batch_size, training=False)
    training = record_inputs(model, x, batch_size=batch_size, training=True) if training_variance else None
    frames = []
    for layer in inference.order:
        if layer_kind(layer) != "bn":
            continue
        moments = inference.moments[id(layer)]
        variance = moments.variance
        dropout, dense = feeding_dropout(layer, model)
        predicted = np.full_like(variance, np.nan)
        rate = np.nan
        if dropout is not None and id(dropout) in inference.moments:
            rate = float(dropout.rate)
            keep = 1.0 - rate
            second = inference.moments[id(dropout)].second_moment
            extra = second if dense is None else (np.asarray(dense.kernel) ** 2).T @ second
            with np.errstate(divide="ignore", invalid="ignore"):
                predicted = 1.0 + (1.0 - keep) / keep * extra / variance
        moving = np.asarray(layer.moving_variance, dtype=np.float64)
        valid = variance > MIN_VARIANCE
        frame = pd.DataFrame(
            {
                "layer": layer.name,
                "unit": np.arange(len(variance)),
                "fed_by": "other" if dropout is None else ("dropout" if dense is None else "dropout>dense"),
                "rate": rate,
                "input_mean": moments.mean,
                "moving_mean": np.asarray(layer.moving_mean, dtype=np.float64),
                "inference_variance": variance,
                "moving_variance": moving,
                "shift": np.where(valid, moving / np.where(valid, variance, 1.0), np.nan),
                "predicted_shift": np.where(valid, predicted, np.nan),
            }
        )
        if training is not None:
            frame["training_variance"] = training.moments[id(layer)].variance
        frames.append(frame)
    if not frames:
        raise ValueError("the model has no BatchNormalization layer to probe")
    return pd.concat(frames, ignore_index=True)


def shift_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per BN layer: units with a ratio, median measured and predicted shift, share above 1."""
    rows = []
    for layer, part in table.groupby("layer", sort=False):
        valid = part.dropna(subset=["shift"])
        rows.append(
            {
                "layer": layer,
                "fed_by": part["fed_by"].iloc[0],
                "units": len(valid),
                "median_shift": float(valid["shift"].median()),
                "median_predicted": float(valid["predicted_shift"].median()),
                "share_above_1": float((valid["shift"] > 1).mean()),
            }
        )
    return pd.DataFrame(rows)


def reestimate_batchnorm(model: Any, x: np.ndarray, *, batch_size: int = 1000) -> int:
    """Replace every BN layer's moving mean and variance by its input's statistics over
    ``x`` at inference (dropout off), in call order so later layers see corrected inputs.
    Modifies ``model`` in place; returns the number of BN layers updated.
    """
    updated = 0
    while True:
        recording = record_inputs(model, x, batch_size=batch_size, training=False)
        batchnorms = [layer for layer in recording.order if layer_kind(layer) == "bn"]
        if updated == len(batchnorms):
            return updated
        layer = batchnorms[updated]
        moments = recording.moments[id(layer)]
        layer.moving_mean.assign(moments.mean.astype(np.float32))
        layer.moving_variance.assign(moments.variance.astype(np.float32))
        updated += 1


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over ``bins`` bins."""
    probabilities = np.asarray(probabilities)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(error)


def predict(model: Any, x: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Inference-mode outputs by eager calls (no ``tf.function`` retraced per model)."""
    return np.concatenate(
        [
            np.asarray(model(x[i : i + batch_size], training=False), dtype=np.float64)
            for i in range(0, len(x), batch_size)
        ]
    )


def _test_metrics(model: Any, x: np.ndarray, y: np.ndarray, prefix: str) -> dict[str, float]:
    probabilities = predict(model, x)
    labels = y.argmax(axis=1)
    clipped = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return {
        f"{prefix}test_accuracy": float((probabilities.argmax(axis=1) == labels).mean()),
        f"{prefix}test_loss": float(-np.log(clipped).mean()),
        f"{prefix}test_ece": expected_calibration_error(probabilities, labels),
        f"{prefix}test_confidence": float(probabilities.max(axis=1).mean()),
    }


def shift_and_reestimate(model: Any, dataset: Any) -> dict[str, Any]:
    """A :func:`casekit.lab.training.run_grid` probe: variance shift, calibration, and the same
    test metrics after :func:`reestimate_batchnorm` on the training images (in place).

    Scalars: ``shift`` and ``predicted_shift`` (medians over all BN units),
    ``training_fit`` (median moving / dropout-on input variance, 1 when BN's statistics
    are right for training), ``test_ece``/``test_confidence`` and ``reest_test_*``.
    Table ``units``: the per-unit :func:`variance_shift` output.
    """
    out: dict[str, Any] = {**_test_metrics(model, dataset.x_test, dataset.y_test, "")}
    has_bn = any(layer_kind(layer) == "bn" for layer in walk_layers(model))
    if not has_bn:
        nan = float("nan")
        out.update(shift=nan, predicted_shift=nan, training_fit=nan)
        out.update({f"reest_{k}": v for k, v in list(out.items()) if k.startswith("test_")})
        return out
    table = variance_shift(model, dataset.x_train)
    out["shift"] = float(table["shift"].median())
    out["predicted_shift"] = float(table["predicted_shift"].median())
    out["training_fit"] = float((table["moving_variance"] / table["training_variance"]).median())
    reestimate_batchnorm(model, dataset.x_train)
    out.update(_test_metrics(model, dataset.x_test, dataset.y_test, "reest_"))
    out["units"] = table
    return out
