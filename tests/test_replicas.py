"""The replica path must give what separate plain-Keras runs give."""

from __future__ import annotations

import crosspath
import numpy as np
import pytest
from scipy import stats as scipy_stats

from casekit._runtime import enable_determinism, keras_module
from casekit.lab import convnets, data, models, replicas, training


def test_replicas_start_from_the_single_run_weights(tiny: data.Dataset) -> None:
    placement = ("dense_relu", "dropout", "bn")
    wide = replicas.build(placement, [replicas.Replica(0.3, 4), replicas.Replica(0.5, 9)])
    enable_determinism(9)
    single = models.build(placement, rate=0.5)
    for a, b in zip(replicas.member(wide, 1).get_weights(), single.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_randomness_replicas_follow_the_single_run_trajectories(tiny: data.Dataset) -> None:
    """No dropout and no shuffling: nothing random differs, so each replica must retrace
    its single run up to summation order (batched products), within the tolerances that
    tests/crosspath.py derives from four float paths; another seed's run lies far outside."""
    gap, mutant = crosspath.replicas_vs_plain(tiny)
    assert gap.within(), gap
    assert mutant.beyond(), mutant


def test_stacked_runs_follow_their_single_run_trajectories(tiny: data.Dataset) -> None:
    """A stack (the conv chapter's way of training runs side by side) holds each run's own
    model: without dropout and shuffling each must retrace its plain single run within the
    cross-path tolerances; another seed's run lies far outside."""
    gap, mutant = crosspath.stacked_vs_plain(tiny)
    assert gap.within(), gap
    assert mutant.beyond(), mutant


def test_a_stacked_run_starts_as_its_single_run_and_is_its_own_model(tiny: data.Dataset) -> None:
    spec = convnets.ConvSpec(2, "spatial", "before", 0.5)
    wide = replicas.stack([spec.build, convnets.ConvSpec(2).build], [3, 4], images=tiny.x_train)
    enable_determinism(3)
    single = spec.build()
    for a, b in zip(replicas.member(wide, 0).get_weights(), single.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert replicas.member(wide, 1).name == "conv_2" and wide.seeds == (3, 4)
    with pytest.raises(
        ValueError, match="stack needs one seed per model and at least one model; got 2 models and 1 seeds"
    ):
        replicas.stack([spec.build, spec.build], [0])

    def functional() -> object:
        keras = keras_module()
        inputs = keras.Input((784,))
        return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(inputs))

    with pytest.raises(ValueError, match=r"stack needs keras\.Sequential models .*; got Functional$"):
        replicas.stack([functional], [0])


def test_per_epoch_validation_is_evaluate_s_numbers(tiny: data.Dataset) -> None:
    """The one-batch validation shortcut gives exactly ``evaluate``'s numbers, whatever the
    model's metrics held before (another split first: nothing carries over)."""
    wide, _ = replicas.fit(models.EXAMPLE_1, [replicas.Replica(0.5, s) for s in (0, 1)], tiny, epochs=1)
    assert len(tiny.x_val) <= replicas.EVAL_BATCH_SIZE
    on_test = replicas._validate(wide, tiny.x_test, tiny.y_test)
    shortcut = replicas._validate(wide, tiny.x_val, tiny.y_val)
    assert shortcut == replicas._evaluate(wide, tiny.x_val, tiny.y_val)
    assert on_test == replicas._evaluate(wide, tiny.x_test, tiny.y_test) != shortcut


def test_batch_orders_are_per_seed_permutations() -> None:
    seeds = [0, 0, 1]  # two replicas with one seed (two rates), one with another
    first, second = (replicas.batch_orders(seeds, 50, epoch) for epoch in (0, 1))
    assert first.shape == (50, 3) and first.dtype == np.int32
    for column in (*first.T, *second.T):
        assert sorted(column) == list(range(50))
    np.testing.assert_array_equal(first[:, 0], first[:, 1])  # one seed, one order (paired by seed)
    assert (first[:, 0] != first[:, 2]).any()  # another seed, another order
    assert (first[:, 0] != second[:, 0]).any()  # another epoch, another order
    np.testing.assert_array_equal(replicas.batch_orders(seeds, 50, 0), first)  # reproducible
    unshuffled = replicas.batch_orders(seeds, 50, 0, shuffle=False)
    np.testing.assert_array_equal(unshuffled, np.tile(np.arange(50)[:, None], (1, 3)))


def test_a_replica_trains_on_its_own_order_whatever_its_neighbours(tiny: data.Dataset) -> None:
    """Without dropout only the batch order is random: replica seed 5 must follow the same
    trajectory alone as beside seeds 0 and 9, up to summation order; its neighbour's
    trajectory (another batch order) lies far outside the same tolerances."""
    gap, mutant = crosspath.alone_vs_beside_others(tiny)
    assert gap.within(), gap
    assert mutant.beyond(), mutant


#: Seeds per path in the equivalence tests below: enough for the spread test to pass with
#: probability 0.95 when the two spreads are equal (see _spread_equivalence_power).
EQUIVALENCE_SEEDS = 40
#: The spread margin: seed-to-seed standard deviations within a factor of 1.8 of each other.
SPREAD_MARGIN = 1.8


@pytest.fixture(scope="module")
def replicated_and_separate(mnist: data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Final test accuracy of Example 2 (rate 0.5, 1,000 digits, 3 epochs) over the same
    seeds, trained as replicas of one wide model and as separate plain-Keras runs."""
    dataset = mnist.limit(1000)
    seeds = tuple(range(EQUIVALENCE_SEEDS))
    spec = {"ex2": models.Spec(models.EXAMPLE_2, 0.5)}
    fast = training.run_replicated(spec, dataset, seeds=seeds, epochs=3, progress=False)
    plain = training.run_grid({"ex2": spec["ex2"].build}, dataset, seeds=seeds, epochs=3, progress=False)
    return fast.final["test_accuracy"].to_numpy(), plain.final["test_accuracy"].to_numpy()


def _variance_ratio_interval(a: np.ndarray, b: np.ndarray, level: float = 0.90) -> tuple[float, float]:
    """The ``level`` confidence interval of var(a) / var(b) for normal samples (F test)."""
    dfa, dfb = len(a) - 1, len(b) - 1
    ratio = a.var(ddof=1) / b.var(ddof=1)
    tail = (1 - level) / 2
    return (
        ratio / scipy_stats.f.ppf(1 - tail, dfa, dfb),
        ratio / scipy_stats.f.ppf(tail, dfa, dfb),
    )


def _spread_equivalence_power(n: int, margin: float, level: float = 0.90) -> float:
    """P(the interval of the variance ratio lies inside [1/margin², margin²]) for equal
    true spreads and n values per path: the test's chance of passing when it should."""
    upper, lower = (
        scipy_stats.f.ppf(1 - (1 - level) / 2, n - 1, n - 1),
        scipy_stats.f.ppf((1 - level) / 2, n - 1, n - 1),
    )
    # pass iff margin**-2 * upper < F_obs < margin**2 * lower, F_obs ~ F(n - 1, n - 1)
    distribution = scipy_stats.f(n - 1, n - 1)
    return float(distribution.cdf(margin**2 * lower) - distribution.cdf(upper / margin**2))


def test_the_spread_test_has_power() -> None:
    assert _spread_equivalence_power(EQUIVALENCE_SEEDS, SPREAD_MARGIN) >= 0.9
    assert _spread_equivalence_power(6, SPREAD_MARGIN) < 0.1  # why not 6 seeds


@pytest.mark.slow
def test_replicated_final_accuracy_has_the_mean_of_separate_runs(
    replicated_and_separate: tuple[np.ndarray, np.ndarray],
) -> None:
    """Different masks and batch orders, same distribution: the mean test accuracy agrees
    within 1 percentage point (two one-sided t-tests at 5%)."""
    fast, plain = replicated_and_separate
    margin = 0.01
    difference = fast.mean() - plain.mean()
    se = np.sqrt(fast.var(ddof=1) / len(fast) + plain.var(ddof=1) / len(plain))
    dof = len(fast) + len(plain) - 2
    p_lower = 1 - scipy_stats.t.cdf((difference + margin) / se, dof)
    p_upper = scipy_stats.t.cdf((difference - margin) / se, dof)
    assert max(p_lower, p_upper) < 0.05, (difference, se)


@pytest.mark.slow
def test_replicated_final_accuracy_has_the_spread_of_separate_runs(
    replicated_and_separate: tuple[np.ndarray, np.ndarray],
) -> None:
    """The book's intervals rest on the seed-to-seed spread, so the replicas must vary as
    much as separate runs: the 90% interval of the ratio of their standard deviations
    lies within [1/1.8, 1.8] (equivalence by two one-sided F tests at 5%)."""
    fast, plain = replicated_and_separate
    low, high = _variance_ratio_interval(fast, plain)
    assert SPREAD_MARGIN**-2 < low and high < SPREAD_MARGIN**2, (
        fast.std(ddof=1),
        plain.std(ddof=1),
        np.sqrt(low),
        np.sqrt(high),
    )


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
    """The extracted member scores what the wide model reports for its replica (test loss
    within the cross-path tolerance, accuracy within the digit allowance), and not what
    it reports for the other replica."""
    gap, mutant = crosspath.wide_vs_member(tiny)
    assert gap.within(), gap
    assert mutant.beyond(), mutant


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
