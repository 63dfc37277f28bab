from __future__ import annotations

import warnings
from typing import Any

import pytest

from casekit.lab import article, models


def _run_article(number: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        # The article passes input_shape= to Dense, which Keras 3 deprecates with a UserWarning.
        warnings.simplefilter("ignore", UserWarning)
        exec(compile(article.EXAMPLES[number], f"example_{number}", "exec"), namespace)
    return namespace


def _compile_settings(model: Any) -> dict[str, Any]:
    config = model.get_compile_config()
    optimizer = {k: v for k, v in config["optimizer"]["config"].items() if k != "name"}
    return {"optimizer": optimizer, "loss": config["loss"], "metrics": config["metrics"]}


@pytest.mark.parametrize(("number", "ours"), [(1, models.example_1), (2, models.example_2)])
def test_examples_match_running_the_article_code(number: int, ours: Any) -> None:
    theirs = _run_article(number)["model"]
    mine = ours()
    assert models.describe(mine) == models.describe(theirs)
    assert _compile_settings(mine) == _compile_settings(theirs)
    assert mine.count_params() == theirs.count_params()


@pytest.mark.parametrize(("rate", "name"), [(0.2, "model_low_dropout"), (0.8, "model_high_dropout")])
def test_example_3_matches_create_model(rate: float, name: str) -> None:
    theirs = _run_article(3)[name]
    assert models.describe(models.example_3(rate)) == models.describe(theirs)


def test_build_turns_a_placement_into_layers() -> None:
    model = models.build(("dense:32", "bn", "dropout:0.2", "gelu"))
    assert models.describe(model) == [
        "Dense(32, activation='linear')",
        "BatchNormalization()",
        "Dropout(0.2)",
        "Activation('gelu')",
        "Dense(10, activation='softmax')",
    ]
    assert models.describe(models.example_1())[:3] == [
        "Dense(64, activation='relu')",
        "Dropout(0.5)",
        "BatchNormalization()",
    ]


@pytest.mark.parametrize(
    ("placement", "kwargs", "message"),
    [
        (
            ("dense", "batchnorm"),
            {},
            "unknown layer name 'batchnorm'; "
            "allowed: dense, dense_relu, bn, dropout, relu, sigmoid, tanh, gelu",
        ),
        (
            ("dense", "dropout"),
            {"rate": 1.0},
            "rate must be a number in [0, 1) (the fraction dropped); got 1.0",
        ),
        (("dense", "dropout:1.2"), {}, "rate must be a number in [0, 1) (the fraction dropped); got 1.2"),
        (("dense:0",), {}, "width must be an integer >= 1; got 0"),
        (("relu:3",), {}, "layer name 'relu' takes no setting; got 'relu:3'"),
        ((), {}, "placement must be a non-empty sequence of layer names; got ()"),
        ("dense", {}, "placement must be a non-empty sequence of layer names; got 'dense'"),
    ],
)
def test_bad_placements_fail_before_any_layer_is_built(
    placement: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        models.build(placement, **kwargs)
    assert str(caught.value) == message
