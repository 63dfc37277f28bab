"""``casekit diagnose MODEL.keras``: static and measured findings on saved models, clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from casekit import checkup, data, models, training
from casekit._runtime import keras_module

CASEKIT = str(Path(sys.executable).with_name("casekit"))


def _saved(model: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, mnist: data.Dataset) -> dict[str, Path]:
    """The three article models and a Functional model with a nested Dropout ->
    BatchNormalization block, trained 3 epochs on 4,000 digits (enough steps for BN's moving
    averages to settle), saved as .keras files."""
    folder = tmp_path_factory.mktemp("models")
    small = mnist
    paths = {}
    for name, build in (
        ("example_1", lambda: models.example_1(0.5)),
        ("example_2", lambda: models.example_2(0.5)),
        ("example_3", lambda: models.example_3(0.8)),
    ):
        model, _ = training.fit(build, small, seed=0, epochs=3)
        paths[name] = _saved(model, folder, name)
    keras = keras_module()
    inner = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dropout(0.5), keras.layers.BatchNormalization()], name="block"
    )
    inputs = keras.Input((784,))
    hidden = keras.layers.Dense(64, activation="relu")(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(inner(hidden))
    nested = keras.Model(inputs, outputs, name="nested")
    nested.compile(optimizer="adam", loss="categorical_crossentropy")
    keras.utils.set_random_seed(0)
    nested.fit(small.x_train, small.y_train, epochs=3, verbose=0)
    paths["nested"] = _saved(nested, folder, "nested")
    return paths


def _codes(result: checkup.Checkup) -> list[str]:
    return [f["code"] for f in result.findings]


@pytest.mark.parametrize("name", ["example_1", "nested"])
def test_dropout_before_batchnorm_is_found_and_measured(saved: dict[str, Path], name: str) -> None:
    model = checkup.load_model(saved[name])
    result = checkup.check(model, name, checkup.load_data("mnist", model))
    assert {"dropout-feeds-batchnorm", "measured-variance-shift", "mc-dropout-moves-batchnorm"} <= set(
        _codes(result)
    )
    assert result.shift and result.shift[0]["median_shift"] > checkup.SHIFT_THRESHOLD
    assert all(f["fix"] for f in result.findings)


def test_example_2_has_no_shift_but_the_mc_dropout_side_effect(saved: dict[str, Path]) -> None:
    model = checkup.load_model(saved["example_2"])
    result = checkup.check(model, "example_2", checkup.load_data("mnist", model))
    assert _codes(result) == ["mc-dropout-moves-batchnorm"]
    assert result.shift[0]["median_shift"] < checkup.SHIFT_THRESHOLD


def test_measuring_leaves_the_model_unchanged(saved: dict[str, Path]) -> None:
    model = checkup.load_model(saved["example_1"])
    before = [np.array(w) for w in model.get_weights()]
    checkup.check(model, "example_1", checkup.load_data("mnist", model))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_without_data_only_static_findings(saved: dict[str, Path]) -> None:
    result = checkup.check(checkup.load_model(saved["example_3"]), "example_3")
    assert _codes(result) == ["high-rate-narrow-layer"] and result.shift == []
    assert result.mc_dropout_moves_batchnorm is None


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CASEKIT, "diagnose", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_command_line_exit_codes_and_json(saved: dict[str, Path], tmp_path: Path) -> None:
    found = _cli(str(saved["example_1"]), "--data", "mnist", "--json")
    assert found.returncode == 1, found.stderr[-2000:]
    record = json.loads(found.stdout)
    assert "measured-variance-shift" in [f["code"] for f in record["findings"]]
    clean = _cli(str(saved["example_2"]))
    assert clean.returncode == 0 and "no finding" in clean.stdout
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((10, 28, 28), dtype=np.float32))
    mismatched = _cli(str(saved["example_1"]), "--data", str(wrong))
    assert mismatched.returncode == 2
    assert mismatched.stderr.strip() == (
        "casekit: error: data of shape (n, 28, 28) does not fit the model's input (n, 784)"
    )


def test_a_file_that_is_not_a_model_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.keras"
    text.write_text("not a model")
    with pytest.raises(
        ValueError, match=r"notes.keras is not a Keras model file \(.keras, as written by model.save\)$"
    ):
        checkup.load_model(text)
    with pytest.raises(ValueError, match=r"missing.keras: no such file"):
        checkup.load_model(tmp_path / "missing.keras")


def test_data_that_does_not_fit_is_one_line(saved: dict[str, Path], tmp_path: Path) -> None:
    model = checkup.load_model(saved["example_1"])
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x_train=np.zeros((5, 100), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"^data of shape \(n, 100\) does not fit the model's input \(n, 784\)$"
    ):
        checkup.load_data(str(wrong), model)
    with pytest.raises(ValueError, match=r"^--data must be 'mnist' or a path to a .npz file"):
        checkup.load_data(str(tmp_path / "none.npz"), model)
