"""Every claim's verdict rule, its boundaries, and how fragility passes from conditions to verdicts."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from casekit.claims import evidence, report, verdicts
from casekit.lab import stats


def robust(holds: bool) -> evidence.Decided:
    return evidence.condition(holds, "robust", stats.Estimate(1.0, 0.01, 5), 0.0)


def fragile(holds: bool) -> evidence.Decided:
    return evidence.condition(holds, "fragile", stats.Estimate(0.021, 0.02, 5), 0.02)


@pytest.mark.parametrize("claim", list(verdicts.RULES))
def test_every_rule_reaches_every_verdict(claim: str) -> None:
    """Enumerate every combination of each rule's condition values (verdicts.DOMAINS)."""
    domains = verdicts.DOMAINS[claim]
    reached = {
        verdicts.decide(claim, **dict(zip(domains, values, strict=True))).__str__()
        for values in itertools.product(*domains.values())
    }
    assert reached == set(report.VERDICTS)


@pytest.mark.parametrize(
    ("claim", "conditions", "verdict"),
    [
        ("C1", {"expectation_kept": "equivalent", "weights_never_scaled": "True"}, "partly supported"),
        ("C1", {"expectation_kept": "equivalent", "weights_never_scaled": "False"}, "supported"),
        ("C1", {"expectation_kept": "below", "weights_never_scaled": "True"}, "refuted"),
        (
            "C2",
            {"shift": "above", "training_fit": "equivalent", "symptom": "above", "control": "True"},
            "partly supported",
        ),
        (
            "C2",
            {"shift": "above", "training_fit": "above", "symptom": "above", "control": "True"},
            "supported",
        ),
        (
            "C2",
            {"shift": "above", "training_fit": "above", "symptom": "no", "control": "False"},
            "inconclusive",
        ),
        (
            "C2",
            {"shift": "equivalent", "training_fit": "above", "symptom": "above", "control": "True"},
            "refuted",
        ),
        ("C3", {"relu_orders_identical": "True", "order_effect": "equivalent"}, "refuted"),
        ("C3", {"relu_orders_identical": "False", "order_effect": "equivalent"}, "partly supported"),
        ("C3", {"relu_orders_identical": "False", "order_effect": "below"}, "supported"),
        ("C4", {"some_better": "above", "every_worse": "False", "control": "False"}, "refuted"),
        ("C4", {"some_better": "no", "every_worse": "True", "control": "True"}, "supported"),
        ("C4", {"some_better": "no", "every_worse": "True", "control": "False"}, "inconclusive"),
        ("C4", {"some_better": "no", "every_worse": "False", "control": "True"}, "partly supported"),
        ("C5", {"high_rate_underfits": "True", "low_rate_overfits": "True"}, "supported"),
        ("C5", {"high_rate_underfits": "True", "low_rate_overfits": "False"}, "partly supported"),
        ("C5", {"high_rate_underfits": "True", "low_rate_overfits": "inconclusive"}, "inconclusive"),
        ("C5", {"high_rate_underfits": "False", "low_rate_overfits": "False"}, "refuted"),
        ("C6", {"placement": "above", "phases_hold": "True", "control": "True"}, "supported"),
        ("C6", {"placement": "no", "phases_hold": "True", "control": "True"}, "partly supported"),
        ("C6", {"placement": "no", "phases_hold": "False", "control": "True"}, "refuted"),
        ("C6", {"placement": "no", "phases_hold": "True", "control": "False"}, "inconclusive"),
        (
            "C7",
            {"shift": "above", "cost_somewhere": "above", "cost_everywhere": "True", "control": "False"},
            "supported",
        ),
        (
            "C7",
            {"shift": "above", "cost_somewhere": "above", "cost_everywhere": "False", "control": "True"},
            "partly supported",
        ),
        (
            "C7",
            {"shift": "equivalent", "cost_somewhere": "above", "cost_everywhere": "True", "control": "True"},
            "partly supported",
        ),
        (
            "C7",
            {"shift": "above", "cost_somewhere": "no", "cost_everywhere": "False", "control": "True"},
            "refuted",
        ),
        (
            "C7",
            {"shift": "above", "cost_somewhere": "no", "cost_everywhere": "False", "control": "False"},
            "inconclusive",
        ),
        ("C8", {"advantage": "above", "spatial_gain": "above", "control": "False"}, "supported"),
        ("C8", {"advantage": "equivalent", "spatial_gain": "above", "control": "True"}, "partly supported"),
        ("C8", {"advantage": "equivalent", "spatial_gain": "equivalent", "control": "True"}, "refuted"),
        ("C8", {"advantage": "below", "spatial_gain": "above", "control": "True"}, "refuted"),
        ("C8", {"advantage": "equivalent", "spatial_gain": "above", "control": "False"}, "inconclusive"),
        ("C8", {"advantage": "inconclusive", "spatial_gain": "above", "control": "True"}, "inconclusive"),
    ],
)
def test_rules(claim: str, conditions: dict[str, str], verdict: str) -> None:
    decided = verdicts.decide(claim, **conditions)
    assert decided == verdict and decided.part["strict"] and not decided.fragile


