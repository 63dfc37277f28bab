"""Train many replicas of one placement in one Keras model: the fast path for sweeps.

A grid of small runs on a CPU (or a GPU) is dominated by per-step overhead, not
arithmetic. Replicas that share a placement and width (seeds, and dropout rates) are laid
side by side in one *wide* model: Dense layers become :class:`ReplicaDense` (one batched
matrix product for all replicas), BatchNormalization normalizes the concatenated
features (per feature, hence per replica), and each replica gets its own real
``layers.Dropout`` at its own rate. Every replica starts from exactly the weights a
single run with its seed would start from (built by :func:`casekit.models.build` under
that seed and copied in), and its gradient is its own loss's gradient, because the loss
is the sum of the replicas' losses. What differs from separate runs: all replicas see the
same shuffled batch order, and the dropout masks come from other random streams.
:func:`member` turns a replica back into a standalone Keras model for probes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from casekit import models
from casekit._runtime import enable_determinism, keras_module


def _layers() -> Any:
    return keras_module().layers


def replica_layers() -> tuple[type, type, type]:
    """``(ReplicaDense, PerReplicaDropout, ReplicaMetrics)``, defined once Keras is imported."""
    global _CLASSES
    if _CLASSES is None:
        keras = keras_module()
        ops = keras.ops
        Layer: Any = keras.layers.Layer
        Metric: Any = keras.metrics.Metric

        class ReplicaDense(Layer):
            """``replicas`` independent Dense layers in one batched product.

            With ``shared_input`` the input ``(batch, d)`` feeds every replica; otherwise the
            input ``(batch, replicas * d)`` holds each replica's features side by side.
            Output: ``(batch, replicas * units)``.
            """

            def __init__(
                self,
                units: int,
                replicas: int,
                shared_input: bool,
                activation: str | None = None,
                **kwargs: Any,
            ) -> None:
                super().__init__(**kwargs)
                self.units, self.replicas, self.shared_input = units, replicas, shared_input
                self.activation = keras.activations.get(activation)
                self._activation_name = activation

            def build(self, input_shape: Any) -> None:
                shape: tuple[int, ...]
                if self.shared_input:  # one matrix product: the replicas' kernels side by side
                    shape = (input_shape[-1], self.replicas * self.units)
                else:  # a batch of per-replica products
                    shape = (self.replicas, input_shape[-1] // self.replicas, self.units)
                self.kernel = self.add_weight(name="kernel", shape=shape, initializer="zeros")
                self.bias = self.add_weight(
                    name="bias", shape=(self.replicas * self.units,), initializer="zeros"
                )

            def call(self, inputs: Any) -> Any:
                if self.shared_input:
                    outputs = ops.matmul(inputs, self.kernel)
                else:
                    grouped = ops.reshape(inputs, (-1, self.replicas, inputs.shape[-1] // self.replicas))
                    outputs = ops.reshape(
                        ops.einsum("brd,rdu->bru", grouped, self.kernel), (-1, self.replicas * self.units)
                    )
                return self.activation(outputs + self.bias)

            def replica_kernel(self, index: int) -> np.ndarray:
                kernel = np.asarray(self.kernel)
                if self.shared_input:
                    return np.asarray(kernel[:, index * self.units : (index + 1) * self.units])
                return np.asarray(kernel[index])

            def get_config(self) -> dict[str, Any]:
                return {
                    **super().get_config(),
                    "units": self.units,
                    "replicas": self.replicas,
                    "shared_input": self.shared_input,
                    "activation": self._activation_name,
                }

        class PerReplicaDropout(Layer):
            """A real ``layers.Dropout`` per replica, each at its own rate, on its own slice."""

            def __init__(self, rates: Sequence[float], **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.rates = list(rates)
                self.dropouts = [keras.layers.Dropout(rate) for rate in self.rates]

            def call(self, inputs: Any, training: bool | None = None) -> Any:
                slices = ops.split(inputs, len(self.rates), axis=-1)
                return ops.concatenate(
                    [d(s, training=training) for d, s in zip(self.dropouts, slices, strict=True)], axis=-1
                )

        class ReplicaMetrics(Metric):
            """Per-replica running cross-entropy and accuracy, logged as ``r<i>_loss``/``r<i>_accuracy``."""

            def __init__(self, replicas: int, **kwargs: Any) -> None:
                super().__init__(name="replicas", **kwargs)
                self.replicas = replicas
                self.loss_sum = self.add_variable(shape=(replicas,), initializer="zeros", name="loss_sum")
                self.correct = self.add_variable(shape=(replicas,), initializer="zeros", name="correct")
                self.count = self.add_variable(shape=(), initializer="zeros", name="count")

            def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
                cross_entropy = replica_cross_entropy(y_true, y_pred)
                hits = ops.cast(
                    ops.equal(ops.argmax(y_pred, -1), ops.expand_dims(ops.argmax(y_true, -1), 1)), "float32"
                )
                self.loss_sum.assign_add(ops.sum(cross_entropy, axis=0))
                self.correct.assign_add(ops.sum(hits, axis=0))
                self.count.assign_add(ops.cast(ops.shape(y_pred)[0], "float32"))

            def result(self) -> dict[str, Any]:
                loss = self.loss_sum / self.count
                accuracy = self.correct / self.count
                out = {}
                for i in range(self.replicas):
                    out[f"r{i}_loss"] = loss[i]
                    out[f"r{i}_accuracy"] = accuracy[i]
                return out

        _CLASSES = (ReplicaDense, PerReplicaDropout, ReplicaMetrics)
    classes: tuple[type, type, type] = _CLASSES
    return classes


_CLASSES: Any = None


def replica_cross_entropy(y_true: Any, y_pred: Any) -> Any:
    """Keras's categorical cross-entropy of one label batch ``(b, 10)`` against every
    replica's prediction ``(b, replicas, 10)``; returns ``(b, replicas)``."""
    keras = keras_module()
    ops = keras.ops
    truth = ops.broadcast_to(ops.expand_dims(ops.cast(y_true, y_pred.dtype), 1), ops.shape(y_pred))
    return keras.losses.categorical_crossentropy(truth, y_pred)


