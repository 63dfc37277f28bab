"""``casekit.diagnose(model)``: find the Dropout placements this book measures, in any model.

Works on Sequential, Functional, nested and subclassed Keras models. Each
:class:`Finding` names its severity, the layers involved, a one-line explanation and the
book chapter that shows the effect with numbers.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from casekit import probes
from casekit._runtime import keras_module

#: Activations that commute with a dropout mask (f(0) = 0 and f(cz) = c f(z) for c >= 0).
RELU_LIKE = frozenset({"relu", "leaky_relu", "linear", "prelu"})
#: A Dropout layer's input is "narrow" at or below this many units.
NARROW_UNITS = 256
HIGH_RATE = 0.8

SECTIONS = {
    "dropout-feeds-batchnorm": "chapters/01-dropout-before-batchnorm",
    "dropout-before-nonlinear-activation": "chapters/02-ordering",
    "dropout-on-logits": "chapters/02-ordering",
    "rate-zero": "chapters/03-dropout-rate",
    "high-rate-narrow-layer": "chapters/03-dropout-rate",
    "call-without-training-argument": "chapters/02-ordering",
}


@dataclass(frozen=True)
class Finding:
    """One placement worth a reader's attention."""

    code: str
    severity: str  # "warning" (measurable harm in this book) or "info" (know what it does)
    layers: tuple[str, ...]
    explanation: str
    section: str

    def __str__(self) -> str:
        path = " -> ".join(self.layers)
        return f"[{self.severity}] {self.code}: {path}: {self.explanation} (see {self.section})"


@dataclass(frozen=True)
class Diagnosis:
    """All findings for one model, with a readable text form for notebooks."""

    model: str
    findings: tuple[Finding, ...]

    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]

    def __str__(self) -> str:
        plural = "s" if len(self.findings) != 1 else ""
        head = f"diagnose({self.model}): {len(self.findings) or 'no'} finding{plural}"
        return "\n".join([head, *(f"  {finding}" for finding in self.findings)])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display
        printer.text(str(self))


def _activation_name(layer: Any) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", str(activation))


def _consumers(layers: list[Any]) -> dict[int, list[Any]]:
    """Map each layer id to the layers it feeds (graph if any, else listed order)."""
    consumers: dict[int, list[Any]] = {id(layer): [] for layer in layers}
    graph = [probes.graph_producer(layer) for layer in layers]
    for index, layer in enumerate(layers):
        producer = graph[index] if graph[index] is not None else (layers[index - 1] if index else None)
        if producer is not None and id(producer) in consumers:
            consumers[id(producer)].append(layer)
    return consumers


def _input_units(layer: Any) -> int | None:
    try:
        return int(layer.input.shape[-1])
    except (AttributeError, ValueError, TypeError, IndexError):
        return None


def diagnose(model: Any) -> Diagnosis:
    """Inspect ``model`` and return its Dropout-related findings (no data, no training)."""
    keras = keras_module()
    layers = probes.walk_layers(model)
    consumers = _consumers(layers)
    findings: list[Finding] = []

    def add(code: str, severity: str, names: tuple[str, ...], text: str) -> None:
        findings.append(Finding(code, severity, names, text, SECTIONS[code]))

    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            dropout, dense = probes.feeding_dropout(layer, model)
            if dropout is not None:
                via = () if dense is None else (dense.name,)
                floor = 1 / (1 - dropout.rate) if dropout.rate < 1 else float("inf")
                bound = f" (at least {floor:.2g}x at rate {dropout.rate:g})" if dense is None else ""
                add(
                    "dropout-feeds-batchnorm",
                    "warning",
                    (dropout.name, *via, layer.name),
                    "BN learns its moving variance with dropout on, so at inference it divides by a "
                    f"variance that is too large{bound}: variance shift",
                )
        if not isinstance(layer, keras.layers.Dropout):
            continue
        rate = float(layer.rate)
        for consumer in consumers.get(id(layer), []):
            name = _activation_name(consumer) if isinstance(consumer, keras.layers.Activation) else None
            if name == "softmax":
                add(
                    "dropout-on-logits",
                    "warning",
                    (layer.name, consumer.name),
                    "the mask zeroes logits and scales the rest by 1/(1-rate) right before softmax, "
                    "which changes the predicted distribution itself, not a hidden feature",
                )
            elif name is not None and name not in RELU_LIKE:
                add(
                    "dropout-before-nonlinear-activation",
                    "info",
                    (layer.name, consumer.name),
                    f"masking before {name} is not the same as after it ({name}(0) or scaling differs); "
                    "for ReLU the order would not matter",
                )
        units = _input_units(layer)
        if rate == 0:
            add("rate-zero", "info", (layer.name,), "rate 0 makes this Dropout layer a no-op")
        elif rate >= HIGH_RATE and units is not None and units <= NARROW_UNITS:
            add(
                "high-rate-narrow-layer",
                "warning",
                (layer.name,),
                f"rate {rate:g} on {units} units keeps about {units * (1 - rate):.0f} per step; "
                "expect underfitting unless the layer is widened (about units / (1 - rate))",
            )

    is_subclassed = (
        not isinstance(model, keras.Sequential)
        and not getattr(model, "_is_graph_network", False)
        and type(model).__module__.split(".")[0] != "keras"
    )
    if is_subclassed and any(isinstance(layer, keras.layers.Dropout) for layer in layers):
        parameters = inspect.signature(model.call).parameters
        if "training" not in parameters and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            add(
                "call-without-training-argument",
                "info",
                (type(model).__name__,),
                "call() takes no `training` argument: fit() still reaches Dropout through Keras's call "
                "context, but a custom loop must call model(x, training=True) or dropout stays off",
            )
    return Diagnosis(getattr(model, "name", type(model).__name__), tuple(findings))
