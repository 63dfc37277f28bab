"""The replica path must give what separate plain-Keras runs give."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from casekit import data, models, replicas, training
from casekit._runtime import enable_determinism, keras_module


def _plain_run(
    placement: tuple[str, ...], rate: float, seed: int, dataset: data.Dataset, epochs: int, shuffle: bool
) -> tuple[Any, dict[str, list[float]]]:
    keras = keras_module()
    keras.backend.clear_session()
    enable_determinism(seed)
    model = models.build(placement, rate=rate)
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=epochs,
        batch_size=32,
        shuffle=shuffle,
        validation_data=(dataset.x_test, dataset.y_test),
        verbose=0,
    ).history
    return model, history


def test_replicas_start_from_the_single_run_weights(tiny: data.Dataset) -> None:
    placement = ("dense_relu", "dropout", "bn")
    wide = replicas.build(placement, [replicas.Replica(0.3, 4), replicas.Replica(0.5, 9)])
    enable_determinism(9)
    single = models.build(placement, rate=0.5)
    for a, b in zip(replicas.member(wide, 1).get_weights(), single.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_randomness_replicas_follow_the_single_run_trajectories(tiny: data.Dataset) -> None:
    """No dropout and no shuffling: nothing random differs, so each replica must retrace
    its single run; only floating-point summation order differs (batched products)."""
    placement = ("dense", "bn", "relu")
    seeds = (0, 1, 2)
    wide, frames = replicas.fit(
        placement, [replicas.Replica(0.0, s) for s in seeds], tiny, epochs=2, shuffle=False
    )
    for index, seed in enumerate(seeds):
        model, history = _plain_run(placement, 0.0, seed, tiny, epochs=2, shuffle=False)
        for column in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(frames[index][column], history[column], rtol=1e-4, atol=1e-5)
        for a, b in zip(replicas.member(wide, index).get_weights(), model.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, atol=2e-3)


@pytest.mark.slow
def test_replicated_final_metrics_are_statistically_equivalent_to_separate_runs(mnist: data.Dataset) -> None:
    """Different masks and batch order, same distribution: test accuracy over 6 seeds of
    Example 2 agrees within 1 percentage point (two one-sided t-tests at 5%)."""
    dataset = mnist.limit(1500)
    seeds = tuple(range(6))
    spec = {"ex2": models.Spec(models.EXAMPLE_2, 0.5)}
    fast = training.run_replicated(spec, dataset, seeds=seeds, epochs=3).final["test_accuracy"]
    plain = training.run_grid({"ex2": spec["ex2"].build}, dataset, seeds=seeds, epochs=3).final[
        "test_accuracy"
    ]
    margin = 0.01
    difference = fast.mean() - plain.mean()
    se = np.sqrt(fast.var(ddof=1) / len(fast) + plain.var(ddof=1) / len(plain))
    dof = len(fast) + len(plain) - 2
    p_lower = 1 - scipy_stats.t.cdf((difference + margin) / se, dof)
    p_upper = scipy_stats.t.cdf((difference - margin) / se, dof)
    assert max(p_lower, p_upper) < 0.05, (difference, se)


def test_run_replicated_has_the_run_grid_columns(tiny: data.Dataset) -> None:
    configs = {
        "a": models.Spec(models.EXAMPLE_1, 0.5),
        "b": models.Spec(models.EXAMPLE_1, 0.2),
        "c": models.Spec(("dense_relu", "bn")),
    }
    results = training.run_replicated(configs, tiny, seeds=[0, 1], epochs=1)
    grid = training.run_grid({"a": configs["a"].build}, tiny, seeds=[0], epochs=1)
    settings = ["placement", "depth", "rate", "width"]
    assert list(results.final.columns) == ["config", "seed", *settings, *grid.final.columns[2:]]
    assert list(results.history.columns) == ["config", "seed", *settings, *grid.history.columns[2:]]
    # each run carries the settings it was trained with, so no chapter parses a config's name
    by_config = results.final.drop_duplicates("config").set_index("config")[settings]
    assert list(by_config.loc["a"]) == ["dense_relu → dropout → bn", 1, 0.5, 64]
    assert by_config.loc["b", "rate"] == 0.2
    assert by_config.loc["c", "rate"] == 0.0  # no Dropout layer: rate 0, whatever the Spec says
    assert results.final[["config", "seed"]].values.tolist() == [
        ["a", 0],
        ["a", 1],
        ["b", 0],
        ["b", 1],
        ["c", 0],
        ["c", 1],
    ]


def test_member_carries_trained_batchnorm_statistics(tiny: data.Dataset) -> None:
    wide, _ = replicas.fit(
        models.EXAMPLE_1, [replicas.Replica(0.5, 0), replicas.Replica(0.5, 1)], tiny, epochs=1
    )
    member = replicas.member(wide, 1)
    metrics = replicas.evaluate(wide, tiny)[1]
    loss, accuracy = member.evaluate(tiny.x_test, tiny.y_test, verbose=0)
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert loss == pytest.approx(metrics["test_loss"], rel=1e-4)


@pytest.mark.parametrize(
    ("placement", "message"), [(("dense", "dropout:0.2"), "take their rate and width from the replicas")]
)
def test_inline_settings_are_rejected(placement: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replicas.build(placement, [replicas.Replica(0.5, 0)])


def test_empty_inputs_are_rejected(tiny: data.Dataset) -> None:
    with pytest.raises(ValueError, match="replicas must list at least one"):
        replicas.fit(models.EXAMPLE_2, [], tiny, epochs=1)
    with pytest.raises(ValueError, match="configs must name at least one model spec"):
        training.run_replicated({}, tiny, seeds=[0], epochs=1)
