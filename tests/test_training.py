from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casekit.lab import data, models, training


def _example_2() -> object:
    return models.example_2()


def test_same_seed_gives_identical_runs(tiny: data.Dataset) -> None:
    first, history_a = training.fit(_example_2, tiny, seed=3, epochs=2)
    second, history_b = training.fit(_example_2, tiny, seed=3, epochs=2)
    pd.testing.assert_frame_equal(history_a, history_b)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_runs(tiny: data.Dataset) -> None:
    _, history_a = training.fit(_example_2, tiny, seed=0, epochs=1)
    _, history_b = training.fit(_example_2, tiny, seed=1, epochs=1)
    assert history_a["loss"].iloc[0] != history_b["loss"].iloc[0]


def test_run_grid_returns_tidy_frames_and_probe_output(tiny: data.Dataset) -> None:
    def probe(model: object, dataset: data.Dataset) -> dict[str, object]:
        return {"n_layers": len(model.layers), "table": pd.DataFrame({"x": [1, 2]})}  # type: ignore[attr-defined]

    results = training.run_grid(
        {"ex1": models.example_1, "ex2": _example_2}, tiny, seeds=[0, 1], epochs=2, probe=probe
    )
    assert list(results.history.columns[:3]) == ["config", "seed", "epoch"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(results.history.columns)
    assert len(results.history) == 2 * 2 * 2
    assert results.final[["config", "seed"]].values.tolist() == [
        ["ex1", 0],
        ["ex1", 1],
        ["ex2", 0],
        ["ex2", 1],
    ]
    assert results.final["n_layers"].tolist() == [4, 4, 5, 5]
    assert len(results.tables["table"]) == 8 and {"config", "seed"} <= set(results.tables["table"].columns)
    assert ((results.final["test_accuracy"] >= 0) & (results.final["test_accuracy"] <= 1)).all()
    assert list(results.final.columns[:8]) == [
        "config",
        "seed",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
    ]


def test_per_epoch_validation_is_the_validation_split(tiny: data.Dataset) -> None:
    model, history = training.fit(_example_2, tiny, seed=0, epochs=1)
    final = training.evaluate(model, tiny)
    assert history["val_loss"].iloc[-1] == pytest.approx(final["val_loss"], rel=1e-5)
    assert history["val_accuracy"].iloc[-1] == pytest.approx(final["val_accuracy"])
    assert final["val_loss"] != pytest.approx(final["test_loss"], rel=1e-5)


def test_evaluate_reports_inference_mode_metrics(tiny: data.Dataset) -> None:
    model, _ = training.fit(_example_2, tiny, seed=0, epochs=1)
    first = training.evaluate(model, tiny)
    assert list(first) == [
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
    ]
    assert training.evaluate(model, tiny) == first  # no dropout at inference: repeatable


def test_run_grid_rejects_empty_inputs(tiny: data.Dataset) -> None:
    with pytest.raises(ValueError, match="configs must name at least one"):
        training.run_grid({}, tiny, seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="seeds must list at least one"):
        training.run_grid({"a": _example_2}, tiny, seeds=[], epochs=1)
    # a repeated seed is the same run twice, which would count as two in every statistic
    for run in (training.run_grid, training.run_stacked):
        with pytest.raises(ValueError, match=r"^seeds must be distinct; \[1\] repeated$"):
            run({"a": _example_2}, tiny, seeds=[1, 2, 1], epochs=1)
    with pytest.raises(ValueError, match=r"^seeds must be distinct; \[0\] repeated$"):
        training.run_replicated({"a": models.EXAMPLE_2}, tiny, seeds=[0, 0], epochs=1)


def test_steps_per_execution_changes_speed_not_results(tiny: data.Dataset) -> None:
    fast, history_fast = training.fit(_example_2, tiny, seed=5, epochs=2, steps_per_execution=8)
    plain, history_plain = training.fit(_example_2, tiny, seed=5, epochs=2, steps_per_execution=1)
    pd.testing.assert_frame_equal(history_fast, history_plain)
    for a, b in zip(fast.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
