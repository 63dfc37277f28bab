"""The values the chapters' hidden cells glue (casekit.claims.readings), on synthetic runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import glued_notebook

from casekit.claims import control, evidence, readings, report, rules, verdicts
from casekit.lab import stats

SEEDS = range(5)


def _runs(by: str, values: dict[object, dict[str, float]]) -> pd.DataFrame:
    """One row per option and seed; each column's value plus a small seed-dependent wobble."""
    rows = [
        {
            by: option,
            "config": f"{by} {option}",
            "seed": seed,
            **{k: v + 0.001 * seed * (i + 1) for i, (k, v) in enumerate(columns.items())},
        }
        for option, columns in values.items()
        for seed in SEEDS
    ]
    return pd.DataFrame(rows)


def test_margins_are_the_rules_margins_with_the_accuracy_reason() -> None:
    glued = readings.margins()
    assert glued["margin_accuracy"] == rules.ACCURACY.format() and glued["margin_rise"] == rules.RISE.format()
    assert glued["why_accuracy"] == rules.ACCURACY.reason
    assert set(glued) == {"margin_accuracy", "margin_loss", "margin_ratio", "margin_rise", "why_accuracy"}


def test_estimates_select_by_a_column_and_show_by_a_unit() -> None:
    final = _runs(
        "rate", {0.2: {"rise": 0.05, "gap_accuracy": 0.01}, 0.8: {"rise": 0.0, "gap_accuracy": -0.02}}
    )
    glued = readings.estimates(final, "rise", {"low": 0.2, "high": 0.8}, by="rate", unit="test_loss")
    assert list(glued) == ["low", "high"]
    assert glued["low"] == report.format_estimate(stats.estimate(final, "rise", rate=0.2), "test_loss")
    gap = readings.estimates(final, "gap_accuracy", {"g": 0.8}, by="rate", difference=True)["g"]
    assert gap.endswith(" pp") and gap.startswith("-1.6")
    with pytest.raises(ValueError, match="no rows match"):
        readings.estimates(final, "rise", {"x": 0.5}, by="rate")


def _c2(noisy_gain: float) -> tuple[dict[str, pd.DataFrame], verdicts.Assessment]:
    def frame(gain: float) -> pd.DataFrame:
        runs = _runs(
            "config",
            {
                "ex1": {"test_accuracy": 0.90, "val_accuracy": 0.90, "shift": 2.4, "training_fit": 1.0},
                "fix": {"test_accuracy": 0.90, "val_accuracy": 0.90, "shift": 1.0, "training_fit": 1.0},
                "none": {
                    "test_accuracy": 0.90 - gain,
                    "val_accuracy": 0.90 - gain,
                    "shift": 1.0,
                    "training_fit": 1.0,
                },
            },
        )
        runs["config"] = runs["config"].str.removeprefix("config ")
        return runs

    regimes = {verdicts.ARTICLE: frame(0.0), verdicts.NOISY: frame(noisy_gain)}
    return regimes, verdicts.assess_c2(regimes, example="ex1", fix="fix", none="none")


def test_c2_passages_glue_every_regime_from_the_assessment() -> None:
    regimes, c2 = _c2(noisy_gain=0.05)
    glued = readings.c2_regimes(regimes, c2, fix="fix", example="ex1", none="none")
    assert glued["verdict_C2_noisy"] == c2.regimes[verdicts.NOISY]
    assert glued["fix_vs_nodrop_noisy"].startswith("higher by 5.")
    assert glued["fix_vs_nodrop_article"].startswith("not detectably different")
    assert glued["control_noisy_words"] == readings.comparison(c2, "control", verdicts.NOISY).words()
    assert glued["c2_regime"] == verdicts.NOISY  # the article's control fails, the noisy one holds
    mechanism = readings.c2_mechanism(c2)
    assert mechanism["shift_words"] == "real"  # 2.4 against 1.0 in every seed
    assert mechanism["training_words"] == "right"  # equal training fit: the article's account is right
    assert readings.symptom_words(c2) in ("not observed", "not settled by these seeds")


