"""``casekit diagnose MODEL.keras``: static and measured findings on saved models, clean errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import casekit

from casekit import cli
from casekit._runtime import keras_module
from casekit.checks import checkup, diagnosis
from casekit.checks.diagnosis import Finding
from casekit.lab import data, models, training


def _saved(model: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.keras"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, mnist: data.Dataset) -> dict[str, Path]:
    """The three article models, a Functional model with a nested Dropout -> BatchNormalization
    block and a model whose Dropout reaches BatchNormalization through a Dense layer, trained
    3 epochs on 3,000 digits (enough steps for BN's moving averages to settle), saved as
    .keras files."""
    folder = tmp_path_factory.mktemp("models")
    small = mnist
    paths = {}
    for name, build in (
        ("example_1", lambda: models.example_1(0.5)),
        ("example_2", lambda: models.example_2(0.5)),
        ("example_3", lambda: models.example_3(0.8)),
        ("through_dense", lambda: models.build(("dense_relu", "dropout", "dense", "bn", "relu"))),
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
    return [f.code for f in result.findings]


def _one(result: checkup.Checkup, code: str) -> Finding:
    (finding,) = [f for f in result.findings if f.code == code]
    return finding


# -- measured findings ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["example_1", "nested"])
def test_dropout_before_batchnorm_is_found_and_measured(saved: dict[str, Path], name: str) -> None:
    model = checkup.load_model(saved[name])
    result = checkup.check(model, name, checkup.load_data("mnist", model))
    # the traced finding carries the measurement; no second finding repeats it
    assert _codes(result) == ["dropout-feeds-batchnorm", "mc-dropout-moves-batchnorm"]
    finding = _one(result, "dropout-feeds-batchnorm")
    assert finding.measured is not None and finding.measured > checkup.SHIFT_THRESHOLD
    assert finding.severity == "warning" and "above the 1.2 threshold" in finding.explanation
    assert result.shift and result.shift[0]["median_shift"] == finding.measured
    assert all(f.fix for f in result.findings)


def test_the_measured_shift_decides_the_severity_of_a_traced_path(saved: dict[str, Path]) -> None:
    model = checkup.load_model(saved["through_dense"])
    static = _one(checkup.check(model, "through_dense"), "dropout-feeds-batchnorm")
    assert static.severity == "caution" and static.measured is None  # through Dense: caution
    measured = _one(checkup.check(model, "m", checkup.load_data("mnist", model)), "dropout-feeds-batchnorm")
    # Dropout(0.5) on ReLU features through a Dense layer: the shift arrives nearly whole
    # (Var_train = Var_test + (1 - p) / p * sum_i W_ij^2 E[x_i^2]), so the measurement finds it.
    assert measured.measured is not None and measured.measured > checkup.SHIFT_THRESHOLD
    assert measured.severity == "warning" and measured.path == static.path


def _finding(code: str, layers: tuple[str, ...], severity: str = "caution") -> Finding:
    return Finding(code, severity, layers, "text", diagnosis.SECTIONS[code], "fix")


def test_with_measured_shift_at_the_threshold() -> None:
    traced = [
        _finding("dropout-feeds-batchnorm", ("d1", "at")),
        _finding("dropout-feeds-batchnorm", ("d2", "above")),
        _finding("dropout-feeds-batchnorm", ("d3", "unmeasured")),
        _finding("rate-zero", ("d4",), "info"),
    ]
    rows: list[dict[str, Any]] = [
        {"layer": "at", "median_shift": checkup.SHIFT_THRESHOLD},  # not above: info
        {"layer": "above", "median_shift": 1.21},
        {"layer": "untraced", "median_shift": 1.5},  # no path explains it: its own finding
        {"layer": "quiet", "median_shift": 1.0},
        {"layer": "dead", "median_shift": None},  # no unit with a ratio
    ]
    updated = checkup.with_measured_shift(traced, rows)
    assert [(f.code, f.layers[-1], f.severity, f.measured) for f in updated] == [
        ("dropout-feeds-batchnorm", "at", "info", 1.2),
        ("dropout-feeds-batchnorm", "above", "warning", 1.21),
        ("dropout-feeds-batchnorm", "unmeasured", "caution", None),
        ("rate-zero", "d4", "info", None),
        ("measured-variance-shift", "untraced", "warning", 1.5),
    ]


def test_on_feature_maps_the_threshold_is_the_conv_chapter_s() -> None:
    traced = [
        _finding("dropout-feeds-batchnorm", ("d1", "small")),
        _finding("dropout-feeds-batchnorm", ("d2", "costly")),
    ]
    rows: list[dict[str, Any]] = [
        {"layer": "small", "median_shift": 2.0, "feature_maps": True},  # a shift, below the cost
        {"layer": "costly", "median_shift": checkup.CONV_SHIFT_THRESHOLD, "feature_maps": True},
        {"layer": "untraced", "median_shift": 1.5, "feature_maps": True},
        {"layer": "dense", "median_shift": 1.5, "feature_maps": False},
    ]
    updated = checkup.with_measured_shift(traced, rows)
    assert [(f.layers[-1], f.severity) for f in updated] == [
        ("small", "caution"),
        ("costly", "warning"),
        ("untraced", "caution"),
        ("dense", "warning"),
    ]
    assert [f.section for f in updated] == [checkup.CONV_SECTION] * 3 + [
        diagnosis.SECTIONS["measured-variance-shift"]
    ]
    assert "the smallest shift at which chapter 4 measured an accuracy cost" in updated[0].explanation


def test_the_conv_threshold_is_at_or_below_what_chapter_4_measured() -> None:
    """CONV_SHIFT_THRESHOLD comes from the stored chapter: the smallest variance shift at
    which it measured a cost of Dropout before BatchNormalization (rounded down)."""
    from casekit.claims import ledger

    chapter = Path(__file__).parent.parent / "chapters" / "04-conv-nets.ipynb"
    measured = ledger.glued_values(chapter)["conv_warning_shift"]
    assert measured != "none", "chapter 4 measured no cost: diagnose has no conv threshold to take"
    assert checkup.CONV_SHIFT_THRESHOLD <= float(measured) < checkup.CONV_SHIFT_THRESHOLD + 1


def test_a_conv_model_s_shift_is_measured_per_channel_and_linked_to_chapter_4() -> None:
    from casekit.lab import convnets

    model = convnets.ConvSpec(2, "dropout", "before", 0.5).build()
    static = checkup.check(model, "conv")
    feeds = [f for f in static.findings if f.code == "dropout-feeds-batchnorm"]
    assert feeds and all(f.section == checkup.CONV_SECTION for f in feeds)
    x = np.random.default_rng(0).random((256, 784)).astype("float32")
    model.fit(x, np.eye(10, dtype="float32")[np.arange(256) % 10], epochs=1, verbose=0)
    measured = checkup.check(model, "conv", x)
    assert all(row["feature_maps"] for row in measured.shift)


def test_example_2_has_no_shift_but_the_mc_dropout_side_effect(saved: dict[str, Path]) -> None:
    model = checkup.load_model(saved["example_2"])
    result = checkup.check(model, "example_2", checkup.load_data("mnist", model))
    assert _codes(result) == ["mc-dropout-moves-batchnorm"]
    assert result.shift[0]["median_shift"] < checkup.SHIFT_THRESHOLD
    assert _one(result, "mc-dropout-moves-batchnorm").section.endswith("#symptom-mc-dropout")


def test_measuring_leaves_the_model_unchanged(saved: dict[str, Path]) -> None:
    model = checkup.load_model(saved["example_1"])
    before = [np.array(w) for w in model.get_weights()]
    checkup.check(model, "example_1", checkup.load_data("mnist", model))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_without_data_only_static_findings(saved: dict[str, Path]) -> None:
    result = checkup.check(checkup.load_model(saved["example_3"]), "example_3")
    assert _codes(result) == ["high-rate-narrow-layer"] and result.shift == ()
    assert result.mc_dropout_moves_batchnorm is None


# -- the size limit for --data ----------------------------------------------------------------


def test_a_model_too_large_to_measure_says_so() -> None:
    keras = keras_module()
    model = keras.applications.ResNet50(weights=None)  # 224x224 inputs: about 141 MiB per sample
    x = np.zeros((4, 224, 224, 3), dtype=np.float32)
    per_sample = checkup.bytes_per_sample(model, x)
    assert 100 * 1024**2 < per_sample < 200 * 1024**2
    with pytest.raises(
        ValueError, match=r"^the model is too large for --data: its layer outputs take 14\d MiB"
    ):
        checkup.check(model, "resnet50", x)
    assert checkup.check(model, "resnet50").findings == ()  # the static checks still run


def test_the_measurement_batch_fits_the_memory_limit(saved: dict[str, Path]) -> None:
    model = checkup.load_model(saved["example_1"])
    x = checkup.load_data("mnist", model)
    per_sample = checkup.bytes_per_sample(model, x)
    # Dense(64) -> Dropout -> BN -> Dense(10): 64 + 64 + 64 + 10 float32 outputs per sample
    assert per_sample == (64 * 3 + 10) * 4
    assert checkup.measurement_batch(model, x) == checkup.MAX_BATCH
    assert checkup.measurement_batch(model, x, memory_limit=per_sample * 50) == 50
    with pytest.raises(ValueError, match=r"^the model is too large for --data: .* over the 0 MiB limit; run"):
        checkup.measurement_batch(model, x, memory_limit=per_sample * (checkup.MIN_BATCH - 1))


# -- the rows of the table in the README's "Check your own model" ------------------------------


def _row(model: Any, folder: Path) -> checkup.Checkup:
    """Save, load and check, as `casekit diagnose FILE` does."""
    path = _saved(model, folder, model.name)
    return checkup.check(checkup.load_model(path), path.name)


def test_row_conv_dropout_conv(tmp_path: Path) -> None:
    keras = keras_module()
    layers = keras.layers
    model = keras.Sequential(
        [keras.Input((16, 16, 3)), layers.Conv2D(8, 3), layers.Dropout(0.3), layers.Conv2D(8, 3)],
        name="conv_dropout_conv",
    )
    result = _row(model, tmp_path)
    # plain Dropout on 4-D conv maps: SpatialDropout2D drops whole channels (chapter 00, 8)
    finding = _one(result, "dropout-on-feature-maps")
    assert _codes(result) == ["dropout-on-feature-maps"]
    assert finding.severity == diagnosis.FEATURE_MAP_SEVERITY
    assert finding.fix.startswith("try SpatialDropout2D(0.3)")


def test_row_lstm_recurrent_dropout(tmp_path: Path) -> None:
    keras = keras_module()
    model = keras.Sequential(
        [keras.Input((10, 4)), keras.layers.LSTM(16, recurrent_dropout=0.2)], name="lstm"
    )
    result = _row(model, tmp_path)
    # recurrent_dropout rules out the cuDNN kernel (chapter 00, 9)
    assert _codes(result) == ["recurrent-dropout-no-cudnn"]
    assert _one(result, "recurrent-dropout-no-cudnn").section.endswith("#symptom-recurrent")


def test_row_residual_block(tmp_path: Path) -> None:
    keras = keras_module()
    layers = keras.layers
    inputs = keras.Input((8, 8, 16))
    x = layers.Conv2D(16, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.3, name="drop")(x)
    x = layers.Add(name="add")([x, inputs])
    x = layers.Conv2D(16, 3, padding="same", name="conv")(x)
    outputs = layers.BatchNormalization(name="bn")(x)
    result = _row(keras.Model(inputs, outputs, name="residual"), tmp_path)
    # Dropout reaches the second BN through Add and Conv2D: linear, the shift still applies
    feeds = _one(result, "dropout-feeds-batchnorm")
    assert feeds.path == ("drop", "add", "conv", "bn") and feeds.severity == "caution"
    # and it is plain Dropout on 4-D feature maps
    assert sorted(_codes(result)) == ["dropout-feeds-batchnorm", "dropout-on-feature-maps"]


def test_row_efficientnet_b0(tmp_path: Path) -> None:
    keras = keras_module()
    result = _row(keras.applications.EfficientNetB0(weights=None, input_shape=(32, 32, 3)), tmp_path)
    # each stochastic-depth Dropout (noise_shape set) reaches the next block's expand BN
    # through Add and Conv2D: nine cautions, nothing else
    assert _codes(result) == ["dropout-feeds-batchnorm"] * 9
    assert {f.severity for f in result.findings} == {"caution"}
    assert ("block2b_drop", "block2b_add", "block3a_expand_conv", "block3a_expand_bn") in {
        f.path for f in result.findings
    }


def test_row_spatial_dropout_into_batchnorm(tmp_path: Path) -> None:
    keras = keras_module()
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            layers.Conv2D(8, 3),
            layers.SpatialDropout2D(0.3),
            layers.BatchNormalization(),
        ],
        name="spatial_bn",
    )
    result = _row(model, tmp_path)
    # the direct case keeps its one finding: SpatialDropout2D is not plain Dropout
    assert _codes(result) == ["dropout-feeds-batchnorm"]
    assert result.findings[0].severity == "warning"


def test_row_keep_prob_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keras = keras_module()
    model = keras.Sequential(
        [keras.Input((32,)), keras.layers.Dense(128), keras.layers.Dropout(0.9, name="drop")],
        name="keep_prob",
    )
    path = _saved(model, tmp_path, "keep_prob")
    result = checkup.check(checkup.load_model(path), path.name)
    # 0.9 on 128 units: underfitting, and perhaps TF1's keep_prob=0.9 meant rate 0.1 (chapter 00, 5)
    assert _codes(result) == ["high-rate-narrow-layer"]
    assert "TF1's keep_prob" in result.findings[0].fix
    assert cli.main(["diagnose", str(path)]) == 1
    text = capsys.readouterr().out
    assert text.splitlines()[:3] == [
        "casekit diagnose keep_prob.keras: 1 finding (1 warning)",
        "warning (1):",
        "  high-rate-narrow-layer: drop",
    ]
    assert "the Keras rate is 0.1" in text
    assert cli.main(["diagnose", str(path), "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["counts"] == {"warning": 1}
    assert record["findings"] == [result.findings[0].to_json()]


def test_findings_are_grouped_by_severity_in_the_text() -> None:
    findings = (
        _finding("dropout-feeds-batchnorm", ("d", "bn"), "warning"),
        _finding("dropout-on-feature-maps", ("d",), "caution"),
        _finding("rate-zero", ("z",), "info"),
    )
    lines = str(checkup.Checkup("m.keras", findings)).splitlines()
    assert lines[0] == "casekit diagnose m.keras: 3 findings (1 warning, 1 caution, 1 info)"
    assert [line for line in lines if not line.startswith(" ")] == [
        lines[0],
        "warning (1):",
        "caution (1):",
        "info (1):",
    ]
    assert "      see: chapters/04-conv-nets#conv-spatial" in lines


def test_a_model_too_large_for_data_is_a_one_line_error_on_the_command_line(
    saved: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(checkup, "MEMORY_LIMIT", 1024)
    assert cli.main(["diagnose", str(saved["example_1"]), "--data", "mnist"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("casekit: error: the model is too large for --data:")
    assert error.count("\n") == 1


# -- the command line and bad input -----------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return casekit("diagnose", *args, timeout=300)


@pytest.mark.slow
def test_command_line_exit_codes_and_json(saved: dict[str, Path], tmp_path: Path) -> None:
    found = _cli(str(saved["example_1"]), "--data", "mnist", "--json")
    assert found.returncode == 1, found.stderr[-2000:]
    record = json.loads(found.stdout)
    (feeds,) = [f for f in record["findings"] if f["code"] == "dropout-feeds-batchnorm"]
    assert feeds["measured"] > checkup.SHIFT_THRESHOLD and feeds["severity"] == "warning"
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