@dataclass(frozen=True)
class Replica:
    """One member of a wide model: its dropout rate and seed."""

    rate: float
    seed: int


@dataclass
class WideModel:
    """A compiled wide model and what is needed to pull a replica back out of it."""

    model: Any
    placement: tuple[str, ...]
    width: int
    replicas: tuple[Replica, ...]


def build(placement: Sequence[str], replicas: Sequence[Replica], *, width: int = 64) -> WideModel:
    """The wide model for ``replicas`` of ``placement``, each initialized as its single run."""
    keras = keras_module()
    layers = _layers()
    ReplicaDense, PerReplicaDropout, ReplicaMetrics = replica_layers()
    placement = tuple(placement)
    if any(":" in token for token in placement):
        raise ValueError(
            "replicated placements take their rate and width from the replicas, not from 'name:value'"
        )
    count = len(replicas)
    singles = []
    for replica in replicas:
        enable_determinism(replica.seed)
        singles.append(models.build(placement, rate=replica.rate, width=width))
    inputs = keras.Input(shape=(784,))
    x = inputs
    shared = True
    for token in placement:
        if token in ("dense", "dense_relu"):
            x = ReplicaDense(width, count, shared, activation="relu" if token == "dense_relu" else None)(x)
            shared = False
        elif token == "bn":
            x = layers.BatchNormalization()(x)
        elif token == "dropout":
            x = PerReplicaDropout([r.rate for r in replicas])(x)
        else:
            x = layers.Activation(token)(x)
    x = ReplicaDense(10, count, shared)(x)
    outputs = layers.Softmax()(layers.Reshape((count, 10))(x))
    model = keras.Model(inputs, outputs)
    _copy_into(model, singles)

    def summed_cross_entropy(y_true: Any, y_pred: Any) -> Any:
        # Sum over replicas of Keras's own categorical cross-entropy: each replica's
        # parameters receive exactly the gradient of that replica's loss.
        return keras.ops.sum(replica_cross_entropy(y_true, y_pred), axis=-1)

    model.compile(optimizer="adam", loss=summed_cross_entropy, metrics=[ReplicaMetrics(count)])
    return WideModel(model, placement, width, tuple(replicas))


def _parametric(model: Any) -> list[Any]:
    keras = keras_module()
    ReplicaDense = replica_layers()[0]
    return [
        layer
        for layer in model.layers
        if isinstance(layer, ReplicaDense | keras.layers.BatchNormalization | keras.layers.Dense)
    ]