def test_a_condition_outside_its_domain_or_missing_is_an_error() -> None:
    with pytest.raises(
        ValueError, match=r"^C5: low_rate_overfits must be one of True, False, inconclusive; got 'maybe'$"
    ):
        verdicts.decide("C5", high_rate_underfits="True", low_rate_overfits="maybe")
    with pytest.raises(
        ValueError,
        match=r"^C5 takes conditions high_rate_underfits, low_rate_overfits; got high_rate_underfits$",
    ):
        verdicts.decide("C5", high_rate_underfits="True")


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


def _fragile(value: str) -> evidence.Decided:
    return evidence.decided(value, "fragile", 0.5, True)


def _robust(value: str) -> evidence.Decided:
    return evidence.decided(value, "robust", 20.0, False)


def test_a_fragile_deciding_condition_makes_the_verdict_fragile_with_its_alternatives() -> None:
    decided = verdicts.decide("C5", high_rate_underfits=_robust("True"), low_rate_overfits=_fragile("True"))
    assert decided == "supported" and decided.fragile
    assert decided.part["alternatives"] == ["inconclusive", "partly supported"]
    assert report.label(decided, decided.fragile) == "supported (fragile)"


def test_a_fragile_condition_that_cannot_change_the_verdict_does_not_make_it_fragile() -> None:
    decided = verdicts.decide(
        "C2",
        shift=_robust("above"),
        training_fit=_robust("equivalent"),
        symptom=_fragile("no"),
        control="True",
    )
    assert decided == "partly supported" and not decided.fragile
    assert decided.part["statistic"] == "verdict on C2, decided by shift, training_fit"


def test_an_unknown_claim_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown claim 'C9'; allowed: C1, C2, C3, C4, C5, C6, C7, C8$"):
        verdicts.decide("C9")


# --- assess_*: the conditions measured from results frames ----------------------------------


