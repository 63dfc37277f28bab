from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from casekit._runtime import keras_module
from casekit.lab import data, models, probes, training


def _trained_on(model: object, x: np.ndarray) -> None:
    """Set BN moving statistics from one huge training-mode batch (BN momentum 0)."""
    model(x, training=True)  # type: ignore[operator]


def _gaussian(n: int, units: int, mean: float, std: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, std, (n, units)).astype(np.float32)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_straight_into_bn_matches_li_et_al_closed_form(rate: float) -> None:
    keras = keras_module()
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dropout(rate), keras.layers.BatchNormalization(momentum=0.0)]
    )
    c, v, keep = 1.5, 0.25, 1 - rate
    _trained_on(model, _gaussian(200_000, 8, c, v**0.5, seed=1))
    table = probes.variance_shift(model, _gaussian(100_000, 8, c, v**0.5, seed=2))
    expected = ((c**2 + v) / keep - c**2) / v
    assert set(table["fed_by"]) == {"dropout"} and (table["rate"] == rate).all()
    np.testing.assert_allclose(table["shift"], expected, rtol=0.03)
    np.testing.assert_allclose(table["predicted_shift"], expected, rtol=0.02)
    np.testing.assert_allclose(table["inference_variance"], v, rtol=0.02)
    # While training, BN saw the dropout-inflated variance: its moving variance is right for training.
    np.testing.assert_allclose(table["training_variance"], table["moving_variance"], rtol=0.03)


def test_dropout_through_dense_into_bn_matches_the_general_form() -> None:
    keras = keras_module()
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense(4, use_bias=False)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dropout(0.5), dense, keras.layers.BatchNormalization(momentum=0.0)]
    )
    _trained_on(model, _gaussian(200_000, 6, 1.0, 0.5, seed=1))
    x = _gaussian(100_000, 6, 1.0, 0.5, seed=2)
    table = probes.variance_shift(model, x)
    w = np.asarray(dense.kernel, dtype=np.float64)
    second = (x.astype(np.float64) ** 2).mean(0)
    test_var = (x @ w).var(0)
    expected = 1 + (w**2).T @ second / test_var  # (1 - p) / p = 1 at rate 0.5
    assert set(table["fed_by"]) == {"dropout>dense"}
    np.testing.assert_allclose(table["predicted_shift"], expected, rtol=0.02)
    np.testing.assert_allclose(table["shift"], expected, rtol=0.04)


def test_bn_without_dropout_has_no_shift_and_no_prediction() -> None:
    keras = keras_module()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.BatchNormalization(momentum=0.0)])
    _trained_on(model, _gaussian(100_000, 5, 0.0, 1.0, seed=1))
    table = probes.variance_shift(model, _gaussian(100_000, 5, 0.0, 1.0, seed=2), training_variance=False)
    assert set(table["fed_by"]) == {"other"} and table["predicted_shift"].isna().all()
    np.testing.assert_allclose(table["shift"], 1.0, rtol=0.03)
    assert "training_variance" not in table


def test_probe_leaves_the_model_unchanged(tiny: data.Dataset) -> None:
    model, _ = training.fit(models.example_1, tiny, seed=0, epochs=1)
    before = [np.array(w) for w in model.get_weights()]
    table = probes.variance_shift(model, tiny.x_train)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    summary = probes.shift_summary(table)
    assert summary["layer"].tolist() == ["batch_normalization"] and summary["fed_by"].tolist() == ["dropout"]


def test_nested_and_functional_models_are_probed() -> None:
    keras = keras_module()
    inner = keras.Sequential(
        [keras.Input((16,)), keras.layers.Dropout(0.3), keras.layers.BatchNormalization()]
    )
    inputs = keras.Input((784,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(inner(hidden))
    model = keras.Model(inputs, outputs)
    table = probes.variance_shift(model, np.random.default_rng(0).random((64, 784), dtype=np.float32))
    assert set(table["fed_by"]) == {"dropout"} and len(table) == 16


def test_subclassed_model_uses_layer_order() -> None:
    keras = keras_module()
    Model: Any = keras.Model

    class Net(Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = keras.layers.Dense(12, activation="relu")
            self.drop = keras.layers.Dropout(0.4)
            self.norm = keras.layers.BatchNormalization()

        def call(self, x: object, training: bool = False) -> object:
            return self.norm(self.drop(self.dense(x), training=training), training=training)

    model = Net()
    x = np.random.default_rng(0).random((32, 20), dtype=np.float32)
    model(x)
    table = probes.variance_shift(model, x)
    assert set(table["fed_by"]) == {"dropout"} and set(table["rate"]) == {0.4}


def test_reestimation_sets_moving_statistics_to_inference_input(tiny: data.Dataset) -> None:
    model, _ = training.fit(lambda: models.build(("dense_relu", "dropout", "bn") * 2), tiny, seed=0, epochs=1)
    assert probes.reestimate_batchnorm(model, tiny.x_train) == 2
    table = probes.variance_shift(model, tiny.x_train, training_variance=False)
    np.testing.assert_allclose(table["moving_variance"], table["inference_variance"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(table["moving_mean"], table["input_mean"], rtol=1e-4, atol=1e-5)


def test_model_without_batchnorm_is_an_error() -> None:
    with pytest.raises(ValueError, match="no BatchNormalization layer"):
        probes.variance_shift(models.build(("dense", "relu")), np.zeros((4, 784), dtype=np.float32))


def test_expected_calibration_error() -> None:
    confident_right = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert probes.expected_calibration_error(confident_right, np.array([0, 1])) == pytest.approx(0.1)
    assert probes.expected_calibration_error(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(1.0)