def test_comparison_finds_exactly_one_or_names_the_candidates() -> None:
    _, c2 = _c2(noisy_gain=0.05)
    assert readings.comparison(c2, "control", verdicts.ARTICLE).regime == verdicts.ARTICLE
    with pytest.raises(ValueError, match=r"2 comparisons of C2 contain 'control'; there are: .*control"):
        readings.comparison(c2, "control")
    with pytest.raises(ValueError, match=r"0 comparisons of C2 contain 'absent'"):
        readings.comparison(c2, "absent")


@pytest.mark.parametrize(
    ("mean", "starts"),
    [
        (0.05, "At this rate the shift acted like a softmax temperature"),
        (-0.05, "Removing the shift improves"),
        (0.0, "Removing the shift changes neither"),
    ],
)
def test_remedy_reading_follows_the_sign_of_the_loss_change(mean: float, starts: str) -> None:
    reading = readings.remedy_reading(stats.Estimate(mean, 0.01, 5))
    assert reading.startswith(starts)
    assert reading.part["statistic"] == "sign of the test-loss change"
    assert not readings.remedy_reading(stats.Estimate(0.05, 0.005, 5)).fragile  # far from 0
    assert readings.remedy_reading(stats.Estimate(0.012, 0.01, 5)).fragile  # within the band


def test_dose_reads_the_lowest_and_highest_rate_at_one_layer_and_the_deepest_stack() -> None:
    rows = []
    for depth in (1, 3):
        for rate in (0.1, 0.5, 0.8):
            for seed in SEEDS:
                rows.append(
                    {
                        "depth": depth,
                        "rate": rate,
                        "seed": seed,
                        "shift": 1 + rate * depth + 0.01 * seed,
                        "predicted_shift": 1 + rate,
                        "test_accuracy": 0.9,
                        "recovered_accuracy": 0.02 * depth * rate + 0.001 * seed,
                        "recovered_loss": 0.01 * seed,
                    }
                )
    glued = readings.dose(pd.DataFrame(rows), [0.8, 0.1, 0.5], depth=3)
    assert (glued["dose_low"], glued["dose_high"], glued["dose_depth"]) == ("0.1", "0.8", "3")
    assert glued["shift_high_deep"].startswith("3.4") and glued["shift_low_d1"].startswith("1.1")
    assert glued["cost_high_deep"].endswith(" pp")
    assert glued["dose_harm"] == "True"  # 4.8 pp recovered at depth 3, rate 0.8


def test_c1_passage_reads_the_table_and_the_assessment() -> None:
    table = pd.DataFrame(
        {
            "training=False returns x": [True, True],
            "every output 0 or x/(1-rate)": [True, False],
            "mean(y) / mean(x)": [report.value(1.0, 3), report.value(0.99, 3)],
        },
        index=[0.2, 0.5],
    )
    c1 = readings.assess_c1(table, [1.0, 1.001, 0.999, 1.0, 1.0005], unchanged=True)
    glued = readings.c1_passage(table, 0.5, True, c1)
    assert glued["c1_identity"] == "True" and glued["c1_scaled"] == "False" and glued["c1_weights"] == "True"
    assert glued["c1_mean_ratio"] == "0.990"
    assert glued["verdict_C1"] == "partly supported"  # expectation kept, no weight scaled
    assert glued["c1_ratio_words"] == c1.comparisons["Dropout in training mode: mean(y) / mean(x)"].words()
    broken = table.assign(**{"training=False returns x": [True, False]})
    assert readings.assess_c1(broken, [1.0, 1.001, 0.999, 1.0, 1.0005], unchanged=True).verdict == "supported"
    assert readings.values("c3_", {"relu": 0.0, "sigmoid": 0.1234}, 2) == {
        "c3_relu": "0.00",
        "c3_sigmoid": "0.12",
    }