def _runs(values: dict[str, list[float]], column: str, **extra: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for config, series in values.items():
        for seed, value in enumerate(series):
            row = {"config": config, "seed": seed, column: value}
            if column == "test_accuracy":  # the controls read validation accuracy
                row["val_accuracy"] = value
            for name, other in extra.items():
                row[name] = other[config][seed]
            rows.append(row)
    return pd.DataFrame(rows)


def _c2_frame(
    fix_gain: list[float], shift: list[float], fit: list[float], dropout_gain: float
) -> pd.DataFrame:
    n = len(shift)
    return _runs(
        {
            "ex1": [0.90] * n,
            "fix": [0.90 + g for g in fix_gain],
            "none": [0.90 + g - dropout_gain + 0.001 * i for i, g in enumerate(fix_gain)],
        },
        "test_accuracy",
        shift={"ex1": shift, "fix": [1.0] * n, "none": [1.0] * n},
        training_fit={"ex1": fit, "fix": [1.0] * n, "none": [1.0] * n},
    )


SHIFT = [2.3, 2.4, 2.5, 2.4, 2.3]


def test_assess_c2_headline_comes_from_the_regime_where_dropout_helps() -> None:
    clean = _c2_frame([0.001, -0.001, 0.0, 0.002, -0.002], SHIFT, [1.0, 1.01, 0.99, 1.0, 1.0], 0.0)
    noisy = _c2_frame([0.001, -0.001, 0.0, 0.002, -0.002], SHIFT, [1.0, 1.01, 0.99, 1.0, 1.0], 0.05)
    assessed = verdicts.assess_c2({"clean": clean, "noisy": noisy}, example="ex1", fix="fix", none="none")
    assert assessed.verdict == "partly supported" and assessed.verdict.part["strict"]
    assert assessed.verdict.part["regime"] == "noisy"  # the clean regime's control fails
    assert assessed.verdict.part["regimes"] == {"clean": "partly supported", "noisy": "partly supported"}
    assert assessed.conditions["shift"] == "above" and assessed.conditions["training_fit"] == "equivalent"
    assert assessed.conditions["control"] == "True"
    assert {c["name"] for c in assessed.verdict.part["comparisons"]} >= {
        "Example 1 minus no Dropout: moving / inference variance",
        "control: fix minus none, validation accuracy",
    }


def test_assess_c2_supported_when_symptom_shift_and_wrong_training_statistics_all_hold() -> None:
    frame = _c2_frame([0.02, 0.021, 0.019, 0.02, 0.022], SHIFT, [1.5, 1.6, 1.5, 1.55, 1.5], 0.05)
    assert verdicts.assess_c2({"r": frame}, example="ex1", fix="fix", none="none").verdict == "supported"


def test_assess_c2_without_a_working_control_a_missing_symptom_is_inconclusive() -> None:
    frame = _c2_frame([0.0, 0.001, -0.001, 0.0, 0.0], SHIFT, [1.5, 1.6, 1.5, 1.55, 1.5], 0.0)
    assessed = verdicts.assess_c2({"r": frame}, example="ex1", fix="fix", none="none")
    assert assessed.verdict == "inconclusive" and assessed.conditions["control"] == "False"


def test_assess_with_one_seed_is_an_error_not_a_verdict() -> None:
    frame = _c2_frame([0.01], [2.0], [1.0], 0.05)
    with pytest.raises(ValueError, match="needs >= 2 shared seed values; got 1"):
        verdicts.assess_c2({"r": frame}, example="ex1", fix="fix", none="none")


def test_assess_c4_compares_every_other_ordering_as_one_family() -> None:
    jitter = [0.0, 0.001, 0.0, 0.001, 0.0]
    frame = _runs(
        {
            "ex2": [0.90 + j for j in jitter],
            "worse": [0.80 + 2 * j for j in jitter],
            "tied": [0.90 + 0.0005 + j for j in jitter],
            "none": [0.85 + 3 * j for j in jitter],
        },
        "test_accuracy",
    )
    assessed = verdicts.assess_c4({"r": frame}, example="ex2", others=["worse", "tied"], none="none")
    assert assessed.verdict == "partly supported"
    assert assessed.conditions["some_better"] == "no" and assessed.conditions["every_worse"] == "False"
    assert assessed.comparisons["r: tied minus Example 2"].outcome == "equivalent"
    assert assessed.comparisons["r: worse minus Example 2"].family_size == 2
    alone = verdicts.assess_c4({"r": frame}, example="ex2", others=["worse"], none="none")
    assert alone.verdict == "supported"
    with pytest.raises(ValueError, match="at least one other ordering"):
        verdicts.assess_c4({"r": frame}, example="ex2", others=[], none="none")


def test_assess_c5_selects_runs_by_their_rate_column() -> None:
    seeds = range(5)
    final = pd.DataFrame(
        [
            {"config": f"r{rate}", "seed": s, "rate": rate, "train_accuracy": train, "test_accuracy": test}
            for rate, train, test in (
                (0.0, 0.99, 0.93),
                (0.2, 0.98, 0.95),
                (0.5, 0.97, 0.95),
                (0.8, 0.90, 0.90),
            )
            for s in seeds
        ]
    )
    final["train_accuracy"] += [0.001 * s for s in seeds] * 4
    final["test_accuracy"] += [0.0005 * s for s in seeds] * 4
    final["val_accuracy"] = final["test_accuracy"]
    rises = pd.DataFrame(
        [
            {"config": f"r{rate}", "seed": s, "rate": rate, "rise": 0.05 + 0.01 * s}
            for rate in (0.0, 0.2, 0.5, 0.8)
            for s in seeds
        ]
    )
    assessed = verdicts.assess_c5({"r": (final, rises)}, high=0.8, low=0.2, reference=0.0, article_rate=0.5)
    assert assessed.verdict == "supported"
    assert assessed.conditions["high_rate_underfits"] == "True"
    assert "rate 0.8 minus rate 0" in assessed.conditions["high_rate_underfits"].part["statistic"]


def test_assess_c1_and_c3() -> None:
    ratios = [1.0, 1.002, 0.998, 1.001, 0.999]
    c1 = verdicts.assess_c1(ratios, True, True)
    assert c1.verdict == "partly supported" and c1.conditions["expectation_kept"] == "equivalent"
    assert verdicts.assess_c1(ratios, True, False).verdict == "supported"
    assert verdicts.assess_c1([0.5, 0.51, 0.49], True, True).verdict == "refuted"
    same = _runs(
        {"ex2": [0.9, 0.91, 0.9], "after": [0.9, 0.91, 0.9], "none": [0.8, 0.8, 0.81]}, "test_accuracy"
    )
    c3 = verdicts.assess_c3(0.0, {"r": same}, example="ex2", after="after", none="none")
    assert c3.verdict == "refuted" and not c3.verdict.fragile
    assert verdicts.assess_c3(1e-7, {"r": same}, example="ex2", after="after", none="none").verdict == (
        "partly supported"
    )


def test_badges_are_one_class_per_verdict_and_a_fragile_mark() -> None:
    assert 'class="casekit-badge casekit-partly-supported">partly supported<' in report.badge(
        "partly supported", False
    )
    assert "casekit-fragile" in report.badge("supported", True)
    assert "casekit-fragile" not in report.badge("supported", False)
    with pytest.raises(
        ValueError,
        match=r"^unknown verdict 'maybe'; allowed: supported, partly supported, refuted, inconclusive$",
    ):
        report.badge("maybe", False)


def test_an_assessment_shows_every_regime_and_every_comparison() -> None:
    clean = _c2_frame([0.001, -0.001, 0.0, 0.002, -0.002], SHIFT, [1.0, 1.01, 0.99, 1.0, 1.0], 0.0)
    noisy = _c2_frame([0.03, 0.031, 0.029, 0.032, 0.03], SHIFT, [1.0, 1.01, 0.99, 1.0, 1.0], 0.05)
    assessed = verdicts.assess_c2({"clean": clean, "noisy": noisy}, example="ex1", fix="fix", none="none")
    table = assessed.table().record()
    assert table["index"] == ["clean", "noisy"] and table["columns"][-2:] == ["verdict", "headline"]
    compared = assessed.comparisons_table().record()
    assert "fix minus Example 1, test accuracy" in {row.split(" | ")[1] for row in compared["index"]}
    assert evidence.phrase(assessed.conditions["shift"], above="real") == "real"


def _c7_frame(cost: float, shift: float, high: float | None = None) -> pd.DataFrame:
    """Two doses; the network with dropout after the last BN beats the before-BN one by
    ``cost`` at the first and ``high`` (default ``3 * cost``) at the second, with a little
    jitter; before-BN's shift is ``shift``."""
    jitter = [0.0, 0.002, -0.001, 0.001, -0.002]
    configs = {
        "none": [0.94 + j for j in jitter],
        "after low": [0.95 + j for j in jitter],
        "before low": [0.95 - cost + 1.5 * j for j in jitter],
        "after high": [0.95 + j for j in jitter],
        "before high": [0.95 - (3 * cost if high is None else high) + 2 * j for j in jitter],
    }
    shifts = {name: [shift if "before" in name else 1.0] * 5 for name in configs}
    for name in shifts:
        shifts[name] = [value + 0.01 * i for i, value in enumerate(shifts[name])]
    return _runs(configs, "test_accuracy", shift=shifts)


def _assess_c7(frame: pd.DataFrame) -> verdicts.Assessment:
    return verdicts.assess_c7(
        frame,
        shift_pair=("before low", "none"),
        doses={"low": ("after low", "before low"), "high": ("after high", "before high")},
        control_pair=("after low", "none"),
    )


def test_assess_c7_reads_every_dose_as_one_holm_family() -> None:
    costly = _assess_c7(_c7_frame(0.03, 3.0))
    assert costly.verdict == "supported"
    assert costly.conditions["cost_everywhere"] == "True" and costly.conditions["shift"] == "above"
    family = [c for c in costly.comparisons.values() if "after minus before" in c.name]
    assert [c.family_size for c in family] == [2, 2]
    # no cost at the first dose, a cost at the second
    partly = _assess_c7(_c7_frame(0.0, 3.0, high=0.03))
    assert partly.verdict == "partly supported"
    assert partly.conditions["cost_somewhere"] == "above" and partly.conditions["cost_everywhere"] == "False"
    # no cost anywhere, and dropout after the last BN beats no dropout on validation data
    free = _assess_c7(_c7_frame(0.0, 1.0))
    assert free.conditions["control"] == "True" and free.conditions["shift"] == "equivalent"
    assert free.verdict == "refuted"
    with pytest.raises(ValueError, match="at least one dose"):
        verdicts.assess_c7(
            _c7_frame(0.0, 1.0),
            shift_pair=("before low", "none"),
            doses={},
            control_pair=("after low", "none"),
        )


def _c8_frame(spatial: float, dropout: float) -> pd.DataFrame:
    jitter = [0.0, 0.002, -0.001, 0.001, -0.002]
    configs = {
        "none": [0.80 + j for j in jitter],
        "dropout 0.2": [0.80 + dropout + 1.5 * j for j in jitter],
        "dropout 0.5": [0.80 + dropout - 0.01 + j for j in jitter],
        "spatial 0.2": [0.80 + spatial - 0.01 + 2 * j for j in jitter],
        "spatial 0.5": [0.80 + spatial + j for j in jitter],
    }
    return _runs(configs, "test_accuracy")


def _assess_c8(frame: pd.DataFrame) -> verdicts.Assessment:
    return verdicts.assess_c8(
        frame, dropout=["dropout 0.2", "dropout 0.5"], spatial=["spatial 0.2", "spatial 0.5"], none="none"
    )


def test_assess_c8_compares_each_kind_at_its_rate_chosen_on_validation() -> None:
    better = _assess_c8(_c8_frame(0.05, 0.02))
    assert better.verdict == "supported"
    assert "spatial 0.5 minus dropout 0.2, test accuracy" in {c.name for c in better.comparisons.values()}
    same = _assess_c8(_c8_frame(0.03, 0.03))
    assert same.verdict == "partly supported" and same.conditions["advantage"] == "equivalent"
    worse = _assess_c8(_c8_frame(0.01, 0.04))
    assert worse.verdict == "refuted"
    idle = _assess_c8(_c8_frame(0.0, 0.0))
    assert idle.conditions["control"] == "False" and idle.verdict == "inconclusive"


def test_chosen_rate_reads_validation_accuracy_only() -> None:
    frame = _c8_frame(0.05, 0.02)
    frame.loc[frame["config"] == "dropout 0.5", "test_accuracy"] += 0.5  # the test split never chooses
    assert verdicts.chosen_rate(frame, ["dropout 0.2", "dropout 0.5"]) == "dropout 0.2"
    with pytest.raises(ValueError, match="at least one config"):
        verdicts.chosen_rate(frame, [])
