"""Every claim's verdict rule, its boundaries, and how fragility passes from conditions to verdicts."""

from __future__ import annotations

import pandas as pd
import pytest

from casekit.claims import evidence, report, verdicts
from casekit.lab import stats


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
    assert report.label(decided, decided.fragile) == "supported (fragile)"


def test_a_fragile_condition_that_cannot_change_the_verdict_does_not_make_it_fragile() -> None:
    decided = verdicts.decide(
        "C2", shift_above_one=robust(True), symptom_seen=fragile(False), stats_right_for_training=robust(True)
    )
    assert decided == "partly supported" and not decided.fragile
    assert decided.part["statistic"] == "verdict on C2, decided by shift_above_one"


def test_an_unknown_claim_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown claim 'C9'; allowed: C1, C2, C3, C4, C5, C6$"):
        verdicts.decide("C9")


# --- assess_*: the conditions measured from results frames ----------------------------------


def _runs(values: dict[str, list[float]], column: str, **extra: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for config, series in values.items():
        for seed, value in enumerate(series):
            row = {"config": config, "seed": seed, column: value}
            for name, other in extra.items():
                row[name] = other[config][seed]
            rows.append(row)
    return pd.DataFrame(rows)


def _c2_frame(fix_gain: list[float], shift: list[float], fit: list[float]) -> pd.DataFrame:
    n = len(shift)
    return _runs(
        {"ex1": [0.90] * n, "fix": [0.90 + g for g in fix_gain]},
        "test_accuracy",
        test_loss={"ex1": [0.3] * n, "fix": [0.3] * n},
        shift={"ex1": shift, "fix": [1.0] * n},
        training_fit={"ex1": fit, "fix": [1.0] * n},
    )


def test_assess_c2_partly_supported_when_only_the_inference_shift_is_real() -> None:
    frame = _c2_frame(
        [0.001, -0.001, 0.0, 0.002, -0.002], [2.3, 2.4, 2.5, 2.4, 2.3], [1.0, 1.01, 0.99, 1.0, 1.0]
    )
    assessed = verdicts.assess_c2(frame, example="ex1", fix="fix")
    assert assessed.verdict == "partly supported" and assessed.verdict.part["strict"]
    assert assessed.conditions["shift_above_one"] == "True"
    assert assessed.conditions["symptom_seen"] == "False"  # the interval of the gain touches zero
    assert assessed.conditions["stats_right_for_training"] == "True"


def test_assess_c2_supported_when_symptom_shift_and_wrong_training_statistics_all_hold() -> None:
    frame = _c2_frame(
        [0.02, 0.021, 0.019, 0.02, 0.022], [2.3, 2.4, 2.5, 2.4, 2.3], [1.5, 1.6, 1.5, 1.55, 1.5]
    )
    assert verdicts.assess_c2(frame, example="ex1", fix="fix").verdict == "supported"


def test_assess_c2_a_ratio_exactly_at_the_threshold_is_not_within_it() -> None:
    # moving / dropout-on variance of exactly 0.9 on every seed: "above 0.9" does not hold
    frame = _c2_frame([0.0] * 5, [2.0] * 5, [0.9] * 5)
    assert (
        verdicts.assess_c2(frame, example="ex1", fix="fix").conditions["stats_right_for_training"] == "False"
    )


def test_assess_with_one_seed_is_an_error_not_a_verdict() -> None:
    frame = _c2_frame([0.01], [2.0], [1.0])
    with pytest.raises(ValueError, match="needs >= 2 shared seed values; got 1"):
        verdicts.assess_c2(frame, example="ex1", fix="fix")


def test_assess_c4_counts_orderings_better_and_worse_than_example_2() -> None:
    frame = _runs(
        {
            "ex2": [0.90, 0.91, 0.90, 0.91, 0.90],
            "worse": [0.80, 0.81, 0.80, 0.81, 0.80],
            "same": [0.90, 0.91, 0.90, 0.91, 0.90],
        },
        "test_accuracy",
    )
    assessed = verdicts.assess_c4(frame, example="ex2", others=["worse", "same"])
    assert assessed.verdict == "partly supported"
    assert (assessed.conditions["n_better"], assessed.conditions["n_worse"]) == ("0", "1")
    assert assessed.conditions["some_ordering_worse"] == "True"
    assert verdicts.assess_c4(frame, example="ex2", others=["worse"]).verdict == "supported"
    with pytest.raises(ValueError, match="at least one other ordering"):
        verdicts.assess_c4(frame, example="ex2", others=[])


def test_assess_c5_selects_runs_by_their_rate_column() -> None:
    seeds = range(5)
    final = pd.DataFrame(
        [
            {"config": f"r{rate}", "seed": s, "rate": rate, "train_accuracy": train, "test_accuracy": test}
            for rate, train, test in ((0.0, 0.99, 0.95), (0.2, 0.98, 0.95), (0.8, 0.90, 0.90))
            for s in seeds
        ]
    )
    final["train_accuracy"] += [0.001 * s for s in seeds] * 3
    rises = pd.DataFrame(
        [
            {"config": f"r{rate}", "seed": s, "rate": rate, "rise": 0.05 + 0.01 * s}
            for rate in (0.0, 0.2, 0.8)
            for s in seeds
        ]
    )
    assessed = verdicts.assess_c5(final, rises, high=0.8, low=0.2, reference=0.0)
    assert assessed.verdict == "supported"
    assert assessed.estimates["train_gap"].mean == pytest.approx(-0.09)
    assert "rate 0.8 minus rate 0" in assessed.conditions["high_rate_underfits"].part["statistic"]


def test_assess_c1_and_c3_are_exact() -> None:
    assert verdicts.assess_c1(True, True).verdict == "refuted"
    assert verdicts.assess_c1(True, False).verdict == "supported"
    assert verdicts.assess_c3(0.0).verdict == "refuted" and not verdicts.assess_c3(0.0).verdict.fragile
    assert verdicts.assess_c3(1e-7).verdict == "partly supported"


def test_badges_are_one_class_per_verdict_and_a_fragile_mark() -> None:
    assert 'class="casekit-badge casekit-partly-supported">partly supported<' in report.badge(
        "partly supported", False
    )
    assert "casekit-fragile" in report.badge("supported", True)
    assert "casekit-fragile" not in report.badge("supported", False)
    with pytest.raises(
        ValueError, match=r"^unknown verdict 'maybe'; allowed: supported, partly supported, refuted$"
    ):
        report.badge("maybe", False)