def test_trajectory_gap_is_the_largest_difference_in_any_metric() -> None:
    history = pd.DataFrame(
        {
            "config": ["a", "a", "b", "b"],
            "loss": [1.0, 0.5, 1.0, 0.5],
            "accuracy": [0.5, 0.6, 0.5, 0.6],
            "val_loss": [1.0, 0.7, 1.0, 0.725],
            "val_accuracy": [0.5, 0.6, 0.5, 0.6],
        }
    )
    assert readings.trajectory_gap(history, "a", "b") == "0.025"
    assert readings.trajectory_gap(history, "a", "a") == "0.000"
    with pytest.raises(ValueError, match="need the same non-empty epochs and seeds"):
        readings.trajectory_gap(history, "a", "c")


def test_loss_checks_and_counts() -> None:
    last = pd.DataFrame({"loss": [0.30, 0.32], "val_loss": [0.20, 0.22]})
    checks = readings.loss_checks(last, pd.DataFrame({"train_loss": [0.10, 0.12]}))
    assert checks == {"fit loss above validation loss": True, "inference training loss below fit loss": True}
    reversed_ = readings.loss_checks(
        last.assign(val_loss=[0.4, 0.4]), pd.DataFrame({"train_loss": [0.5, 0.5]})
    )
    assert set(reversed_.values()) == {False}
    assert readings.check_counts({**checks, "other": False}) == {
        "n_checks": "3",
        "n_checks_hold": "2",
        "all_checks_hold": "False",
    }


def test_pilot_passage_reads_the_clean_share_and_the_choice() -> None:
    def gain(mean: float) -> rules.Comparison:
        return rules.compare("g", stats.Estimate(mean, 0.004, 5), rules.ACCURACY)

    pilot = control.Pilot({0.4: gain(0.12), 0.0: gain(0.0), 0.2: gain(0.09)}, {})
    glued = readings.pilot_passage(pilot, 0.5)
    assert (
        glued["pilot_rate"] == "0.5"
        and glued["chosen_noise"] == "0.2"
        and glued["chosen_noise_words"] == "20%"
    )
    assert glued["clean_gain"] == gain(0.0).shown() and glued["clean_outcome"] == "equivalent"


def _sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    final = _runs(
        "rate",
        {
            0.0: {"train_accuracy": 0.99, "test_accuracy": 0.93, "val_accuracy": 0.93, "val_loss": 0.30},
            0.2: {"train_accuracy": 0.98, "test_accuracy": 0.95, "val_accuracy": 0.95, "val_loss": 0.20},
            0.5: {"train_accuracy": 0.97, "test_accuracy": 0.95, "val_accuracy": 0.95, "val_loss": 0.21},
            0.8: {"train_accuracy": 0.90, "test_accuracy": 0.90, "val_accuracy": 0.90, "val_loss": 0.35},
        },
    )
    rises = _runs("rate", {0.0: {"rise": 0.10}, 0.2: {"rise": 0.0}, 0.5: {"rise": 0.0}, 0.8: {"rise": -0.01}})
    return final, rises


def test_fit_by_rate_chooses_on_validation_and_lists_what_underfits_and_overfits() -> None:
    final, rises = _sweep()
    glued = readings.fit_by_rate(final, rises, [0.0, 0.2, 0.5, 0.8], reference=0.0)
    assert glued["best_rate"].startswith("not separated")  # 0.2 and 0.5 tie on validation accuracy
    assert glued["flat_rates"] == "0.2, 0.5"
    assert glued["best_loss_rate"].startswith("not separated")
    assert glued["underfit_rates"] == "0.8"  # train and test both below rate 0 beyond the margin
    assert glued["overfit_rates"] == "0"  # only rate 0's validation loss trends up
    assert readings.overfit_words(rises, 0.0) == "does" and readings.overfit_words(rises, 0.8) == "does not"


