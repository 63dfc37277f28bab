"""``casekit.diagnose(model)``: find the Dropout problems this book explains, in any model.

The checks read the model as saved, with no data and no training. Each is listed in
:data:`CHECKS` with the book section that explains it:

- ``dropout-feeds-batchnorm``: Dropout noise reaching a BatchNormalization layer, traced
  on the layer graph (chapter 01, Li et al.'s variance shift). Severity follows what lies
  between (see :func:`trace_to_batchnorm`): ``warning`` when nothing but reshaping or
  channel concatenation lies between, ``caution`` through linear layers (Dense,
  convolutions, Add, average pooling: the shift still applies, diluted by the weights and
  by branches added without dropout), ``info`` through a nonlinearity (it changes how much
  arrives).
- ``dropout-on-feature-maps``: plain Dropout without ``noise_shape`` on 3-D/4-D/5-D
  feature maps; SpatialDropout of the matching rank drops whole channels (chapter 00, 8),
  and chapter 4 measures whether it regularizes better (its severity,
  :data:`FEATURE_MAP_SEVERITY`, follows that verdict).
- ``recurrent-dropout-no-cudnn``: ``recurrent_dropout > 0`` in LSTM/GRU rules out the
  cuDNN kernel (chapter 00, 9).
- ``high-rate-narrow-layer`` and ``rate-may-be-keep-prob``: a rate of 0.8 or more is the
  drop fraction, perhaps a ported TF1 ``keep_prob`` (chapter 00, 5; chapter 03).
- ``frozen-batchnorm-next-to-dropout``: BatchNormalization with ``trainable=False`` runs
  in inference mode even under ``training=True`` (chapter 00, 6).
- ``dropout-with-selu``: plain Dropout next to SELU breaks self-normalization;
  AlphaDropout keeps it.
- ``dropout-on-logits``, ``dropout-before-nonlinear-activation``, ``rate-zero`` and
  ``call-without-training-argument``: placements and calls chapters 00, 02 and 03 measure.

The graph comes from public Keras API only: ``model.get_config()`` (each layer's inbound
tensors), ``model.layers`` and ``model.operations``, nested models expanded. A
subclassed model has no recorded graph; there the layers' listed order stands in for it.
Every :class:`Finding` carries its severity, the layers and path, an explanation, the
fix and the book section.
"""

from __future__ import annotations

import functools
import heapq
import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from casekit._runtime import keras_module
from casekit.lab import probes

#: Severities, most urgent first. ``warning``: measurable harm as saved (this book
#: measures it); ``caution``: likely harm or cost whose size depends on the weights, the
#: data or the hardware; ``info``: know what it does, nothing to fix if intended.
SEVERITIES = ("warning", "caution", "info")
#: Activations that commute with a dropout mask (f(0) = 0 and f(cz) = c f(z) for c >= 0).
RELU_LIKE = frozenset({"relu", "leaky_relu", "linear", "prelu"})
#: A Dropout layer's input is "narrow" at or below this many units.
NARROW_UNITS = 256
#: From this rate on, a rate may be a ported TF1 ``keep_prob`` (chapter 00, section 5).
HIGH_RATE = 0.8

_CHAPTER_00 = "chapters/00-why-dropout-seems-broken"
#: The severity of ``dropout-on-feature-maps``, from chapter 4's verdict on claim C8
#: ("SpatialDropout regularizes conv nets better than Dropout"): ``caution`` when the chapter
#: supports it, ``info`` otherwise (``tests/test_diagnosis.py`` holds this to the stored
#: chapter's verdict).
FEATURE_MAP_SEVERITY = "info"
#: Where the book measures Dropout -> BatchNormalization on convolutional feature maps.
_CONV_DISHARMONY = "chapters/04-conv-nets#conv-disharmony"


@dataclass(frozen=True)
class Check:
    """One kind of finding: the book section that explains it and what it looks for."""

    section: str
    looks_for: str


