"""The convolutional networks of chapter 4 (casekit.lab.convnets): specs, layers, runs."""

from __future__ import annotations

import numpy as np
import pytest

from casekit import profiles
from casekit._runtime import keras_module
from casekit.lab import convnets, data, models, probes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, r"^depth must be an integer >= 1; got 0$"),
        (
            {"depth": 2, "kind": "gaussian", "rate": 0.5},
            r"^kind must be one of 'none', 'dropout', 'spatial'; got 'gaussian'$",
        ),
        (
            {"depth": 2, "kind": "dropout", "position": "middle", "rate": 0.5},
            r"^position must be one of 'before', 'after'; got 'middle'$",
        ),
        ({"depth": 2, "kind": "dropout", "rate": 1.0}, r"^rate must be a number in \[0, 1\)"),
        (
            {"depth": 2, "kind": "dropout"},
            r"^a network with kind 'dropout' needs a rate above 0; got rate 0.0$",
        ),
        ({"depth": 2, "rate": 0.5}, r"^a network with kind 'none' needs rate 0; got rate 0.5$"),
    ],
)
def test_a_bad_spec_is_a_one_line_error_naming_what_is_allowed(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        convnets.ConvSpec(**kwargs)  # type: ignore[arg-type]


def test_before_puts_dropout_between_every_convolution_and_its_batchnorm() -> None:
    before = models.describe(convnets.ConvSpec(3, "dropout", "before", 0.5).build())
    assert before == [
        "Reshape()",
        "Conv2D(8, (3, 3), strides=(2, 2))", "Dropout(0.5)", "BatchNormalization()", "Activation('relu')",
        "MaxPooling2D()",
        "Conv2D(8, (3, 3))", "Dropout(0.5)", "BatchNormalization()", "Activation('relu')",
        "Conv2D(8, (3, 3))", "Dropout(0.5)", "BatchNormalization()", "Activation('relu')",
        "Flatten()", "Dense(10, activation='softmax')",
    ]  # fmt: skip
    after = models.describe(convnets.ConvSpec(2, "spatial", "after", 0.2).build())
    assert after[-3:] == ["SpatialDropout2D(0.2)", "Flatten()", "Dense(10, activation='softmax')"]
    assert "Dropout" not in " ".join(models.describe(convnets.ConvSpec(2).build()))


def test_names_doses_and_epochs() -> None:
    assert convnets.ConvSpec(2).name == "no dropout, depth 2"
    assert (
        convnets.ConvSpec(4, "spatial", "before", 0.5).name == "SpatialDropout before BN, rate 0.5, depth 4"
    )
    grid = convnets.doses([0.5, 0.8], [2, 4])
    assert list(grid) == ["rate 0.5, depth 2", "rate 0.5, depth 4", "rate 0.8, depth 2", "rate 0.8, depth 4"]
    after, before = grid["rate 0.8, depth 4"]
    assert (after.position, before.position, before.rate, before.depth) == ("after", "before", 0.8, 4)
    assert convnets.epochs(profiles.resolve("book")) == convnets.MAX_EPOCHS
    assert convnets.epochs(profiles.resolve("smoke")) == 2


def test_run_adds_each_run_s_settings(tiny: data.Dataset) -> None:
    configs = convnets.named(convnets.ConvSpec(2), convnets.ConvSpec(2, "spatial", "after", 0.5))
    results = convnets.run(configs, tiny.limit(64), seeds=[0, 1], epochs=1, progress=False)
    final = results.final
    assert list(final.columns[:6]) == ["config", "seed", "depth", "kind", "position", "rate"]
    assert final["kind"].tolist() == ["none", "none", "spatial", "spatial"]
    assert final["position"].tolist() == ["-", "-", "after", "after"]
    assert set(results.history["rate"]) == {0.0, 0.5}
    with pytest.raises(ValueError, match="config 'x' must be a ConvSpec; got tuple"):
        convnets.run({"x": ("dense",)}, tiny, seeds=[0, 1], epochs=1)  # type: ignore[dict-item]


def test_spatial_dropout_follows_the_same_closed_form_per_channel() -> None:
    """A channel's mask is shared by its positions, but each value is still kept with
    probability p and scaled by 1/p: its variance over the batch and the positions grows as
    Li et al.'s form says, ((c^2 + v) / p - c^2) / v."""
    keras = keras_module()
    model = keras.Sequential(
        [
            keras.Input(shape=(6, 6, 4)),
            keras.layers.SpatialDropout2D(0.5, seed=1),
            keras.layers.BatchNormalization(),
        ]
    )
    x = np.random.default_rng(0).normal(1.0, 1.0, size=(4000, 6, 6, 4)).astype("float32")
    table = probes.variance_shift(model, x)
    measured = table["training_variance"] / table["inference_variance"]
    assert np.allclose(table["predicted_shift"], 3.0, rtol=0.05)  # c = v = 1, p = 0.5
    assert np.allclose(measured, table["predicted_shift"], rtol=0.06)