def test_rates_where_lists_the_rates_that_hold_or_says_none() -> None:
    yes, no = evidence.condition(True, "s"), evidence.condition(False, "s")
    assert readings.rates_where("x", {0.2: yes, 0.5: no, 0.8: yes}) == "0.2, 0.8"
    assert readings.rates_where("x", {0.2: no}) == "none"


def test_c5_halves_glue_each_regime_and_the_margins() -> None:
    final, rises = _sweep()
    c5 = verdicts.assess_c5(
        {verdicts.ARTICLE: (final, rises), verdicts.NOISY: (final, rises)},
        high=0.8,
        low=0.2,
        reference=0.0,
        article_rate=0.5,
    )
    glued = readings.c5_halves(c5)
    assert glued["high_holds"] == glued["high_holds_noisy"] == "holds"
    assert glued["low_holds"] == "does not hold"  # rate 0.2's trend is flat
    assert glued["verdict_C5"] == c5.verdict and glued["acc_margin"] == rules.ACCURACY.format()


def test_widening_compares_the_widest_model_with_width_64_at_the_highest_rate() -> None:
    final, _ = _sweep()
    final["width"] = 64
    wide = final[final["rate"] == 0.8].assign(width=320, train_accuracy=lambda f: f["train_accuracy"] + 0.08)
    wide["test_accuracy"] += 0.04
    both = pd.concat([final[final["rate"] == 0.8], wide])
    glued = readings.widening(both, final, {0.5: 128, 0.8: 320}, reference=0.0)
    assert (glued["width_high_rate"], glued["width_high"]) == ("0.8", "320")
    assert glued["width_gain"].startswith("higher by 4.")
    assert glued["width_reading"] == "and by the definition the widened model does not underfit"


def test_spread_is_the_best_minus_the_worst_candidate() -> None:
    final = _runs(
        "config", {"a": {"test_accuracy": 0.95}, "b": {"test_accuracy": 0.93}, "c": {"test_accuracy": 0.90}}
    )
    final["config"] = final["config"].str.removeprefix("config ")
    summary = stats.summarize(final, "config", ["test_accuracy"])
    assert readings.spread(final, summary, ["a", "b"]).startswith("2.0")
    assert readings.spread(final, summary, ["a", "b", "c"]).startswith("5.0")


def test_power_counts_say_none_when_nothing_is_underpowered() -> None:
    power = pd.DataFrame(
        {
            "outcome": ["inconclusive", "inconclusive", "above"],
            "seeds": [5, 5, 5],
            "seeds for 80%": [12, 4, 30],
        }
    )
    records = [{"fragile": True}, {"fragile": False}]
    glued = readings.power_counts(power, records)
    assert glued == {
        "n_comparisons": "3",
        "n_inconclusive": "2",
        "n_underpowered": "1",
        "n_fragile": "1",
        "seeds_needed_max": "12",
    }
    assert readings.power_counts(power[power["seeds for 80%"] < 10], records)["seeds_needed_max"] == "none"


def test_exact_checks_count_true_false_checks_only() -> None:
    table = pd.DataFrame(
        {"tensorflow": [True, False, 0.5], "jax": [True, True, 0.51], "same": [True, False, False]}
    )
    assert readings.exact_checks(table) == {"n_checks": "2", "n_same": "1"}


def test_jax_passages_read_the_jax_chapters_or_say_they_were_not_run(tmp_path: Path) -> None:
    assert readings.jax_verdicts("smoke", None, ["C2", "C4"]) == {
        "jax_C2": "not run at profile smoke",
        "jax_C4": "not run at profile smoke",
    }
    supported = evidence.decided("supported", "rule C2", strict=True)
    refuted = evidence.decided("refuted", "rule C4", strict=True)
    # each claim is read from the chapter that decides it in the ledger
    glued_notebook(tmp_path / "01-dropout-before-batchnorm.ipynb", {"verdict_C2": supported})
    glued_notebook(tmp_path / "02-ordering.ipynb", {"verdict_C4": refuted})
    assert readings.jax_verdicts("book", tmp_path, ["C2", "C4"]) == {
        "jax_C2": "supported",
        "jax_C4": "refuted",
    }
    compared = pd.DataFrame(
        {"value": ["verdict_C2", "verdict_C4", "x"], "rule": ["agree", "agree", "differ"]}
    )
    glued = readings.jax_agreement("book", compared, ["C2", "C4"])
    assert glued == {"n_values": "3", "n_agree": "2", "jax_agreement": "reach the same verdicts"}
    assert readings.jax_agreement("full", None, ["C2"])["jax_agreement"] == "were not run (profile full)"