#: Every check ``casekit diagnose`` runs, by code (the measured ones need ``--data``).
CHECKS: dict[str, Check] = {
    "dropout-feeds-batchnorm": Check(
        "chapters/01-dropout-before-batchnorm",
        "Dropout noise reaching a BatchNormalization layer, directly or through other layers",
    ),
    "dropout-on-feature-maps": Check(
        "chapters/04-conv-nets#conv-spatial",
        "plain Dropout without noise_shape on 3-D/4-D/5-D convolutional feature maps",
    ),
    "recurrent-dropout-no-cudnn": Check(
        f"{_CHAPTER_00}#symptom-recurrent", "recurrent_dropout > 0 in an LSTM or GRU layer"
    ),
    "high-rate-narrow-layer": Check(
        "chapters/03-dropout-rate", f"a rate of {HIGH_RATE:g} or more on at most {NARROW_UNITS} units"
    ),
    "rate-may-be-keep-prob": Check(
        f"{_CHAPTER_00}#symptom-keep-prob",
        f"a rate of {HIGH_RATE:g} or more on a wider layer: perhaps a ported TF1 keep_prob",
    ),
    "frozen-batchnorm-next-to-dropout": Check(
        f"{_CHAPTER_00}#symptom-bn-trainable",
        "BatchNormalization with trainable=False next to Dropout",
    ),
    "dropout-with-selu": Check(
        "https://keras.io/api/layers/regularization_layers/alpha_dropout/",
        "plain Dropout before or after a SELU activation",
    ),
    "dropout-on-logits": Check("chapters/02-ordering", "Dropout right before a softmax"),
    "dropout-before-nonlinear-activation": Check(
        "chapters/02-ordering", "Dropout right before an activation that is not ReLU-like"
    ),
    "rate-zero": Check("chapters/03-dropout-rate", "a Dropout layer with rate 0"),
    "call-without-training-argument": Check(
        f"{_CHAPTER_00}#symptom-custom-loop",
        "a subclassed model with Dropout whose call() takes no training argument",
    ),
    "measured-variance-shift": Check(
        "chapters/01-dropout-before-batchnorm",
        "with --data: a BatchNormalization layer whose moving variance is off from its "
        "input's variance at inference",
    ),
    "mc-dropout-moves-batchnorm": Check(
        f"{_CHAPTER_00}#symptom-mc-dropout",
        "with --data: model(x, training=True) (Monte Carlo dropout) moves BatchNormalization's "
        "moving statistics",
    ),
}

#: The book section of each check, by code.
SECTIONS = {code: check.section for code, check in CHECKS.items()}

_REESTIMATE = "re-estimate the BN statistics with dropout off (casekit.lab.probes.reestimate_batchnorm)"


@dataclass(frozen=True)
class Finding:
    """One problem worth a reader's attention, with what to do about it.

    ``layers`` are the layers at issue; ``path`` (when the finding is about a connection)
    is the chain of layers from the first to the last, in graph order. ``measured`` holds
    the measurement that set the severity, when data were given.
    """

    code: str
    severity: str
    layers: tuple[str, ...]
    explanation: str
    section: str
    fix: str
    path: tuple[str, ...] = ()
    measured: float | None = None

    def where(self) -> str:
        """The path joined by arrows, else the layers (at most six names)."""
        if self.path:
            return " -> ".join(self.path)
        if len(self.layers) > 6:
            return ", ".join(self.layers[:5]) + f" and {len(self.layers) - 5} more"
        return ", ".join(self.layers)

    def to_json(self) -> dict[str, Any]:
        """Every field, as JSON-ready values."""
        return {
            "code": self.code,
            "severity": self.severity,
            "layers": list(self.layers),
            "path": list(self.path),
            "explanation": self.explanation,
            "fix": self.fix,
            "section": self.section,
            "measured": self.measured,
        }

    def __str__(self) -> str:
        return f"[{self.severity}] {self.code}: {self.where()}: {self.explanation} (see {self.section})"


