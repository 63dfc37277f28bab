from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats as scipy_stats

from casekit.lab import stats


def test_mean_ci_matches_the_t_interval() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    estimate = stats.mean_ci(values)
    expected = scipy_stats.t.ppf(0.975, 4) * scipy_stats.sem(values)
    assert estimate.mean == 3.0 and estimate.n == 5
    assert estimate.half_width == pytest.approx(expected, rel=1e-12)
    assert estimate.low == pytest.approx(3.0 - expected) and estimate.excludes_zero()


def test_single_value_has_an_infinite_interval() -> None:
    assert math.isinf(stats.mean_ci([0.5]).half_width)


@pytest.mark.parametrize(
    ("values", "confidence", "message"),
    [([], 0.95, "at least one value"), ([1, 2], 1.0, "confidence must be in")],
)
def test_mean_ci_rejects_bad_input(values: list[float], confidence: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stats.mean_ci(values, confidence)


@pytest.mark.parametrize(
    ("half", "decimals"), [(3.4, 0), (0.34, 1), (0.034, 2), (0.0009, 4), (25.0, 0), (0.0, 3), (1e-12, 3)]
)
def test_decimals_follow_the_interval(half: float, decimals: int) -> None:
    assert stats.decimals_for(half) == decimals


def test_format_rounds_to_the_interval() -> None:
    assert stats.Estimate(0.97123, 0.0031, 5).format(100, "%") == "97.1 ± 0.3%"
    assert stats.Estimate(0.2, 0.0, 5).format() == "0.200 ± 0.000"
    assert stats.Estimate(-0.0004, 0.01, 5).format(100, " pp") == "0 ± 1 pp"


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "config": ["a"] * 3 + ["b"] * 3,
            "seed": [0, 1, 2, 0, 1, 2],
            "score": [1.0, 2.0, 3.0, 1.5, 2.4, 3.6],
        }
    )


def test_summarize_gives_one_row_per_group() -> None:
    summary = stats.summarize(_frame(), "config", ["score"])
    assert summary["config"].tolist() == ["a", "b"]
    assert summary["score_mean"].tolist() == pytest.approx([2.0, 2.5])
    assert summary["n"].tolist() == [3, 3]


def test_paired_difference_pairs_by_seed() -> None:
    diff = stats.paired_difference(_frame(), "score", "b", "a")
    assert diff.mean == pytest.approx(0.5) and diff.n == 3
    expected = scipy_stats.t.ppf(0.975, 2) * scipy_stats.sem([0.5, 0.4, 0.6])
    assert diff.half_width == pytest.approx(expected)


def test_paired_difference_names_a_missing_config() -> None:
    with pytest.raises(ValueError, match="no rows with config == 'c'"):
        stats.paired_difference(_frame(), "score", "a", "c")


def test_estimate_filters_rows() -> None:
    assert stats.estimate(_frame(), "score", config="b").mean == pytest.approx(2.5)
    with pytest.raises(ValueError, match="no rows match"):
        stats.estimate(_frame(), "score", config="z")


def test_holm_adjusts_in_step_down_order() -> None:
    assert stats.holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert stats.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])


def test_one_sided_p_values_agree_with_the_interval() -> None:
    estimate = stats.mean_ci([1.0, 1.2, 0.9, 1.1, 1.05])
    assert stats.p_above(estimate, estimate.low) == pytest.approx(0.025)
    assert stats.p_below(estimate, estimate.high) == pytest.approx(0.025)
    wider = stats.at_confidence(estimate, 0.99)
    assert wider.mean == estimate.mean and wider.half_width > estimate.half_width


def test_seeds_for_power_detects_one_margin_and_shows_equivalence() -> None:
    n = stats.seeds_for_power(0.0059, 0.005)
    assert n == 17
    assert stats.power_beyond_margin(0.0059, n, 0.005) >= 0.8  # beyond the margin alone needs 13
    assert stats.power_beyond_margin(0.0059, 12, 0.005) < 0.8
    assert (
        stats.power_of_equivalence(0.0059, n, 0.005) >= 0.8 > stats.power_of_equivalence(0.0059, n - 1, 0.005)
    )
    assert stats.seeds_for_power(1.0, 0.001) == stats.MAX_POWER_SEEDS
    with pytest.raises(ValueError, match=r"^margin must be > 0; got 0$"):
        stats.seeds_for_power(1.0, 0)
