"""Small convolutional networks on the 28x28 digits, with dropout placed as data.

A :class:`ConvSpec` names a network: ``depth`` blocks of ``Conv2D(3x3) -> BatchNormalization
-> ReLU`` (the block of ResNet-style networks, where Li et al. (2019) found the Dropout ->
BatchNormalization disharmony), a dropout ``kind`` (``"dropout"``, element-wise
``Dropout``; ``"spatial"``, ``SpatialDropout2D``, which drops whole channels; ``"none"``)
at a ``position``:

- ``"before"``: in every block, between the convolution and its BatchNormalization, so
  the dropout noise reaches BatchNormalization's statistics directly (the disharmony);
- ``"after"``: once, after the last block (after the last BatchNormalization and its
  ReLU), before the classifier: Li et al.'s remedy.

The first block's convolution has stride 2 and a 2x2 max-pooling follows it, so every
later block works on 7x7 maps; the head is ``Flatten -> Dense(10, softmax)``, compiled
as the article compiles (:func:`casekit.lab.models.compile_like_article`). The images
arrive flat, ``(batch, 784)``, as in every chapter, and are reshaped inside the model.

:func:`run` trains a grid of specs x seeds with :func:`casekit.lab.training.run_stacked`:
each run is its own model, built under its seed, and up to ten train side by side in one
compiled step (:func:`casekit.lab.replicas.stack`; a grouped convolution, the Dense
layers' way of training replicas, runs many times slower than separate models on CPUs),
and adds each run's settings as columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from casekit import profiles
from casekit._runtime import keras_module
from casekit.lab import models, training
from casekit.lab.data import Dataset

KINDS = ("none", "dropout", "spatial")
POSITIONS = ("before", "after")
#: Channels of every convolution.
CHANNELS = 8
#: Epochs the conv networks train at most: their validation accuracy levels off well
#: before, and BatchNormalization's moving statistics have forgotten their initial values
#: (``readings.conv_training`` glues how much is left).
MAX_EPOCHS = 10
#: The settings columns of every run of :func:`run`.
SETTINGS = ("depth", "kind", "position", "rate")


@dataclass(frozen=True)
class ConvSpec:
    """A convolutional network as data (see the module docstring)."""

    depth: int
    kind: str = "none"
    position: str = "after"
    rate: float = 0.0
    channels: int = CHANNELS

    def __post_init__(self) -> None:
        profiles.validate("depth", self.depth)
        profiles.validate("width", self.channels)
        profiles.validate("rate", self.rate)
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {self.kind!r}")
        if self.position not in POSITIONS:
            raise ValueError(
                f"position must be one of {', '.join(map(repr, POSITIONS))}; got {self.position!r}"
            )
        if (self.kind == "none") != (self.rate == 0):
            raise ValueError(
                f"a network with kind {self.kind!r} needs "
                f"{'rate 0' if self.kind == 'none' else 'a rate above 0'}; got rate {self.rate!r}"
            )

    def build(self) -> Any:
        return build(self)

    @property
    def name(self) -> str:
        """The run's label in tables, e.g. ``"Dropout before BN, rate 0.5, depth 2"`` (with
        ``", 16 channels"`` when not :data:`CHANNELS`)."""
        width = "" if self.channels == CHANNELS else f", {self.channels} channels"
        if self.kind == "none":
            return f"no dropout, depth {self.depth}{width}"
        layer = "SpatialDropout" if self.kind == "spatial" else "Dropout"
        where = "before BN" if self.position == "before" else "after the last BN"
        return f"{layer} {where}, rate {self.rate:g}, depth {self.depth}{width}"

    def settings(self) -> dict[str, Any]:
        """The spec as result columns (``position`` is ``"-"`` without dropout)."""
        position = "-" if self.kind == "none" else self.position
        return dict(zip(SETTINGS, (self.depth, self.kind, position, float(self.rate)), strict=True))


def _dropout(spec: ConvSpec) -> Any:
    layers = keras_module().layers
    return layers.SpatialDropout2D(spec.rate) if spec.kind == "spatial" else layers.Dropout(spec.rate)


def build(spec: ConvSpec) -> Any:
    """The compiled ``keras.Sequential`` for ``spec``."""
    keras = keras_module()
    layers = keras.layers
    stack: list[Any] = [keras.Input(shape=(784,)), layers.Reshape((28, 28, 1))]
    for block in range(spec.depth):
        stack.append(layers.Conv2D(spec.channels, 3, strides=2 if block == 0 else 1, padding="same"))
        if spec.kind != "none" and spec.position == "before":
            stack.append(_dropout(spec))
        stack += [layers.BatchNormalization(), layers.Activation("relu")]
        if block == 0:
            stack.append(layers.MaxPooling2D())
    if spec.kind != "none" and spec.position == "after":
        stack.append(_dropout(spec))
    stack += [layers.Flatten(), layers.Dense(10, activation="softmax")]
    name = f"conv_{spec.depth}_{spec.kind}_{spec.position}" if spec.kind != "none" else f"conv_{spec.depth}"
    return models.compile_like_article(keras.Sequential(stack, name=name))


def named(*specs: ConvSpec) -> dict[str, ConvSpec]:
    """``specs`` keyed by their :attr:`ConvSpec.name`, in the order given (duplicates once)."""
    return {spec.name: spec for spec in specs}


def epochs(settings: Any) -> int:
    """The epochs a conv network trains for under ``settings`` (a
    :class:`casekit.profiles.Settings`): its epochs, at most :data:`MAX_EPOCHS`."""
    return min(int(settings.epochs), MAX_EPOCHS)


def doses(
    rates: Sequence[float], depths: Sequence[int], kind: str = "dropout"
) -> dict[str, tuple[ConvSpec, ConvSpec]]:
    """Every dose (rate x depth) with the two placements trained at it: ``{"rate 0.5, depth
    2": (after the last BN, before every BN)}``, rates outer, depths inner."""
    return {
        f"rate {rate:g}, depth {depth}": (
            ConvSpec(depth, kind, "after", rate),
            ConvSpec(depth, kind, "before", rate),
        )
        for rate in rates
        for depth in depths
    }


def run(
    configs: Mapping[str, ConvSpec],
    dataset: Dataset,
    *,
    seeds: tuple[int, ...] | list[int],
    epochs: int,
    batch_size: int = 32,
    probe: training.Probe | None = None,
    progress: bool = True,
) -> training.Results:
    """Train every spec in ``configs`` with every seed, :data:`casekit.lab.training.STACK_SIZE`
    runs side by side (:func:`casekit.lab.training.run_stacked`), with each run's settings
    (:meth:`ConvSpec.settings`) as columns of ``history`` and ``final``."""
    for name, spec in configs.items():
        if not isinstance(spec, ConvSpec):
            raise ValueError(f"config {name!r} must be a ConvSpec; got {type(spec).__name__}")
    return training.run_stacked(
        {name: spec.build for name, spec in configs.items()},
        dataset,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        probe=probe,
        progress=progress,
        settings={name: spec.settings() for name, spec in configs.items()},
    )
