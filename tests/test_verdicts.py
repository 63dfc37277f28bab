"""Every claim's verdict rule, its boundaries, and how fragility passes from conditions to verdicts."""

from __future__ import annotations

import pytest

from casekit import evidence, stats, verdicts


def robust(holds: bool) -> evidence.Decided:
    return evidence.condition(holds, "robust", stats.Estimate(1.0, 0.01, 5), 0.0)


def fragile(holds: bool) -> evidence.Decided:
    return evidence.condition(holds, "fragile", stats.Estimate(0.021, 0.02, 5), 0.02)


@pytest.mark.parametrize(
    ("claim", "conditions", "verdict"),
    [
        ("C1", {"weights_never_scaled": True}, "refuted"),
        ("C1", {"weights_never_scaled": False}, "supported"),
        (
            "C2",
            {"shift_above_one": True, "symptom_seen": True, "stats_right_for_training": False},
            "supported",
        ),
        (
            "C2",
            {"shift_above_one": True, "symptom_seen": False, "stats_right_for_training": True},
            "partly supported",
        ),
        (
            "C2",
            {"shift_above_one": False, "symptom_seen": True, "stats_right_for_training": False},
            "refuted",
        ),
        ("C3", {"relu_orders_identical": True}, "refuted"),
        ("C3", {"relu_orders_identical": False}, "partly supported"),
        ("C4", {"some_ordering_better": True, "every_ordering_worse": False}, "refuted"),
        ("C4", {"some_ordering_better": False, "every_ordering_worse": True}, "supported"),
        ("C4", {"some_ordering_better": False, "every_ordering_worse": False}, "partly supported"),
        ("C5", {"high_rate_underfits": True, "low_rate_overfits": True}, "supported"),
        ("C5", {"high_rate_underfits": True, "low_rate_overfits": False}, "partly supported"),
        ("C5", {"high_rate_underfits": False, "low_rate_overfits": False}, "refuted"),
        (
            "C6",
            {
                "title_checks_hold": True,
                "placement_matters_at_article_settings": True,
                "placement_matters_at_high_dose": False,
            },
            "supported",
        ),
        (
            "C6",
            {
                "title_checks_hold": False,
                "placement_matters_at_article_settings": False,
                "placement_matters_at_high_dose": True,
            },
            "partly supported",
        ),
        (
            "C6",
            {
                "title_checks_hold": False,
                "placement_matters_at_article_settings": False,
                "placement_matters_at_high_dose": False,
            },
            "refuted",
        ),
    ],
)
def test_rules(claim: str, conditions: dict[str, bool], verdict: str) -> None:
    decided = verdicts.decide(claim, **conditions)
    assert decided == verdict and decided.part["strict"] and not decided.fragile


def test_interval_touching_the_threshold_does_not_hold_and_is_fragile() -> None:
    touching = stats.Estimate(0.02, 0.02, 5)  # low == threshold exactly
    condition = evidence.above(touching, 0.0, "rise")
    assert condition == "False" and condition.fragile and condition.distance == 0.0


def test_no_spread_over_seeds_is_exact_not_fragile() -> None:
    identical = evidence.above(stats.Estimate(0.0, 0.0, 5), 0.0, "same function, same seeds")
    assert identical == "False" and not identical.fragile and identical.distance == float("inf")


def test_all_of_false_flips_only_when_every_false_condition_flips() -> None:
    combined = evidence.all_of("both", robust(False), fragile(False))
    assert combined == "False" and not combined.fragile and combined.distance > 10
    assert evidence.any_of("either", robust(False), fragile(False)).fragile


def test_too_few_seeds_give_no_interval_and_no_distance() -> None:
    single = stats.mean_ci([0.5])
    condition = evidence.above(single, 0.0, "one seed")
    assert condition == "False" and not condition.fragile


def test_a_fragile_deciding_condition_makes_the_verdict_fragile_with_its_alternative() -> None:
    decided = verdicts.decide("C5", high_rate_underfits=robust(True), low_rate_overfits=fragile(True))
    assert decided == "supported" and decided.fragile
    assert decided.part["alternatives"] == ["partly supported"]
    assert verdicts.label(decided, decided.fragile) == "supported (fragile)"


def test_a_fragile_condition_that_cannot_change_the_verdict_does_not_make_it_fragile() -> None:
    decided = verdicts.decide(
        "C2", shift_above_one=robust(True), symptom_seen=fragile(False), stats_right_for_training=robust(True)
    )
    assert decided == "partly supported" and not decided.fragile
    assert decided.part["statistic"] == "verdict on C2, decided by shift_above_one"


def test_an_unknown_claim_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown claim 'C9'; allowed: C1, C2, C3, C4, C5, C6$"):
        verdicts.decide("C9")
