from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from casekit import _runtime
from casekit.lab import data, mechanics, models


def _positive(shape: tuple[int, ...] = (200, 50)) -> np.ndarray:
    return np.random.default_rng(0).uniform(0.5, 1.5, shape).astype(np.float32)


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.8])
def test_training_mode_zeroes_or_scales_and_keeps_the_mean(rate: float) -> None:
    check = mechanics.training_check(rate, _positive())
    assert check.all_zero_or_scaled and check.max_scaling_error < 1e-5
    assert check.dropped_fraction == pytest.approx(rate, abs=0.02)
    assert check.mean_ratio == pytest.approx(1.0, abs=0.05)


def test_training_check_needs_positive_input() -> None:
    with pytest.raises(ValueError, match="strictly positive"):
        mechanics.training_check(0.5, np.zeros((2, 2), np.float32))


def test_inference_is_the_identity_and_predict_changes_no_weight() -> None:
    x = _positive()
    assert mechanics.inference_is_identity(0.5, x)
    model = models.example_2()
    assert mechanics.weights_unchanged_by_predict(model, np.zeros((4, 784), np.float32))


def test_mask_comes_from_the_layer() -> None:
    mask = mechanics.dropout_mask(0.5, (100, 10))
    assert set(np.unique(mask)) == {0.0, 2.0}


def test_relu_commutes_with_dropout_and_sigmoid_does_not() -> None:
    z = np.random.default_rng(1).normal(size=(100, 10)).astype(np.float32)
    mask = mechanics.dropout_mask(0.5, z.shape)
    assert mechanics.order_difference("relu", mask, z) == 0.0
    assert mechanics.order_difference("sigmoid", mask, z) > 0.1
    assert mechanics.order_difference("tanh", mask, z) > 0.01


class _Subclassed:
    """A subclassed model whose ``call`` has no ``training`` argument (built lazily)."""

    def __new__(cls) -> Any:
        keras = _runtime.keras_module()

        class Net(keras.Model):  # type: ignore[name-defined]  # keras is typed Any
            def __init__(self) -> None:
                super().__init__()
                self.hidden = keras.layers.Dense(16, activation="relu")
                self.dropout = keras.layers.Dropout(0.5)
                self.head = keras.layers.Dense(10, activation="softmax")

            def call(self, inputs: Any) -> Any:
                return self.head(self.dropout(self.hidden(inputs)))

        return Net()


def test_custom_loop_without_training_leaves_dropout_off(tiny: data.Dataset) -> None:
    x, y = tiny.x_train[:256], tiny.y_train[:256]

    def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
        return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))

    def loop(training: bool | None, make: Any = lambda: models.example_2(0.5)) -> list[np.ndarray]:
        return mechanics.custom_loop(make, x, y, training)

    omitted, off, on = loop(None), loop(False), loop(True)
    assert same(omitted, off) and not same(omitted, on)
    assert same(on, loop(True))  # seeded: the same masks again
    # Keras 3 passes the outer training flag to the layers of a call without that argument
    assert not same(loop(True, _Subclassed), loop(False, _Subclassed))
