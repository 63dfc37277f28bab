"""The article's models, and a builder that turns a layer placement into a model.

A placement is data: a sequence of layer names such as
``("dense", "bn", "dropout", "relu")``. :func:`build` appends the article's classifier
head, ``Dense(10, activation="softmax")``, and compiles exactly as the article does.
A name may carry its own setting after a colon: ``"dropout:0.2"`` or ``"dense:128"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from casekit import profiles
from casekit._runtime import keras_module

#: Layer names a placement may use, and what each becomes.
LAYER_NAMES: dict[str, str] = {
    "dense": "Dense(width), linear",
    "dense_relu": "Dense(width, activation='relu')",
    "bn": "BatchNormalization()",
    "dropout": "Dropout(rate)",
    "relu": "Activation('relu')",
    "sigmoid": "Activation('sigmoid')",
    "tanh": "Activation('tanh')",
    "gelu": "Activation('gelu')",
}

#: The article's placements (its head Dense(10, softmax) is added by ``build``).
EXAMPLE_1 = ("dense_relu", "dropout", "bn")  # Dense(64, relu) -> Dropout(0.5) -> BN
EXAMPLE_2 = ("dense", "bn", "dropout", "relu")  # Dense(64) -> BN -> Dropout(0.5) -> ReLU


@dataclass(frozen=True)
class Spec:
    """A model as data: a placement, its dropout rate and hidden width (see :func:`build`).

    Specs with the same placement and width can train side by side as replicas
    (:mod:`casekit.lab.replicas`); :meth:`build` gives the ordinary single model.
    """

    placement: tuple[str, ...]
    rate: float = 0.5
    width: int = 64

    def build(self) -> Any:
        return build(self.placement, rate=self.rate, width=self.width)


def _parse(token: str, *, rate: float, width: int) -> tuple[str, float | int]:
    name, _, setting = token.partition(":")
    if name not in LAYER_NAMES:
        raise ValueError(f"unknown layer name {token!r}; allowed: {', '.join(LAYER_NAMES)}")
    if name == "dropout":
        return name, profiles.validate("rate", float(setting) if setting else rate)
    if name.startswith("dense"):
        return name, profiles.validate("width", int(setting) if setting else width)
    if setting:
        raise ValueError(f"layer name {name!r} takes no setting; got {token!r}")
    return name, 0


def check_placement(placement: Sequence[str], *, rate: float = 0.5, width: int = 64) -> None:
    """Raise a one-line ``ValueError`` if any layer name or setting is invalid."""
    if isinstance(placement, str) or len(placement) == 0:
        raise ValueError(f"placement must be a non-empty sequence of layer names; got {placement!r}")
    for token in placement:
        _parse(token, rate=rate, width=width)


def layer(token: str, *, rate: float = 0.5, width: int = 64) -> Any:
    """One Keras layer for a placement name (see :data:`LAYER_NAMES`)."""
    keras = keras_module()
    layers = keras.layers
    name, setting = _parse(token, rate=rate, width=width)
    if name == "dense":
        return layers.Dense(int(setting))
    if name == "dense_relu":
        return layers.Dense(int(setting), activation="relu")
    if name == "bn":
        return layers.BatchNormalization()
    if name == "dropout":
        return layers.Dropout(float(setting))
    return layers.Activation(name)


def compile_like_article(model: Any, **compile_kwargs: Any) -> Any:
    """Compile with the article's settings: adam, categorical cross-entropy, accuracy."""
    model.compile(
        optimizer="adam",
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        **compile_kwargs,
    )
    return model


def build(
    placement: Sequence[str],
    *,
    rate: float = 0.5,
    width: int = 64,
    name: str | None = None,
    compile_kwargs: dict[str, Any] | None = None,
) -> Any:
    """A compiled ``keras.Sequential``: 784 inputs, the placement, then Dense(10, softmax)."""
    keras = keras_module()
    check_placement(placement, rate=rate, width=width)
    body = [layer(token, rate=rate, width=width) for token in placement]
    model = keras.Sequential(
        [keras.Input(shape=(784,)), *body, keras.layers.Dense(10, activation="softmax")],
        name=name,
    )
    return compile_like_article(model, **(compile_kwargs or {}))


def example_1(rate: float = 0.5, **kwargs: Any) -> Any:
    """The article's Example 1 (Dropout before BatchNormalization); chapter 1."""
    return build(EXAMPLE_1, rate=rate, name="example_1", **kwargs)


def example_2(rate: float = 0.5, **kwargs: Any) -> Any:
    """The article's Example 2 ("correct placement"); chapter 2."""
    return build(EXAMPLE_2, rate=rate, name="example_2", **kwargs)


def example_3(dropout_rate: float, **kwargs: Any) -> Any:
    """The article's Example 3 ``create_model(dropout_rate)``; chapter 3."""
    return build(EXAMPLE_2, rate=dropout_rate, name=f"example_3_rate_{dropout_rate:g}", **kwargs)


def describe(model: Any) -> list[str]:
    """Layer-by-layer description (class and key settings), for tests and printing."""
    rows = []
    for item in model.layers:
        config = item.get_config()
        kind = type(item).__name__
        if kind == "Dense":
            rows.append(f"Dense({config['units']}, activation={config['activation']!r})")
        elif kind in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"):
            rows.append(f"{kind}({config['rate']:g})")
        elif kind == "Conv2D":
            strides = "" if tuple(config["strides"]) == (1, 1) else f", strides={tuple(config['strides'])}"
            rows.append(f"Conv2D({config['filters']}, {tuple(config['kernel_size'])}{strides})")
        elif kind == "Activation":
            rows.append(f"Activation({config['activation']!r})")
        else:
            rows.append(f"{kind}()")
    return rows