def by_severity(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """``findings`` ordered by :data:`SEVERITIES` (stable within a severity)."""
    return tuple(sorted(findings, key=lambda finding: SEVERITIES.index(finding.severity)))


@dataclass(frozen=True)
class Diagnosis:
    """All findings for one model, most urgent first, with a readable text form."""

    model: str
    findings: tuple[Finding, ...]

    def codes(self) -> list[str]:
        """The findings' codes, in order."""
        return [finding.code for finding in self.findings]

    def __str__(self) -> str:
        plural = "s" if len(self.findings) != 1 else ""
        head = f"diagnose({self.model}): {len(self.findings) or 'no'} finding{plural}"
        return "\n".join([head, *(f"  {finding}" for finding in self.findings)])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython display
        printer.text(str(self))


# -- the layer graph, from public Keras API -----------------------------------------------


@dataclass(eq=False)
class Call:
    """One call of a layer (or Keras operation) in a model's graph.

    ``config`` is the layer's own config (``layer.get_config()`` as serialized in the
    model's config); ``input_shape`` the shape of its first input, when recorded.
    """

    name: str
    kind: str
    layer: Any
    config: dict[str, Any]
    input_shape: tuple[int | None, ...] | None
    inputs: list[Call] = field(default_factory=list)
    outputs: list[Call] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Call({self.name!r}, {self.kind})"


@dataclass(frozen=True)
class Graph:
    """The calls of a model in graph order; ``exact`` is False when the listed order of
    the layers stood in for a graph the model does not record (subclassed models)."""

    calls: tuple[Call, ...]
    exact: bool


def _shape(value: Any) -> tuple[int | None, ...] | None:
    """A recorded shape as a tuple (``None`` when there is none)."""
    if not isinstance(value, list | tuple) or not all(d is None or isinstance(d, int) for d in value):
        return None
    return tuple(value)


def _tensors(structure: Any) -> Iterator[dict[str, Any]]:
    """The serialized Keras tensors in a node's arguments (any nesting)."""
    if isinstance(structure, dict):
        if structure.get("class_name") == "__keras_tensor__":
            yield structure["config"]
            return
        for value in structure.values():
            yield from _tensors(value)
    elif isinstance(structure, list | tuple):
        for value in structure:
            yield from _tensors(value)


def _references(structure: Any) -> list[tuple[str, int, int]]:
    """``[layer name, node index, tensor index]`` triples in ``input_layers``/``output_layers``."""
    if isinstance(structure, list | tuple):
        if len(structure) == 3 and isinstance(structure[0], str) and isinstance(structure[1], int):
            return [(structure[0], structure[1], int(structure[2]))]
        return [ref for item in structure for ref in _references(item)]
    if isinstance(structure, dict):
        return [ref for item in structure.values() for ref in _references(item)]
    return []


def _input_shape(layer: Any) -> Any:
    """``layer.input.shape`` where the layer has exactly one input (else ``None``)."""
    try:
        return tuple(layer.input.shape)
    except (AttributeError, ValueError, TypeError):  # not called symbolically, or called more than once
        return None


def _config(obj: Any) -> dict[str, Any] | None:
    try:
        config = obj.get_config()
    except Exception:  # custom layers may not implement get_config; then no graph is recorded
        return None
    return config if isinstance(config, dict) else None


class _Builder:
    """Expands a model's config into :class:`Call` objects, nested models included."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.exact = True

    def add(self, layer: Any, entry: dict[str, Any], sources: list[Call], shape: Any) -> Call:
        config = entry.get("config")
        config = config if isinstance(config, dict) else {}
        name = str(entry.get("name") or config.get("name") or getattr(layer, "name", "?"))
        if shape is None and isinstance(entry.get("build_config"), dict):
            shape = entry["build_config"].get("input_shape")
        if shape is None:
            shape = _input_shape(layer)
        call = Call(name, str(entry.get("class_name", type(layer).__name__)), layer, config, _shape(shape))
        for source in sources:
            call.inputs.append(source)
            source.outputs.append(call)
        self.calls.append(call)
        return call

    def model(self, model: Any, config: dict[str, Any] | None, sources: list[Call]) -> list[Call]:
        """Trace ``model`` fed by ``sources``; return the calls that produce its outputs."""
        if config is not None and isinstance(model, _keras().Sequential) and "layers" in config:
            return self.sequential(model, config, sources)
        if config is not None and "layers" in config and "input_layers" in config:
            return self.functional(model, config, sources)
        return self.chain(probes.walk_layers(model), sources)

    def layer(self, layer: Any, entry: dict[str, Any], sources: list[Call], shape: Any) -> list[Call]:
        if isinstance(layer, _keras().Model):
            inner = entry.get("config")
            return self.model(layer, inner if isinstance(inner, dict) else _config(layer), sources)
        return [self.add(layer, entry, sources, shape)]

    def chain(self, layers: list[Any], sources: list[Call]) -> list[Call]:
        """No recorded graph: each layer is taken to feed the next, in listed order."""
        self.exact = False
        current = sources
        for layer in layers:
            build = layer.get_build_config() if hasattr(layer, "get_build_config") else None
            shape = build.get("input_shape") if isinstance(build, dict) else None
            entry = {"name": layer.name, "class_name": type(layer).__name__, "config": _config(layer) or {}}
            current = [self.add(layer, entry, current, shape)]
        return current

    def sequential(self, model: Any, config: dict[str, Any], sources: list[Call]) -> list[Call]:
        objects = {layer.name: layer for layer in model.layers}
        current = sources
        for entry in config["layers"]:
            inner = entry.get("config") if isinstance(entry.get("config"), dict) else {}
            name = inner.get("name")
            if entry.get("class_name") == "InputLayer":
                if not current:
                    current = [self.add(None, {**entry, "name": name}, [], inner.get("batch_shape"))]
                continue
            if name not in objects:
                continue
            current = self.layer(objects[name], {**entry, "name": name}, current, None)
        return current

    def functional(self, model: Any, config: dict[str, Any], sources: list[Call]) -> list[Call]:
        operations = getattr(model, "operations", None) or model.layers
        objects = {operation.name: operation for operation in operations}
        produced: dict[tuple[str, int], list[Call]] = {}
        for position, (name, node, _) in enumerate(_references(config.get("input_layers"))):
            if position < len(sources):
                produced[(name, node)] = [sources[position]]
        # a nested Functional model's own first node is not saved, so references to it in
        # input_layers/output_layers count from 1, while inbound nodes count from 0
        offset = {
            entry["name"]: int("input_layers" in (entry.get("config") or {})) for entry in config["layers"]
        }
        pending: list[tuple[dict[str, Any], int, Any]] = []
        for entry in config["layers"]:
            nodes = entry.get("inbound_nodes") or []
            if not nodes and (entry["name"], 0) not in produced:  # a model input
                produced[(entry["name"], 0)] = [self.add(objects.get(entry["name"]), entry, [], None)]
            pending.extend((entry, index, node) for index, node in enumerate(nodes))

        def resolve(name: str, node: int, tensor: int) -> Call | None:
            outputs = produced.get((name, node))
            if outputs is None:
                return None
            return outputs[min(tensor, len(outputs) - 1)]

        while pending:
            waiting = []
            for entry, index, node in pending:
                tensors = [t for t in _tensors(node) if len(t.get("keras_history") or ()) == 3]
                found = [resolve(*t["keras_history"]) for t in tensors]
                if any(call is None for call in found):
                    waiting.append((entry, index, node))
                    continue
                shape = tensors[0].get("shape") if tensors else None
                inputs = [call for call in found if call is not None]
                layer = objects.get(entry["name"])
                produced[(entry["name"], index)] = self.layer(layer, entry, inputs, shape)
            if len(waiting) == len(pending):
                break  # references that resolve nowhere: keep what is traced
            pending = waiting
        outputs = []
        for name, node, tensor in _references(config.get("output_layers")):
            call = resolve(name, node - offset.get(name, 0), tensor)
            if call is not None:
                outputs.append(call)
        return outputs


def layer_graph(model: Any) -> Graph:
    """The calls of ``model``, each linked to the calls it feeds and is fed by.

    Sequential and Functional models (and models nested in them) are read from
    ``model.get_config()``: the inbound tensors recorded for every layer. A model that
    records no graph (a subclassed model) is traced in the order of ``model.layers``.
    """
    builder = _Builder()
    builder.model(model, _config(model), [])
    return Graph(tuple(builder.calls), builder.exact)


# -- what a call does to Dropout noise ----------------------------------------------------

# Layer classes by what they do to values on the way from Dropout to BatchNormalization.
_RESHAPING = (
    "InputLayer", "Reshape", "Flatten", "Permute", "RepeatVector", "Identity", "Cropping1D", "Cropping2D",
    "Cropping3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
)  # fmt: skip
#: Noise layers: the identity at inference, more noise in training.
_NOISE = ("Dropout", "GaussianDropout", "GaussianNoise", "AlphaDropout", "ActivityRegularization")
_ACTIVATIONS = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax")
_LINEAR = (
    "Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
    "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Add",
    "Subtract", "Average", "Concatenate", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "UpSampling1D",
    "UpSampling2D", "UpSampling3D", "Rescaling", "Normalization",
)  # fmt: skip
_NONLINEAR = (
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalMaxPooling3D", "Multiply", "Maximum", "Minimum",
)  # fmt: skip
#: Layers whose (batch, steps, channels) output is a 1-D feature map, not a sequence of features.
_CONVOLUTIONS_1D = (
    "Conv1D", "Conv1DTranspose", "SeparableConv1D", "DepthwiseConv1D", "MaxPooling1D", "AveragePooling1D",
    "UpSampling1D",
)  # fmt: skip
_SPATIAL_DROPOUT = ("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")
# Keras operations (``keras.ops`` called on symbolic tensors in a Functional model), by class name.
_OPERATION_ACTIVATIONS = {
    "Relu": "relu",
    "LeakyRelu": "leaky_relu",
    "Selu": "selu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Silu": "silu",
    "Gelu": "gelu",
    "Softmax": "softmax",
}
_OPERATION_RESHAPING = frozenset({"Reshape", "Transpose", "ExpandDims", "Squeeze", "GetItem"})
_OPERATION_LINEAR = frozenset({"Add", "Subtract", "Concatenate"})
_OPERATION_NONLINEAR = frozenset({"Multiply"})


@functools.cache
def _keras() -> Any:
    """The Keras module, looked up once (the checks ask for Keras classes thousands of times)."""
    return keras_module()


@functools.cache
def _layers(*names: str) -> tuple[type, ...]:
    """The ``keras.layers`` classes of these names."""
    return tuple(getattr(_keras().layers, name) for name in names)


def _is_a(layer: Any, *names: str) -> bool:
    """Whether ``layer`` is an instance of one of these ``keras.layers`` classes."""
    return isinstance(layer, _layers(*names))


def _is_layer(call: Call) -> bool:
    return _is_a(call.layer, "Layer")


def _operation(call: Call) -> str | None:
    """The class name of a Keras operation that is not a layer (``None`` for layers)."""
    return None if call.layer is None or _is_layer(call) else call.kind


def _activation(call: Call) -> str | None:
    """The activation a call applies after its own computation (``None``: none recorded)."""
    value = call.config.get("activation")
    if isinstance(value, dict):
        inner = value.get("config")
        value = inner if isinstance(inner, str) else (inner or {}).get("name", value.get("class_name"))
    if isinstance(value, str):
        return {"swish": "silu"}.get(value.lower(), value.lower())
    return _OPERATION_ACTIVATIONS.get(_operation(call) or "")


def is_dropout(call: Call) -> bool:
    """A Keras ``Dropout`` layer, including SpatialDropout (``rate``, inverted scaling)."""
    return _is_a(call.layer, "Dropout")


def _is_noise_source(call: Call) -> bool:
    """Noise whose variance BN's moving statistics absorb: Dropout (any kind) and GaussianDropout."""
    return _is_a(call.layer, "Dropout", "GaussianDropout") and _rate(call) > 0


def _is_batchnorm(call: Call) -> bool:
    return _is_a(call.layer, "BatchNormalization")


def _reshapes(call: Call) -> bool:
    """Moves or pads values without computing on them."""
    return _is_a(call.layer, *_RESHAPING) or _operation(call) in _OPERATION_RESHAPING


def _elementwise_activation(call: Call) -> bool:
    return _is_a(call.layer, *_ACTIVATIONS) or _operation(call) in _OPERATION_ACTIVATIONS


def _relu_like(call: Call) -> bool:
    """An activation that commutes with a dropout mask."""
    if _is_a(call.layer, "ReLU"):
        return call.config.get("max_value") is None and not call.config.get("threshold")
    if _is_a(call.layer, "LeakyReLU", "PReLU"):
        return True
    return _elementwise_activation(call) and _activation(call) in RELU_LIKE


def _concatenates_channels(call: Call) -> bool:
    """A Concatenate layer along the last (channel) axis: each channel keeps its values, so
    the channels a Dropout contributes reach the next layer unchanged."""
    if not _is_a(call.layer, "Concatenate"):
        return False
    axis = call.config.get("axis", -1)
    return bool(axis == -1 or (call.input_shape is not None and axis == len(call.input_shape) - 1))


def _step(call: Call) -> str | None:
    """How Dropout noise passes ``call`` on its way to a BatchNormalization layer.

    ``"pass"``: values unchanged (reshaping, concatenation along the channel axis, another
    noise layer: the identity at inference); ``"relu"``: a ReLU-like activation, which
    commutes with the mask until the noise has been mixed; ``"linear"``: a linear map
    (Dense, convolutions, Add, Concatenate along another axis, average pooling,
    upsampling, rescaling), which carries the shift on,
    diluted; ``"nonlinear"``: anything that changes how much arrives (other activations,
    max pooling, Multiply, a linear layer with a nonlinear activation); ``None``: the
    trace stops (normalization, recurrent, attention and unknown layers).
    """
    operation = _operation(call)
    if _reshapes(call) or _is_a(call.layer, *_NOISE) or _concatenates_channels(call):
        return "pass"
    if _elementwise_activation(call):
        if _activation(call) == "linear":
            return "pass"
        return "relu" if _relu_like(call) else "nonlinear"
    if _is_a(call.layer, *_LINEAR) or operation in _OPERATION_LINEAR:
        return "linear" if _activation(call) in (None, "linear") else "nonlinear"
    if _is_a(call.layer, *_NONLINEAR) or operation in _OPERATION_NONLINEAR:
        return "nonlinear"
    return None


_KINDS = ("direct", "linear", "nonlinear")


def _advance(kind: str, step: str) -> str:
    if step == "pass" or (step == "relu" and kind == "direct"):
        return kind
    if step == "linear":
        return _KINDS[max(_KINDS.index(kind), 1)]
    return "nonlinear"


@dataclass(frozen=True)
class Route:
    """Dropout noise reaching a BatchNormalization layer: the calls from source to BN, and
    the worst thing on the way (``direct``, ``linear`` or ``nonlinear``)."""

    calls: tuple[Call, ...]
    kind: str

    @property
    def source(self) -> Call:
        return self.calls[0]

    @property
    def batchnorm(self) -> Call:
        return self.calls[-1]

    def names(self) -> tuple[str, ...]:
        return tuple(call.name for call in self.calls)


def trace_to_batchnorm(graph: Graph) -> dict[Call, list[Route]]:
    """Every BatchNormalization layer that Dropout noise reaches, with its routes, best first.

    From each Dropout (or GaussianDropout) with a positive rate, the trace follows the
    graph forwards and stops at the first BatchNormalization on every path (that layer is
    where the shift is learned; later ones inherit it). Of the paths from one source to
    one BN, the most direct is kept (direct, then linear, then nonlinear), then the shortest.
    ``direct`` means only reshaping, concatenation along the channel axis, other noise
    layers, or a ReLU-like activation applied before any mixing (ReLU commutes with the
    mask, so Dropout -> ReLU -> BN is ReLU -> Dropout -> BN) lie between; ``linear`` means
    linear layers too; ``nonlinear`` anything from :func:`_step` that changes how much of
    the shift arrives. Layers that :func:`_step` cannot place end the path: nothing is
    claimed beyond them.
    """
    routes: dict[Call, list[Route]] = {}
    order = {id(call): index for index, call in enumerate(graph.calls)}
    for source in graph.calls:
        if not _is_noise_source(source):
            continue
        counter = itertools.count()
        heap: list[tuple[int, int, int, Call, str, tuple[Call, ...]]] = [
            (0, 0, next(counter), source, "direct", (source,))
        ]
        seen = {(id(source), "direct")}
        found: dict[Call, Route] = {}
        while heap:
            _, length, _, call, kind, path = heapq.heappop(heap)
            for consumer in call.outputs:
                if _is_batchnorm(consumer):
                    found.setdefault(consumer, Route((*path, consumer), kind))
                    continue
                step = _step(consumer)
                if step is None:
                    continue
                after = _advance(kind, step)
                if (id(consumer), after) in seen:
                    continue
                seen.add((id(consumer), after))
                heapq.heappush(
                    heap, (_KINDS.index(after), length + 1, next(counter), consumer, after, (*path, consumer))
                )
        for batchnorm, route in found.items():
            routes.setdefault(batchnorm, []).append(route)
    for batchnorm in routes:
        routes[batchnorm].sort(key=lambda r: (_KINDS.index(r.kind), len(r.calls), order[id(r.source)]))
    return dict(sorted(routes.items(), key=lambda item: order[id(item[0])]))


def _nearest(call: Call, through: Callable[[Call], bool], downstream: bool) -> list[tuple[Call, ...]]:
    """The nearest calls before (or after) ``call``, looking through calls ``through`` accepts;
    each as the chain from it to ``call`` (or from ``call`` to it), in graph order."""
    found: list[tuple[Call, ...]] = []
    frontier: list[tuple[Call, ...]] = [
        (call, item) for item in (call.outputs if downstream else call.inputs)
    ]
    seen: set[int] = set()
    while frontier:
        chain = frontier.pop(0)
        item = chain[-1]
        if id(item) in seen:
            continue
        seen.add(id(item))
        if through(item):
            frontier.extend((*chain, after) for after in (item.outputs if downstream else item.inputs))
        else:
            found.append(chain if downstream else chain[::-1])
    return found


def _neighbours(call: Call, through: Callable[[Call], bool], downstream: bool) -> list[Call]:
    """The nearest calls before (or after) ``call``, looking through calls ``through`` accepts."""
    return [chain[-1] if downstream else chain[0] for chain in _nearest(call, through, downstream)]


# -- the checks ---------------------------------------------------------------------------


def _rate(call: Call) -> float:
    """A noise layer's rate, from its config (else the layer's attribute; 0 if neither)."""
    value = call.config.get("rate")
    return float(value if value is not None else getattr(call.layer, "rate", 0.0) or 0.0)


def _batchnorm_finding(routes: list[Route]) -> Finding:
    best = routes[0]
    source, batchnorm = best.source, best.batchnorm
    between = [call for call in best.calls[1:-1] if _step(call) not in ("pass", None)]
    rate = _rate(source)
    if best.kind == "direct":
        floor = 1 / (1 - rate) if rate < 1 else float("inf")
        severity = "warning"
        text = (
            "BN learns its moving variance with dropout on, so at inference it divides by a variance "
            f"that is too large (at least {floor:.2g}x at rate {rate:g}): variance shift"
        )
    else:
        kinds = ", ".join(dict.fromkeys(call.kind for call in between))
        severity = "caution" if best.kind == "linear" else "info"
        text = (
            f"the noise of {source.name} (rate {rate:g}) reaches BN through {kinds}: BN learns its moving "
            "variance with it, so at inference it divides by a variance that is too large (variance "
            "shift), diluted by the weights and by any branch added without dropout"
        )
        if best.kind == "nonlinear":
            text += "; the nonlinearity on the way changes how much arrives, so it may be small"
        text += " (measure it: casekit diagnose MODEL --data)"
    others = [route.source.name for route in routes[1:]]
    if others:
        text += f"; also reached from {', '.join(others)}"
    fix = (
        "move the Dropout after the last BatchNormalization (or BatchNormalization before the Dropout), "
        f"or {_REESTIMATE}"
        if best.kind == "direct"
        else f"{_REESTIMATE}, or move the Dropout after the last BatchNormalization"
    )
    on_maps = batchnorm.input_shape is not None and len(batchnorm.input_shape) in (4, 5)
    return Finding(
        "dropout-feeds-batchnorm",
        severity,
        (source.name, batchnorm.name),
        text,
        _CONV_DISHARMONY if on_maps else SECTIONS["dropout-feeds-batchnorm"],
        fix,
        best.names(),
    )


def _reshapes_or_activation(call: Call) -> bool:
    return _reshapes(call) or _elementwise_activation(call)


def _transparent_to_shape(call: Call) -> bool:
    """Layers that keep a feature map a feature map: reshaping, activations, BatchNormalization."""
    return _reshapes(call) or _elementwise_activation(call) or _is_batchnorm(call)


def _feature_map_finding(call: Call) -> Finding | None:
    """Plain Dropout with no noise_shape on feature maps (SpatialDropout sets its own)."""
    if not is_dropout(call) or _is_a(call.layer, *_SPATIAL_DROPOUT):
        return None
    if call.config.get("noise_shape") is not None or _rate(call) == 0 or call.input_shape is None:
        return None
    rank = len(call.input_shape)
    producers = _neighbours(call, _transparent_to_shape, downstream=False)
    if rank == 3:  # (batch, steps, features): feature maps only when a 1-D convolution made them
        if not any(_is_a(p.layer, *_CONVOLUTIONS_1D) for p in producers):
            return None
    elif rank not in (4, 5):
        return None
    spatial = f"SpatialDropout{rank - 2}D"
    channels_first = any(p.config.get("data_format") == "channels_first" for p in producers)
    argument = ', data_format="channels_first"' if channels_first else ""
    return Finding(
        "dropout-on-feature-maps",
        FEATURE_MAP_SEVERITY,
        (call.name,),
        f"plain Dropout on {rank}-D feature maps drops single positions, and neighbouring positions "
        f"are correlated; {spatial} drops whole channels instead. Chapter 4 compares the two where "
        "dropout matters: which regularizes a given network better is for its validation data to say",
        SECTIONS["dropout-on-feature-maps"],
        f"try {spatial}({_rate(call):g}{argument}), which drops whole channels, and keep whichever "
        "does better on validation data",
    )


def _recurrent_findings(call: Call) -> list[Finding]:
    layer = call.layer
    wrapped = _is_a(layer, "Bidirectional")
    inner = [layer.forward_layer, layer.backward_layer] if wrapped else [layer]
    findings = []
    for rnn in inner:
        if not _is_a(rnn, "LSTM", "GRU"):
            continue
        rate = float(rnn.recurrent_dropout or 0)
        use_cudnn = getattr(rnn, "use_cudnn", "auto")
        if rate == 0 or use_cudnn is False:
            continue
        text = (
            f"recurrent_dropout={rate:g} rules out the cuDNN kernel, so on a GPU this "
            f"{type(rnn).__name__} runs the generic loop, often several times slower"
        )
        if use_cudnn is True:
            text += "; with use_cudnn=True the layer raises a ValueError when called"
        findings.append(
            Finding(
                "recurrent-dropout-no-cudnn",
                "warning" if use_cudnn is True else "caution",
                (call.name,),
                text,
                SECTIONS["recurrent-dropout-no-cudnn"],
                "set recurrent_dropout=0 and regularize with dropout= (the inputs) or a Dropout layer "
                "between recurrent layers, if GPU speed matters",
            )
        )
        break  # a Bidirectional wrapper is one finding
    return findings


def _rate_findings(call: Call) -> list[Finding]:
    rate = _rate(call)
    if rate == 0:
        return [
            Finding(
                "rate-zero",
                "info",
                (call.name,),
                "rate 0 makes this Dropout layer a no-op",
                SECTIONS["rate-zero"],
                "remove the layer or set the rate you meant",
            )
        ]
    if rate < HIGH_RATE:
        return []
    units = call.input_shape[-1] if call.input_shape else None
    keep_prob = f"if {rate:g} was TF1's keep_prob (the fraction kept), the Keras rate is {1 - rate:.2g}"
    if units is not None and units <= NARROW_UNITS:
        return [
            Finding(
                "high-rate-narrow-layer",
                "warning",
                (call.name,),
                f"rate {rate:g} on {units} units keeps about {units * (1 - rate):.0f} per step; "
                "expect underfitting unless the layer is widened (about units / (1 - rate))",
                SECTIONS["high-rate-narrow-layer"],
                f"{keep_prob} (see {SECTIONS['rate-may-be-keep-prob']}); otherwise lower the rate, "
                f"or widen the layer to about {round(units / (1 - rate))} units",
            )
        ]
    width = "an unknown number of" if units is None else str(units)
    return [
        Finding(
            "rate-may-be-keep-prob",
            "info",
            (call.name,),
            f"rate {rate:g} drops {rate:.0%} of {width} units: Keras's rate is the fraction dropped, "
            "TF1's keep_prob the fraction kept, so a ported keep_prob reads as this high rate",
            SECTIONS["rate-may-be-keep-prob"],
            f"{keep_prob}; nothing to fix if dropping {rate:.0%} is intended",
        )
    ]


def _consumer_findings(call: Call) -> list[Finding]:
    """Dropout right before an activation layer (not SELU: see :func:`_selu_findings`)."""
    findings = []
    for consumer in call.outputs:
        if not _elementwise_activation(consumer):
            continue
        name = _activation(consumer) or type(consumer.layer).__name__.lower()
        if name == "softmax":
            findings.append(
                Finding(
                    "dropout-on-logits",
                    "warning",
                    (call.name, consumer.name),
                    "the mask zeroes logits and scales the rest by 1/(1-rate) right before softmax, "
                    "which changes the predicted distribution itself, not a hidden feature",
                    SECTIONS["dropout-on-logits"],
                    "move Dropout before the last Dense layer",
                    (call.name, consumer.name),
                )
            )
        elif name not in RELU_LIKE and name != "selu" and not _relu_like(consumer):
            findings.append(
                Finding(
                    "dropout-before-nonlinear-activation",
                    "info",
                    (call.name, consumer.name),
                    f"masking before {name} is not the same as after it ({name}(0) or scaling differs); "
                    "for ReLU the order would not matter",
                    SECTIONS["dropout-before-nonlinear-activation"],
                    "nothing to fix if intended: for this activation the two orders differ; "
                    "ReLU-like activations make them the same function",
                    (call.name, consumer.name),
                )
            )
    return findings


def _selu_findings(call: Call) -> list[Finding]:
    """Plain Dropout whose nearest producer or consumer applies SELU: one finding per Dropout."""
    before = [c for c in _nearest(call, _reshapes, downstream=False) if _activation(c[0]) == "selu"]
    after = [c for c in _nearest(call, _reshapes, downstream=True) if _activation(c[-1]) == "selu"]
    if not before and not after:
        return []
    upstream = before[0][:-1] if before else ()
    downstream = after[0][1:] if after else ()
    path = tuple(c.name for c in (*upstream, call, *downstream))
    return [
        Finding(
            "dropout-with-selu",
            "caution",
            (call.name, *(c[0].name for c in before), *(c[-1].name for c in after)),
            "SELU networks keep activations near mean 0 and variance 1 (self-normalization); plain "
            "Dropout sets units to 0 and scales the rest by 1/(1-rate), which moves both",
            SECTIONS["dropout-with-selu"],
            f"use AlphaDropout({_rate(call):g}), which drops to SELU's saturation value and keeps mean "
            "and variance",
            path,
        )
    ]


def _frozen_batchnorm_findings(call: Call) -> list[Finding]:
    """A BatchNormalization layer with trainable=False whose neighbour is a Dropout layer."""
    trainable = getattr(call.layer, "trainable", call.config.get("trainable", True))
    if not _is_batchnorm(call) or trainable:
        return []
    findings = []
    for downstream in (False, True):
        for chain in _nearest(call, _reshapes_or_activation, downstream):
            if not is_dropout(chain[-1] if downstream else chain[0]):
                continue
            path = tuple(c.name for c in chain)
            findings.append(
                Finding(
                    "frozen-batchnorm-next-to-dropout",
                    "info",
                    (path[0], path[-1]),
                    "trainable=False puts this BatchNormalization in inference mode even under "
                    "training=True (fit, Monte Carlo dropout): it normalizes with its moving statistics "
                    "and no longer updates them, while the Dropout next to it stays active",
                    SECTIONS["frozen-batchnorm-next-to-dropout"],
                    "nothing to fix for fine-tuning or Monte Carlo dropout; set trainable=True if this "
                    "layer should use batch statistics while training",
                    path,
                )
            )
    return findings


def _subclassed_findings(model: Any, graph: Graph) -> list[Finding]:
    if graph.exact or isinstance(model, _keras().Sequential):
        return []
    if not any(is_dropout(call) for call in graph.calls):
        return []
    parameters = inspect.signature(model.call).parameters
    if "training" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return []
    return [
        Finding(
            "call-without-training-argument",
            "info",
            (type(model).__name__,),
            "call() takes no `training` argument: fit() still reaches Dropout through Keras's call "
            "context, but a custom loop must call model(x, training=True) or dropout stays off",
            SECTIONS["call-without-training-argument"],
            "pass `training` through call(); Keras 3 propagates it to sublayers, custom code must not "
            "drop it",
        )
    ]


def diagnose(model: Any) -> Diagnosis:
    """Inspect ``model`` and return its Dropout-related findings (no data, no training),
    most urgent first."""
    graph = layer_graph(model)
    findings: list[Finding] = []
    routes = trace_to_batchnorm(graph)
    for call in graph.calls:
        if call in routes:
            findings.append(_batchnorm_finding(routes[call]))
        findings.extend(_frozen_batchnorm_findings(call))
        findings.extend(_recurrent_findings(call))
        if not is_dropout(call):
            continue
        findings.extend(_consumer_findings(call))
        findings.extend(_selu_findings(call))
        feature_maps = _feature_map_finding(call)
        if feature_maps is not None:
            findings.append(feature_maps)
        findings.extend(_rate_findings(call))
    findings.extend(_subclassed_findings(model, graph))
    return Diagnosis(getattr(model, "name", type(model).__name__), by_severity(findings))