def test_c6_reads_the_phase_checks_and_the_placement_family_from_the_chapters(tmp_path: Path) -> None:
    matters = evidence.decided("above", "placement matters")
    holds = evidence.decided("True", "control holds")
    fails = evidence.decided("False", "control holds")
    glued_notebook(tmp_path / "00-why-dropout-seems-broken.ipynb", {"all_checks_hold": "True"})
    glued_notebook(
        tmp_path / "02-ordering.ipynb",
        {
            "placement_article": matters,
            "placement_noisy": matters,
            "control_article": fails,
            "control_noisy": holds,
        },
    )
    c6 = readings.c6_from(tmp_path)
    assert c6.verdict.part["regime"] == verdicts.NOISY  # the first regime whose control holds
    assert c6.per_regime[verdicts.NOISY]["phases_hold"] == "True"


# Chapter 4 ----------------------------------------------------------------------------


def _conv_final(cost: float) -> tuple[pd.DataFrame, dict[str, tuple[str, str]]]:
    """Two doses of after / before networks and a network without dropout; before-BN is
    ``cost`` worse at the first dose, twice that at the second, and re-estimation recovers
    half of it."""
    doses = {"rate 0.5, depth 2": ("after 2", "before 2"), "rate 0.8, depth 4": ("after 4", "before 4")}
    columns = {
        "none": (0.95, 1.0),
        "after 2": (0.95, 1.0),
        "before 2": (0.95 - cost, 3.0),
        "after 4": (0.96, 1.0),
        "before 4": (0.96 - 2 * cost, 9.0),
    }
    final = _runs(
        "config",
        {
            name: {"test_accuracy": acc, "val_accuracy": acc, "shift": shift, "reest_test_accuracy": acc}
            for name, (acc, shift) in columns.items()
        },
    )
    final["config"] = final["config"].str.replace("config ", "", regex=False)
    before = final["config"].str.startswith("before")
    final.loc[before, "reest_test_accuracy"] += cost * (1 + final.loc[before, "config"].eq("before 4")) / 2
    return final, doses


def _c7(final: pd.DataFrame, doses: dict[str, tuple[str, str]]) -> verdicts.Assessment:
    return verdicts.assess_c7(
        final, shift_pair=("before 2", "none"), doses=doses, control_pair=("after 2", "none")
    )


def test_conv_costs_read_the_first_and_last_dose_and_the_smallest_costly_shift() -> None:
    final, doses = _conv_final(0.04)
    c7 = _c7(final, doses)
    glued = readings.conv_costs(final, c7, doses)
    assert glued["conv_dose_low"] == "rate 0.5, depth 2" and glued["conv_dose_high"] == "rate 0.8, depth 4"
    assert glued["conv_cost_low"].startswith("4") and glued["conv_cost_high"].startswith("8")
    assert glued["conv_cost_words"] == "costs accuracy" and glued["n_doses_cost"] == "2"
    assert glued["conv_reest_low"].startswith("2") and glued["conv_reest_high"].startswith("4")
    # the smallest mean shift of a before-BN network whose dose showed a cost
    assert glued["conv_warning_shift"] == report.value(
        stats.estimate(final, "shift", config="before 2").mean, 1
    )
    free, _ = _conv_final(0.0)
    nothing = readings.conv_costs(free, _c7(free, doses), doses)
    assert nothing["conv_warning_shift"] == "none" and nothing["n_doses_cost"] == "0"
    assert nothing["conv_cost_words"] == "costs no accuracy"