_BN_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")


def _copy_into(model: Any, singles: list[Any]) -> None:
    """Write each single model's weights into its replica's slices of the wide model."""
    for position, wide in enumerate(_parametric(model)):
        parts = [_parametric(single)[position] for single in singles]
        if hasattr(wide, "replicas"):
            kernels = [np.asarray(p.kernel) for p in parts]
            wide.kernel.assign(np.concatenate(kernels, axis=1) if wide.shared_input else np.stack(kernels))
            wide.bias.assign(np.concatenate([np.asarray(p.bias) for p in parts]))
        else:
            for name in _BN_WEIGHTS:
                getattr(wide, name).assign(np.concatenate([np.asarray(getattr(p, name)) for p in parts]))


def member(wide: WideModel, index: int) -> Any:
    """Replica ``index`` as a standalone compiled ``keras.Sequential`` with its trained weights."""
    replica = wide.replicas[index]
    single = models.build(wide.placement, rate=replica.rate, width=wide.width)
    for wide_layer, layer in zip(_parametric(wide.model), _parametric(single), strict=True):
        if hasattr(wide_layer, "replicas"):
            units = wide_layer.units
            layer.kernel.assign(wide_layer.replica_kernel(index))
            layer.bias.assign(np.asarray(wide_layer.bias)[index * units : (index + 1) * units])
        else:
            size = layer.gamma.shape[0]
            part = slice(index * size, (index + 1) * size)
            for name in _BN_WEIGHTS:
                getattr(layer, name).assign(np.asarray(getattr(wide_layer, name))[part])
    return single


def fit(
    placement: Sequence[str],
    replicas: Sequence[Replica],
    dataset: Any,
    *,
    epochs: int,
    batch_size: int = 32,
    width: int = 64,
    shuffle: bool = True,
    steps_per_execution: int = 32,
) -> tuple[WideModel, list[Any]]:
    """Train the wide model once; return it and one per-epoch history DataFrame per replica.

    The batch order is shuffled with the first replica's seed. History columns match
    :func:`casekit.training.fit`: ``epoch``, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``.
    """
    import pandas as pd

    keras = keras_module()
    if not replicas:
        raise ValueError("replicas must list at least one (rate, seed)")
    keras.backend.clear_session()
    wide = build(placement, replicas, width=width)
    wide.model.steps_per_execution = steps_per_execution
    enable_determinism(replicas[0].seed)
    history = wide.model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(dataset.x_test, dataset.y_test),
        validation_batch_size=1000,
        shuffle=shuffle,
        verbose=0,
    ).history
    frames = []
    for index in range(len(replicas)):
        frame = pd.DataFrame(
            {  # the column order of Keras's own history
                "accuracy": history[f"r{index}_accuracy"],
                "loss": history[f"r{index}_loss"],
                "val_accuracy": history[f"val_r{index}_accuracy"],
                "val_loss": history[f"val_r{index}_loss"],
            }
        )
        frame.insert(0, "epoch", range(1, len(frame) + 1))
        frames.append(frame)
    return wide, frames


def evaluate(wide: WideModel, dataset: Any, batch_size: int = 1000) -> list[dict[str, float]]:
    """Inference-mode loss and accuracy of every replica on train and test, in one pass each.

    Uses Keras's categorical cross-entropy, like ``Model.evaluate`` on a single model.
    """
    out: list[dict[str, float]] = [{} for _ in wide.replicas]
    for split, x, y in (
        ("train", dataset.x_train, dataset.y_train),
        ("test", dataset.x_test, dataset.y_test),
    ):
        losses, hits = [], []
        for start in range(0, len(x), batch_size):
            predictions = wide.model(x[start : start + batch_size], training=False)
            batch_y = y[start : start + batch_size]
            losses.append(np.asarray(replica_cross_entropy(batch_y, predictions)))
            hits.append(np.asarray(predictions).argmax(-1) == batch_y.argmax(-1)[:, None])
        loss, accuracy = np.concatenate(losses).mean(0), np.concatenate(hits).mean(0)
        for index in range(len(wide.replicas)):
            out[index][f"{split}_loss"] = float(loss[index])
            out[index][f"{split}_accuracy"] = float(accuracy[index])
    return out
