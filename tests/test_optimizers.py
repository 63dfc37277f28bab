"""The fused Adam of the replicated paths is Keras's Adam, up to rounding."""

from __future__ import annotations

import numpy as np
import pytest

from casekit._runtime import enable_determinism, keras_module
from casekit.lab import data, models, optimizers


def _weights_after(optimizer: object, dataset: data.Dataset, steps: int = 3) -> list[np.ndarray]:
    keras = keras_module()
    keras.backend.clear_session()
    enable_determinism(0)
    model = models.build(("dense_relu",), rate=0.0)  # no BatchNormalization (see below)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    x, y = dataset.x_train[: steps * 32], dataset.y_train[: steps * 32]
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    return [np.asarray(w) for w in model.get_weights()]


def _largest_change(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


@pytest.mark.slow
def test_fused_adam_takes_keras_adam_s_steps(tiny: data.Dataset) -> None:
    """Three steps from the same start, where every step moves a weight by up to the
    learning rate, 1e-3: the weights agree to within float rounding (1e-6), while Adam with
    another learning rate, or another beta_2, lands far outside (over 1e-5). The model has
    no BatchNormalization: the bias of a Dense layer that feeds one has a gradient of zero
    up to rounding, which Adam scales up to full steps whatever the kernel."""
    keras = keras_module()
    if keras.backend.backend() != "tensorflow":
        pytest.skip("FusedAdam is TensorFlow's kernel; other backends use Keras's Adam")
    fused = _weights_after(optimizers.adam(), tiny)
    reference = _weights_after(keras.optimizers.Adam(), tiny)
    assert type(optimizers.adam()).__name__ == "FusedAdam"
    assert _largest_change(fused, reference) < 1e-6
    assert _largest_change(fused, _weights_after(keras.optimizers.Adam(0.0012), tiny)) > 1e-5
    assert _largest_change(fused, _weights_after(keras.optimizers.Adam(beta_2=0.99), tiny)) > 1e-5