def test_conv_remedy_reads_what_re_estimation_leaves_at_the_last_dose() -> None:
    final, doses = _conv_final(0.04)
    glued = readings.conv_remedy(final, doses)
    assert glued["conv_residual"].startswith("3.4")  # 8 pp, half recovered, less the wobble
    assert glued["conv_remedy_words"].startswith("leaves a cost")
    undone = final.copy()
    last = undone["config"] == "before 4"
    undone.loc[last, "reest_test_accuracy"] = undone.loc[last, "test_accuracy"] + 0.08
    assert readings.conv_remedy(undone, doses)["conv_remedy_words"].startswith("undoes the cost")


def test_conv_shift_reads_the_first_block_and_the_deepest_block() -> None:
    rows = []
    for config, blocks in (("before", 2), ("spatial", 2), ("deep", 4)):
        for seed in SEEDS:
            for block in range(blocks):
                for unit in range(3):
                    rows.append(
                        {
                            "config": config,
                            "seed": seed,
                            "layer": f"bn_{block}",
                            "unit": unit,
                            "shift": (block + 2.0) * (1 + 0.01 * seed),
                            "predicted_shift": 2.0,
                        }
                    )
    units = pd.DataFrame(rows)
    assert readings.blocks(units)["block"].max() == 4
    glued = readings.conv_shift(units, before="before", deep="deep", spatial="spatial")
    assert glued["conv_deep_block"] == "4"
    assert glued["conv_shift_first"].startswith("2.0") and glued["conv_pred_first"].startswith("2")
    assert glued["conv_shift_deep"].startswith("5.") and glued["conv_error_first"].startswith("2")


def test_conv_regularizers_read_each_kind_at_its_chosen_rate() -> None:
    jitter = [0.0, 0.002, -0.001, 0.001, -0.002]
    rows = []
    for config, rate, accuracy in (
        ("none", 0.0, 0.80),
        ("dropout 0.2", 0.2, 0.83),
        ("dropout 0.5", 0.5, 0.82),
        ("spatial 0.2", 0.2, 0.84),
        ("spatial 0.5", 0.5, 0.86),
    ):
        for seed, j in enumerate(jitter):
            value = accuracy + j * (1 + rate)
            rows.append(
                {
                    "config": config,
                    "seed": seed,
                    "rate": rate,
                    "val_accuracy": value,
                    "test_accuracy": value,
                    "train_accuracy": 0.95 - rate / 4 + j,
                }
            )
    final = pd.DataFrame(rows)
    dropout, spatial = ["dropout 0.2", "dropout 0.5"], ["spatial 0.2", "spatial 0.5"]
    c8 = verdicts.assess_c8(final, dropout=dropout, spatial=spatial, none="none")
    glued = readings.conv_regularizers(final, c8, dropout=dropout, spatial=spatial, none="none", noise=0.2)
    assert glued["chosen_dropout"] == "0.2" and glued["chosen_spatial"] == "0.5"
    assert (
        glued["spatial_vs_dropout"].startswith("3")
        and glued["spatial_words"] == "regularizes better than Dropout"
    )
    assert glued["gain_dropout"].startswith("higher by 3")
    assert glued["right_share"] == "80%" and glued["memorizes_words"].startswith("memorizes wrong labels")
    few = readings.conv_regularizers(final, c8, dropout=dropout, spatial=spatial, none="none", noise=0.01)
    assert few["memorizes_words"] == "does not memorize them"


def test_conv_training_says_how_much_of_the_initial_moving_variance_is_left() -> None:
    class Data:
        x_train = [0] * 3000

    assert readings.conv_training(Data(), 32, 10) == {"moving_init_left": f"{0.99**940:.0e}"}
