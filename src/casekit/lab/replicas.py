"""Train many replicas of one placement in one Keras model: the fast path for sweeps.

A grid of small runs on a CPU (or a GPU) is dominated by per-step overhead, not
arithmetic. Replicas that share a placement and width (seeds, and dropout rates) are laid
side by side in one *wide* model: Dense layers become :class:`ReplicaDense` (one batched
matrix product for all replicas), BatchNormalization normalizes the concatenated
features (per feature, hence per replica), and each replica gets its own real
``layers.Dropout`` at its own rate. Every replica starts from exactly the weights a
single run with its seed would start from (built by :func:`casekit.lab.models.build` under
that seed and copied in), and its gradient is its own loss's gradient, because the loss
is the sum of the replicas' losses. Each replica also reads its own batches, in the order
its own seed draws (:func:`batch_orders`): the model trains on a ``(batch, replicas)``
matrix of row indices, gathered from the training images inside the compiled step, so
a replica's batch ``i`` holds the rows ``order[i*b:(i+1)*b, r]``. What differs from separate
runs is only which random streams draw the orders and the masks. :func:`member` turns a
replica back into a standalone Keras model for probes.

Models that are not a stack of Dense layers (the convolutional networks of
:mod:`casekit.lab.convnets`) train side by side another way, :func:`stack`: each replica
*is* its own single-run model, built under its seed, and the stacked model only runs
them all in one compiled step, each on its own rows, with the summed loss.

Both train with :func:`casekit.lab.optimizers.adam` (Keras's Adam, fused into one kernel
per variable on TensorFlow), each epoch of all replicas in one compiled call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from casekit._runtime import enable_determinism, keras_module
from casekit.lab import models, optimizers


def _layers() -> Any:
    return keras_module().layers


def replica_layers() -> tuple[type, type, type, type]:
    """``(ReplicaDense, PerReplicaDropout, ReplicaMetrics, ReplicaGather)``, defined once
    Keras is imported."""
    global _CLASSES
    if _CLASSES is None:
        keras = keras_module()
        ops = keras.ops
        Layer: Any = keras.layers.Layer
        Metric: Any = keras.metrics.Metric

        class ReplicaDense(Layer):
            """``replicas`` independent Dense layers in one batched product.

            With ``shared_input`` (a first layer) the input is ``(batch, d)``, the same rows
            for every replica, or ``(replicas, batch, d)``, each replica's own rows;
            otherwise the input ``(batch, replicas * d)`` holds each replica's features side
            by side. Output: ``(batch, replicas * units)``.
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
                # One kernel (d, units) per replica. A first layer reads d input features
                # (the same rows for all, or each replica's own rows: ``(replicas, batch,
                # d)``); a later one reads its replica's slice of the previous layer.
                d = input_shape[-1] if self.shared_input else input_shape[-1] // self.replicas
                self.kernel = self.add_weight(
                    name="kernel", shape=(self.replicas, d, self.units), initializer="zeros"
                )
                self.bias = self.add_weight(
                    name="bias", shape=(self.replicas * self.units,), initializer="zeros"
                )

            def call(self, inputs: Any) -> Any:
                if len(inputs.shape) == 3:  # each replica's own rows, (replicas, batch, d)
                    outputs = ops.transpose(ops.matmul(inputs, self.kernel), (1, 0, 2))
                elif self.shared_input:  # the same rows for all: one matrix product
                    side_by_side = ops.transpose(self.kernel, (1, 0, 2))
                    return self.activation(
                        ops.matmul(inputs, ops.reshape(side_by_side, (inputs.shape[-1], -1))) + self.bias
                    )
                else:  # a batch of per-replica products on the replicas' slices
                    grouped = ops.reshape(inputs, (-1, self.replicas, inputs.shape[-1] // self.replicas))
                    outputs = ops.einsum("brd,rdu->bru", grouped, self.kernel)
                return self.activation(ops.reshape(outputs, (-1, self.replicas * self.units)) + self.bias)

            def replica_kernel(self, index: int) -> np.ndarray:
                kernel: np.ndarray = np.asarray(self.kernel)[index]
                return kernel

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
                truth = per_replica_labels(y_true, y_pred)
                cross_entropy = keras.losses.categorical_crossentropy(truth, y_pred)
                hits = ops.cast(ops.equal(ops.argmax(y_pred, -1), ops.argmax(truth, -1)), "float32")
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

        class ReplicaGather(Layer):
            """Each replica's rows of the training images: ``(batch, replicas)`` row indices
            in, ``(replicas, batch, d)`` images out. The images live in the layer (a
            non-trainable weight), so the gather runs inside the compiled training step."""

            def __init__(self, images: np.ndarray, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                self.images = self.add_weight(
                    name="images", shape=images.shape, initializer="zeros", trainable=False
                )
                self.images.assign(images)

            def call(self, rows: Any) -> Any:
                # replica-major, (replicas, batch, d): one batched matrix product follows
                return ops.take(self.images, ops.transpose(rows), axis=0)

        _CLASSES = (ReplicaDense, PerReplicaDropout, ReplicaMetrics, ReplicaGather)
    classes: tuple[type, type, type, type] = _CLASSES
    return classes


_CLASSES: Any = None


def replica_cross_entropy(y_true: Any, y_pred: Any) -> Any:
    """Keras's categorical cross-entropy of every replica's prediction ``(b, replicas, 10)``
    against its labels: one batch ``(b, 10)`` shared by all, or each replica's own
    ``(b, replicas, 10)``; returns ``(b, replicas)``."""
    return keras_module().losses.categorical_crossentropy(per_replica_labels(y_true, y_pred), y_pred)


def per_replica_labels(y_true: Any, y_pred: Any) -> Any:
    """The labels of every replica, ``(b, replicas, 10)``, in ``y_pred``'s dtype: ``y_true``
    itself, or one label batch ``(b, 10)`` shared by all replicas, broadcast."""
    ops = keras_module().ops
    truth = ops.cast(y_true, y_pred.dtype)
    if len(truth.shape) == 2:
        truth = ops.broadcast_to(ops.expand_dims(truth, 1), ops.shape(y_pred))
    return truth


@dataclass(frozen=True)
class Replica:
    """One member of a wide model: its dropout rate and seed."""

    rate: float
    seed: int


@dataclass
class WideModel:
    """A wide model and what is needed to pull a replica back out of it.

    ``model`` reads images ``(batch, 784)`` and gives every replica's prediction ``(batch,
    replicas, 10)`` (inference, probes, evaluation); ``trainer`` shares its layers and reads
    ``(batch, replicas)`` row indices into the training images (None until :func:`fit`).
    ``seeds`` are the replicas' seeds, which draw their batch orders. A Dense stack
    (:func:`build`) keeps its ``placement``, ``width`` and ``replicas``; a :func:`stack`
    keeps its ``members``, the single-run models themselves.
    """

    model: Any
    placement: tuple[str, ...]
    width: int
    replicas: tuple[Replica, ...]
    trainer: Any = None
    seeds: tuple[int, ...] = ()
    members: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if not self.seeds:
            self.seeds = tuple(replica.seed for replica in self.replicas)


def _summed_cross_entropy(y_true: Any, y_pred: Any) -> Any:
    # Sum over replicas of Keras's own categorical cross-entropy: each replica's
    # parameters receive exactly the gradient of that replica's loss.
    return keras_module().ops.sum(replica_cross_entropy(y_true, y_pred), axis=-1)


def build(
    placement: Sequence[str],
    replicas: Sequence[Replica],
    *,
    width: int = 64,
    images: np.ndarray | None = None,
) -> WideModel:
    """The wide model for ``replicas`` of ``placement``, each initialized as its single run.

    With ``images`` (the training images, ``(n, 784)``), also the ``trainer`` that trains
    every replica on its own rows of them.
    """
    layers = _layers()
    ReplicaDense, PerReplicaDropout = replica_layers()[:2]
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
    stack: list[Any] = []
    shared = True
    for token in placement:
        if token in ("dense", "dense_relu"):
            activation = "relu" if token == "dense_relu" else None
            stack.append(ReplicaDense(width, count, shared, activation=activation))
            shared = False
        elif token == "bn":
            stack.append(layers.BatchNormalization())
        elif token == "dropout":
            stack.append(PerReplicaDropout([r.rate for r in replicas]))
        else:
            stack.append(layers.Activation(token))
    stack += [ReplicaDense(10, count, shared), layers.Reshape((count, 10)), layers.Softmax()]

    def through(x: Any) -> Any:
        for layer in stack:
            x = layer(x)
        return x

    model, trainer = _assemble(through, count, images)
    _copy_into(model, singles)
    return WideModel(model, placement, width, tuple(replicas), trainer)


def _assemble(through: Any, count: int, images: np.ndarray | None) -> tuple[Any, Any]:
    """The compiled ``(model, trainer)`` pair of ``count`` replicas: ``through`` maps images
    ``(batch, 784)``, or each replica's own rows ``(replicas, batch, 784)``, to predictions
    ``(batch, replicas, 10)``; the trainer (None without ``images``) reads row indices."""
    keras = keras_module()
    ReplicaMetrics, ReplicaGather = replica_layers()[2:]
    inputs = keras.Input(shape=(784,))
    model = keras.Model(inputs, through(inputs))
    model.compile(loss=_summed_cross_entropy, metrics=[ReplicaMetrics(count)])  # for evaluate
    trainer = None
    if images is not None:
        rows = keras.Input(shape=(count,), dtype="int32")
        trainer = keras.Model(rows, through(ReplicaGather(np.asarray(images, dtype="float32"))(rows)))
        trainer.compile(
            optimizer=optimizers.adam(), loss=_summed_cross_entropy, metrics=[ReplicaMetrics(count)]
        )
    return model, trainer


def stack(builds: Sequence[Any], seeds: Sequence[int], *, images: np.ndarray | None = None) -> WideModel:
    """Single-run models side by side: ``builds[i]()`` built under ``seeds[i]`` (a compiled
    ``keras.Sequential`` reading ``(batch, 784)`` images, as every run of
    :func:`casekit.lab.training.run_grid` builds it), each replica its own model.

    The replicas share nothing but the compiled step: each has its own layers, initial
    weights, BatchNormalization statistics and dropout seed (all as its single run draws
    them) and, with ``images``, reads its own rows; :func:`member` returns the model itself.
    """
    keras = keras_module()
    ops = keras.ops
    if len(builds) != len(seeds) or not builds:
        raise ValueError(
            f"stack needs one seed per model and at least one model; got {len(builds)} models "
            f"and {len(seeds)} seeds"
        )
    members = []
    for build_one, seed in zip(builds, seeds, strict=True):
        enable_determinism(seed)
        built = build_one()
        if not isinstance(built, keras.Sequential):
            raise ValueError(
                f"stack needs keras.Sequential models (run layer by layer); got {type(built).__name__}"
            )
        members.append(built)

    def through(x: Any) -> Any:
        outputs = []
        for index, member_model in enumerate(members):
            y = x[index] if len(x.shape) == 3 else x  # its own rows, or the shared images
            for layer in member_model.layers:
                y = layer(y)
            outputs.append(y)
        return ops.stack(outputs, axis=1)

    model, trainer = _assemble(through, len(members), images)
    return WideModel(model, (), 0, (), trainer, tuple(seeds), tuple(members))


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
            wide.kernel.assign(np.stack([np.asarray(p.kernel) for p in parts]))
            wide.bias.assign(np.concatenate([np.asarray(p.bias) for p in parts]))
        else:
            for name in _BN_WEIGHTS:
                getattr(wide, name).assign(np.concatenate([np.asarray(getattr(p, name)) for p in parts]))


def member(wide: WideModel, index: int) -> Any:
    """Replica ``index`` as a standalone compiled ``keras.Sequential`` with its trained weights.

    For a :func:`stack` it is the replica's own model, whose layers the stack trains: a
    probe that changes its weights changes the stack's too."""
    if wide.members:
        return wide.members[index]
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


def batch_orders(seeds: Sequence[int], size: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The training rows of every replica in ``epoch`` (from 0), as a ``(size, replicas)``
    int32 matrix: column ``r`` is a permutation of ``range(size)`` drawn from replica ``r``'s
    seed and the epoch (``numpy.random.default_rng([seed, epoch])``), or ``range(size)``
    without ``shuffle``. Replicas that share a seed share their order, as separate runs with
    one seed do: comparisons across rates stay paired by seed."""
    columns = [
        np.random.default_rng([seed, epoch]).permutation(size) if shuffle else np.arange(size)
        for seed in seeds
    ]
    return np.stack(columns, axis=1).astype(np.int32)


def _replica_logs(
    logs: dict[str, Any], count: int, prefix: str = "", order: tuple[str, str] = ("accuracy", "loss")
) -> list[dict[str, float]]:
    """Replica ``i``'s ``r<i>_<metric>`` values of Keras logs as ``{prefix + metric: value}``,
    in ``order`` (Keras's history lists accuracy first, ``Model.evaluate`` loss first)."""
    return [{f"{prefix}{m}": float(np.asarray(logs[f"r{i}_{m}"])) for m in order} for i in range(count)]


def fit(
    placement: Sequence[str],
    replicas: Sequence[Replica],
    dataset: Any,
    *,
    epochs: int,
    batch_size: int = 32,
    width: int = 64,
    shuffle: bool = True,
    steps_per_execution: int | None = None,
) -> tuple[WideModel, list[Any]]:
    """Build the wide model of ``replicas`` and :func:`train` it; return it and one
    per-epoch history DataFrame per replica."""
    keras = keras_module()
    if not replicas:
        raise ValueError("replicas must list at least one (rate, seed)")
    keras.backend.clear_session()
    wide = build(placement, replicas, width=width, images=dataset.x_train)
    return wide, train(
        wide,
        dataset,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        steps_per_execution=steps_per_execution,
    )


def fit_stacked(
    builds: Sequence[Any],
    seeds: Sequence[int],
    dataset: Any,
    *,
    epochs: int,
    batch_size: int = 32,
    shuffle: bool = True,
) -> tuple[WideModel, list[Any]]:
    """:func:`stack` the single-run models ``builds`` (one per seed) and :func:`train` them
    side by side; return the stack and one per-epoch history DataFrame per replica."""
    keras_module().backend.clear_session()
    wide = stack(builds, seeds, images=dataset.x_train)
    return wide, train(wide, dataset, epochs=epochs, batch_size=batch_size, shuffle=shuffle)


def train(
    wide: WideModel,
    dataset: Any,
    *,
    epochs: int,
    batch_size: int = 32,
    shuffle: bool = True,
    steps_per_execution: int | None = None,
) -> list[Any]:
    """Train every replica of ``wide`` on its own batches in its own order
    (:func:`batch_orders`); return one per-epoch history DataFrame per replica.

    History columns match :func:`casekit.lab.training.fit`: ``epoch``, ``loss`` and
    ``accuracy`` (the running means over the epoch's batches, in training mode), ``val_loss``
    and ``val_accuracy`` (the validation split in inference mode after the epoch). A
    compiled call runs ``steps_per_execution`` batches, by default a whole epoch: a speed
    lever only.
    """
    import pandas as pd

    size, count = len(dataset.x_train), len(wide.seeds)
    wide.trainer.steps_per_execution = steps_per_execution or -(-size // batch_size)
    enable_determinism(wide.seeds[0])
    rows: list[list[dict[str, float]]] = [[] for _ in range(count)]
    for epoch in range(epochs):
        order = batch_orders(wide.seeds, size, epoch, shuffle)
        history = wide.trainer.fit(
            order, dataset.y_train[order], epochs=1, batch_size=batch_size, shuffle=False, verbose=0
        ).history
        train_logs = _replica_logs({k: v[-1] for k, v in history.items()}, count)
        val = _replica_logs(_validate(wide, dataset.x_val, dataset.y_val), count, "val_")
        for index in range(count):
            rows[index].append({"epoch": epoch + 1, **train_logs[index], **val[index]})
    return [pd.DataFrame(r) for r in rows]


#: Inference batch of :func:`evaluate` (results do not depend on it).
EVAL_BATCH_SIZE = 1000


def _validate(wide: WideModel, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """The per-epoch validation: one ``test_on_batch`` call when the split fits in one
    inference batch (the book's 1,000 digits), which skips ``evaluate``'s per-call set-up
    (on TensorFlow, about 60 ms, a quarter of an epoch of ten replicas); the same compiled
    test step on the same batch, so the same numbers. Larger splits go through
    ``evaluate``."""
    if len(x) <= EVAL_BATCH_SIZE:
        wide.model.reset_metrics()  # Keras before 3.15 does not reset them in test_on_batch
        logs: dict[str, Any] = wide.model.test_on_batch(x, y, return_dict=True)
        return logs
    return _evaluate(wide, x, y)


def _evaluate(
    wide: WideModel, x: np.ndarray, y: np.ndarray, batch_size: int = EVAL_BATCH_SIZE
) -> dict[str, Any]:
    result: dict[str, Any] = wide.model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    return result


def evaluate(wide: WideModel, dataset: Any, batch_size: int = EVAL_BATCH_SIZE) -> list[dict[str, float]]:
    """Inference-mode loss and accuracy of every replica on train, validation (``val_``) and
    test, in one pass each.

    Uses Keras's categorical cross-entropy, like ``Model.evaluate`` on a single model.
    """
    out: list[dict[str, float]] = [{} for _ in wide.seeds]
    for split, x, y in (
        ("train", dataset.x_train, dataset.y_train),
        ("val", dataset.x_val, dataset.y_val),
        ("test", dataset.x_test, dataset.y_test),
    ):
        logs = _replica_logs(
            _evaluate(wide, x, y, batch_size), len(wide.seeds), f"{split}_", ("loss", "accuracy")
        )
        for index, values in enumerate(logs):
            out[index].update(values)
    return out
