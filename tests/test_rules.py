"""Comparisons against practical margins, Holm families, shown intervals and argmax with a test."""

from __future__ import annotations

import itertools
import math

import pytest

from casekit.claims import rules
from casekit.lab import stats

M = rules.ACCURACY.value


def _est(mean: float, half: float, n: int = 5) -> stats.Estimate:
    return stats.Estimate(mean, half, n)


@pytest.mark.parametrize(
    ("mean", "half", "outcome"),
    [
        (0.02, 0.005, "above"),  # interval [1.5, 2.5] pp above +0.5 pp
        (-0.02, 0.005, "below"),
        (0.0, 0.002, "equivalent"),  # [-0.2, 0.2] pp inside ±0.5 pp
        (0.0, 0.009, "inconclusive"),  # straddles both margins
        (0.008, 0.005, "inconclusive"),  # above zero but not clearly above the margin
        (0.004, 0.002, "inconclusive"),  # inside, but its interval crosses +0.5 pp
    ],
)
def test_every_outcome_is_reachable_and_matches_the_interval(mean: float, half: float, outcome: str) -> None:
    compared = rules.compare("x", _est(mean, half), rules.ACCURACY)
    assert compared.outcome == outcome
    low, high = compared.interval.low, compared.interval.high
    expected = {
        "above": low > M,
        "below": high < -M,
        "equivalent": -M < low and high < M,
    }
    for name, holds in expected.items():
        assert holds == (compared.outcome == name), (name, low, high)


def test_a_ratio_is_read_against_one() -> None:
    assert rules.compare("shift", _est(2.3, 0.1), rules.RATIO, reference=1.0).outcome == "above"
    assert rules.compare("fit", _est(1.0, 0.01), rules.RATIO, reference=1.0).outcome == "equivalent"


def test_holm_widens_the_intervals_and_the_shown_interval_agrees_with_the_outcome() -> None:
    estimates = {
        "a": _est(0.030, 0.010),
        "b": _est(0.012, 0.006),  # alone above the margin; with three in the family it is not
        "c": _est(0.000, 0.010),
    }
    alone = rules.compare("b", estimates["b"], rules.ACCURACY)
    assert alone.outcome == "above" and alone.confidence == pytest.approx(0.95)
    family = rules.family(estimates, rules.ACCURACY)
    assert family["a"].outcome == "above" and family["a"].confidence == pytest.approx(1 - 0.05 / 3)
    assert family["b"].outcome == "inconclusive" and family["b"].confidence == pytest.approx(1 - 0.05 / 2)
    assert family["b"].interval.low < M  # the wider interval shown crosses the margin
    assert all(c.family_size == 3 for c in family.values())


def test_the_holm_outcome_always_matches_its_shown_interval() -> None:
    grid = [(m / 1000, h / 1000) for m in range(-25, 26, 5) for h in (2, 5, 9)]
    for triple in itertools.islice(itertools.combinations(grid, 3), 0, None, 97):
        family = rules.family({str(i): _est(m, h) for i, (m, h) in enumerate(triple)}, rules.ACCURACY)
        for compared in family.values():
            low, high = compared.interval.low, compared.interval.high
            beyond = {"above": low > M, "below": high < -M, "equivalent": -M < low and high < M}
            if compared.outcome == "inconclusive":
                assert not any(beyond.values())
            else:
                assert beyond[compared.outcome]


def test_power_is_that_of_the_test_the_comparison_runs() -> None:
    values = [0.001, -0.004, 0.006, -0.002, 0.003]
    inside = rules.compare("x", stats.mean_ci(values), rules.ACCURACY)  # mean inside the margin
    sd = stats.mean_ci(values).standard_error * math.sqrt(5)
    assert inside.sd == pytest.approx(sd)
    assert inside.power == pytest.approx(stats.power_of_equivalence(sd, 5, M))
    beyond = rules.compare("y", stats.mean_ci([v + 0.02 for v in values]), rules.ACCURACY)
    assert beyond.power == pytest.approx(stats.power_beyond_margin(sd, 5, M))
    assert inside.seeds_needed == beyond.seeds_needed == stats.seeds_for_power(sd, M)
    record = inside.record()
    assert record["margin"] == M and record["n"] == 5 and len(record["interval"]) == 2


def test_a_decision_records_its_comparison_and_its_distance() -> None:
    decided = rules.compare("x", _est(0.08, 0.005), rules.ACCURACY, regime="r").decided()
    assert decided == "above" and decided.part["comparison"]["regime"] == "r"
    assert decided.distance > 0 and not decided.fragile


def test_best_needs_a_lead_beyond_the_margin_over_the_runner_up() -> None:
    clear = rules.best(
        {"a": [0.95, 0.951, 0.949, 0.95], "b": [0.93, 0.931, 0.929, 0.93], "c": [0.90] * 4}, rules.ACCURACY
    )
    assert clear.winner == "a" and clear.words() == "a"
    tied = rules.best(
        {
            "a": [0.950, 0.952, 0.949, 0.951],
            "b": [0.949, 0.951, 0.950, 0.950],
            "c": [0.90, 0.901, 0.899, 0.90],
        },
        rules.ACCURACY,
    )
    assert tied.winner is None and tied.tied == ("a", "b") and tied.words() == "not separated: a, b"
    assert tied.top == "a"


def test_an_empty_family_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^a family needs at least one comparison$"):
        rules.family({}, rules.ACCURACY)
