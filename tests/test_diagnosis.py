from __future__ import annotations

from typing import Any

import pytest

import casekit
from casekit import models
from casekit._runtime import keras_module


@pytest.fixture(autouse=True)
def _fresh_layer_names() -> None:
    keras_module().backend.clear_session()  # layer names restart at "dropout", "dense", ...


def test_article_example_1_is_flagged_for_variance_shift() -> None:
    result = casekit.diagnose(models.example_1())
    assert result.codes() == ["dropout-feeds-batchnorm"]
    finding = result.findings[0]
    assert finding.severity == "warning" and finding.layers == ("dropout", "batch_normalization")
    assert "at least 2x at rate 0.5" in finding.explanation
    assert finding.section == "chapters/01-dropout-before-batchnorm"


def test_article_example_2_has_no_findings() -> None:
    assert casekit.diagnose(models.example_2()).codes() == []


def test_article_example_3_high_rate_is_flagged_and_low_rate_is_not() -> None:
    assert casekit.diagnose(models.example_3(0.8)).codes() == ["high-rate-narrow-layer"]
    assert casekit.diagnose(models.example_3(0.2)).codes() == []


def test_dropout_through_dense_into_bn_is_flagged() -> None:
    model = models.build(("dense_relu", "dropout", "dense", "bn", "relu"))
    finding = casekit.diagnose(model).findings[0]
    assert finding.code == "dropout-feeds-batchnorm" and len(finding.layers) == 3


@pytest.mark.parametrize(
    ("activation", "codes"), [("tanh", ["dropout-before-nonlinear-activation"]), ("relu", [])]
)
def test_dropout_before_activation_depends_on_the_activation(activation: str, codes: list[str]) -> None:
    assert casekit.diagnose(models.build(("dense", "bn", "dropout", activation))).codes() == codes


def test_dropout_on_logits_is_flagged() -> None:
    keras = keras_module()
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(10),
            keras.layers.Dropout(0.3),
            keras.layers.Activation("softmax"),
        ]
    )
    assert casekit.diagnose(model).codes() == ["dropout-on-logits"]


def test_rate_zero_is_noted() -> None:
    assert casekit.diagnose(models.build(("dense", "relu", "dropout:0"))).codes() == ["rate-zero"]


def test_keras_reference_placements_raise_no_alarm() -> None:
    keras = keras_module()
    # EfficientNet/MobileNetV3 tops: BN and activation, pooling, then Dropout before the classifier.
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(16, 3)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("swish")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    assert casekit.diagnose(keras.Model(inputs, outputs)).codes() == []


def test_nested_functional_model_is_searched() -> None:
    keras = keras_module()
    inner = keras.Sequential(
        [keras.Input((32,)), keras.layers.Dropout(0.5), keras.layers.BatchNormalization()]
    )
    inputs = keras.Input((784,))
    outputs = keras.layers.Dense(10, activation="softmax")(
        inner(keras.layers.Dense(32, activation="relu")(inputs))
    )
    assert casekit.diagnose(keras.Model(inputs, outputs)).codes() == ["dropout-feeds-batchnorm"]


def _subclassed(with_training: bool) -> Any:
    keras = keras_module()
    Model: Any = keras.Model

    class WithTraining(Model):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = keras.layers.Dense(32, activation="relu")
            self.drop = keras.layers.Dropout(0.5)
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x: Any, training: bool = False) -> Any:
            return self.out(self.drop(self.hidden(x), training=training))

    class WithoutTraining(WithTraining):
        def call(self, x: Any) -> Any:  # type: ignore[override]
            return self.out(self.drop(self.hidden(x)))

    return WithTraining() if with_training else WithoutTraining()


def test_subclassed_call_without_training_is_noted() -> None:
    assert casekit.diagnose(_subclassed(False)).codes() == ["call-without-training-argument"]
    assert casekit.diagnose(_subclassed(True)).codes() == []


def test_text_rendering_lists_every_finding() -> None:
    text = str(casekit.diagnose(models.example_1()))
    assert text.splitlines()[0] == "diagnose(example_1): 1 finding"
    assert text.splitlines()[1].startswith(
        "  [warning] dropout-feeds-batchnorm: dropout -> batch_normalization:"
    )
    assert str(casekit.diagnose(models.example_2())) == "diagnose(example_2): no findings"
