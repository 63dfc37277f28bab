"""What the chapters' prose reads: every glued value a chapter computes, named.

A chapter's hidden cells only glue (``report.glue_all(readings.something(...))``): every
branch, loop, comparison and generated sentence behind a glued value lives here or in the
claims modules it calls (:mod:`~casekit.claims.verdicts`, :mod:`~casekit.claims.rules`,
:mod:`~casekit.claims.report`), where it is tested (``tests/test_readings.py``), and
``tests/test_chapters.py`` checks that no hidden cell holds a branch, a loop, a comparison
or a definition. A function that returns :data:`Glued` gives the glue names a passage of
prose uses, in the order the passage reads them; the others give one glued value, or the
assessment a passage is read from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from casekit.claims import control, evidence, fitting, ledger, report, rules, verdicts
from casekit.lab import stats

#: The suffix glue names use for each regime (``verdict_C2_article``, ``best_noisy``...).
KEYS = {verdicts.ARTICLE: "article", verdicts.NOISY: "noisy"}

#: Words for a yes/no/inconclusive condition said of a claim's half.
HOLDS = {"True": "holds", "False": "does not hold", "inconclusive": "not settled by these seeds"}

#: Words for C2's variance shift (Example 1 against no Dropout) by the comparison's outcome.
SHIFT_WORDS = {"above": "real", "equivalent": "absent", "below": "reversed", "inconclusive": "unsettled"}
#: Words for the article's account of training ("the model fits as if without dropout").
TRAINING_WORDS = {"equivalent": "right", "above": "wrong", "below": "wrong", "inconclusive": "not settled"}

Glued = dict[str, Any]


def margins() -> Glued:
    """Chapter 0's rules: each practical margin as shown, and why the accuracy margin is what it is."""
    named = {"accuracy": rules.ACCURACY, "loss": rules.LOSS, "ratio": rules.RATIO, "rise": rules.RISE}
    glued: Glued = {f"margin_{key}": margin.format() for key, margin in named.items()}
    glued["why_accuracy"] = rules.ACCURACY.reason
    return glued


def estimates(
    frame: pd.DataFrame,
    column: str,
    names: Mapping[str, object],
    *,
    by: str = "config",
    unit: str | None = None,
    difference: bool = False,
) -> Glued:
    """``{glue name: mean ± 95% CI of column}`` for the runs whose ``by`` equals each value of
    ``names``; ``unit`` is the column whose display rule applies (default ``column``)."""
    glued: Glued = {}
    for name, value in names.items():
        where: dict[str, Any] = {by: value}
        estimate = stats.estimate(frame, column, **where)
        glued[name] = report.format_estimate(
            estimate, column if unit is None else unit, difference=difference
        )
    return glued


def values(prefix: str, numbers: Mapping[str, float], decimals: int) -> Glued:
    """Numbers computed without training, each shown with ``decimals`` decimals."""
    return {f"{prefix}{name}": report.value(number, decimals) for name, number in numbers.items()}


def comparison(
    assessment: verdicts.Assessment, containing: str, regime: str | None = None
) -> rules.Comparison:
    """The one comparison of ``assessment`` whose name contains ``containing`` (in ``regime``,
    when given); an error names the candidates when there is not exactly one."""
    found = [
        c
        for c in assessment.comparisons.values()
        if containing in c.name and (regime is None or c.regime == regime)
    ]
    if len(found) != 1:
        names = ", ".join(f"{c.regime}: {c.name}" for c in assessment.comparisons.values())
        raise ValueError(
            f"{len(found)} comparisons of {assessment.claim} contain {containing!r}; there are: {names}"
        )
    return found[0]


def paired_words(
    frame: pd.DataFrame, a: object, b: object, column: str = "test_accuracy", by: str = "config"
) -> evidence.Shown:
    """``a`` minus ``b`` paired by seed, in words (``"higher by 1.2 ± 0.4 pp"``)."""
    return report.compare(stats.paired_difference(frame, column, a, b, by=by), column)


# Chapter 0 ------------------------------------------------------------------------------


def loss_checks(last_epoch: pd.DataFrame, final: pd.DataFrame) -> dict[str, bool]:
    """Chapter 0's two checks of the training/inference phases, from the last epoch of
    ``history`` (``loss``: the running training loss ``fit`` reports, dropout on;
    ``val_loss``: inference mode) and the ``final`` inference-mode training loss: whether
    the loss ``fit`` reports lies above the validation loss, and whether the training set
    evaluated in inference mode lies below the loss ``fit`` reports (means over seeds)."""
    fit_mean = float(last_epoch["loss"].mean())
    return {
        "fit loss above validation loss": fit_mean > float(last_epoch["val_loss"].mean()),
        "inference training loss below fit loss": float(final["train_loss"].mean()) < fit_mean,
    }


def check_counts(checks: Mapping[str, bool]) -> Glued:
    """How many of chapter 0's checks there are, how many hold, and whether all do."""
    holds = [bool(value) for value in checks.values()]
    return {"n_checks": str(len(holds)), "n_checks_hold": str(sum(holds)), "all_checks_hold": str(all(holds))}


def pilot_passage(pilot: control.Pilot, rate: float) -> Glued:
    """The pilot's passage: the dropout rate it tested, the label-noise share it chose (as a
    fraction and in words), and the gain of dropout with clean labels (the smallest share)."""
    clean = pilot.gains[min(pilot.gains)]
    return {
        "pilot_rate": f"{rate:g}",
        "chosen_noise": pilot.choice(),
        "chosen_noise_words": pilot.choice(percent=True),
        "clean_gain": clean.shown(),
        "clean_outcome": clean.decided(),
    }


# Chapter 1 ------------------------------------------------------------------------------


def c2_regimes(
    regimes: Mapping[str, pd.DataFrame], c2: verdicts.Assessment, *, fix: str, example: str, none: str
) -> Glued:
    """Per regime: the fix against no Dropout and against Example 1 (test accuracy), C2's
    verdict and its control in words; then the regime that decided the headline."""
    glued: Glued = {}
    for regime, runs in regimes.items():
        key = KEYS[regime]
        glued[f"fix_vs_nodrop_{key}"] = paired_words(runs, fix, none)
        glued[f"fix_vs_ex1_{key}"] = paired_words(runs, fix, example)
        glued[f"verdict_C2_{key}"] = c2.regimes[regime]
        glued[f"control_{key}_words"] = comparison(c2, "control", regime).words()
    glued["c2_regime"] = c2.regime()
    return glued


def symptom_words(c2: verdicts.Assessment) -> evidence.Decided:
    """Whether the article's symptom (Example 1 below the fix) was seen at its own settings."""
    return evidence.phrase(
        c2.per_regime[verdicts.ARTICLE]["symptom"],
        above="observed",
        no="not observed",
        inconclusive="not settled by these seeds",
    )


def c2_mechanism(c2: verdicts.Assessment) -> Glued:
    """The two halves of C2's mechanism in words: whether the variance shift is real, and
    whether the article's account of the training fit is right."""
    return {
        "fit_words": comparison(c2, "dropout-on").words(),
        "shift_words": evidence.phrase(c2.conditions["shift"], **SHIFT_WORDS),
        "training_words": evidence.phrase(c2.conditions["training_fit"], **TRAINING_WORDS),
    }


def remedy_reading(loss_change: stats.Estimate) -> evidence.Decided:
    """What re-estimating BN's statistics did to Example 1's test loss, read from the sign of
    the change (re-estimated minus as trained): the explanation the chapter gives for it."""
    statistic = "re-estimated minus Example 1, test loss"
    up = evidence.above(loss_change, 0.0, statistic)
    down = evidence.below(loss_change, 0.0, statistic)
    if str(up) == "True":
        text = (
            "At this rate the shift acted like a softmax temperature above 1: dividing by the "
            "inflated moving variance shrank the logits and lowered the confidence of a model "
            "that is otherwise over-confident, which helped its loss and calibration. Removing "
            "the shift takes that help away."
        )
    elif str(down) == "True":
        text = (
            "Removing the shift improves the loss, so the shift had a cost even where accuracy did not move."
        )
    else:
        text = (
            "Removing the shift changes neither loss nor accuracy detectably: "
            "at this rate it costs nothing measurable."
        )
    return evidence.combine(text, "sign of the test-loss change", [up, down])


def dose(dose_final: pd.DataFrame, rates: Sequence[float], depth: int) -> Glued:
    """The dose-response passage: the shift, the accuracy and loss re-estimation recovers,
    at the lowest and highest rate, one BN layer and the deepest stack (``depth``)."""
    low, high = min(rates), max(rates)

    def at(column: str, rate: float, stack: int) -> stats.Estimate:
        runs = dose_final[(dose_final["rate"] == rate) & (dose_final["depth"] == stack)]
        return stats.mean_ci(runs[column])

    def shown(column: str, rate: float, stack: int, difference: bool = False) -> evidence.Shown:
        return report.format_estimate(at(column, rate, stack), column, difference=difference)

    return {
        "dose_low": f"{low:g}",
        "dose_high": f"{high:g}",
        "dose_depth": str(depth),
        "shift_low_d1": shown("shift", low, 1),
        "shift_high_d1": shown("shift", high, 1),
        "shift_high_deep": shown("shift", high, depth),
        "cost_high_d1": shown("recovered_accuracy", high, 1, difference=True),
        "loss_cost_high_d1": shown("recovered_loss", high, 1),
        "cost_high_deep": shown("recovered_accuracy", high, depth, difference=True),
        "loss_cost_high_deep": shown("recovered_loss", high, depth),
        "pred_high_deep": shown("predicted_shift", high, depth),
        "acc_high_deep": shown("test_accuracy", high, depth),
        "dose_harm": evidence.above(
            at("recovered_accuracy", high, depth),
            0.0,
            "accuracy gained by re-estimation, deepest stack, highest rate",
        ),
    }


# Chapter 2 ------------------------------------------------------------------------------


def assess_c1(table: pd.DataFrame, mean_ratios: Sequence[float], unchanged: bool) -> verdicts.Assessment:
    """C1 from chapter 2's checks: ``table`` (one row per rate: whether ``training=False``
    returns the input), the training-mode mean ratios over masks, and whether ``predict``
    left every weight unchanged."""
    return verdicts.assess_c1(list(mean_ratios), _holds(table, "training=False returns x"), unchanged)


def _holds(table: pd.DataFrame, column: str) -> bool:
    """Whether a check column of chapter 2's table holds at every rate."""
    return bool(table[column].all())


def c1_passage(table: pd.DataFrame, rate: float, unchanged: bool, c1: verdicts.Assessment) -> Glued:
    """Chapter 2's check of the layer itself: identity at inference, outputs 0 or
    x/(1-rate) in training, weights untouched by ``predict``, the mean ratio at ``rate`` (a
    row of ``table``), the ratio's comparison in words and C1's verdict."""
    return {
        "c1_identity": str(_holds(table, "training=False returns x")),
        "c1_scaled": str(_holds(table, "every output 0 or x/(1-rate)")),
        "c1_weights": str(unchanged),
        "c1_mean_ratio": table["mean(y) / mean(x)"][rate],
        "c1_ratio_words": comparison(c1, "mean(y) / mean(x)").words(),
        "verdict_C1": c1.verdict,
    }


def trajectory_gap(history: pd.DataFrame, a: str, b: str) -> evidence.Shown:
    """The largest absolute difference between configs ``a`` and ``b`` in any recorded
    per-epoch metric (training and validation loss and accuracy), over every epoch and
    seed: 0 when two orderings compute the same function from the same start."""
    metrics = ["loss", "accuracy", "val_loss", "val_accuracy"]
    left = history[history["config"] == a][metrics].to_numpy()
    right = history[history["config"] == b][metrics].to_numpy()
    if left.shape != right.shape or not left.size:
        raise ValueError(
            f"{a!r} and {b!r} need the same non-empty epochs and seeds; got {left.shape} and {right.shape}"
        )
    return report.value(float(np.abs(left - right).max()), 3)


def orderings(
    regimes: Mapping[str, pd.DataFrame],
    c3: verdicts.Assessment,
    c4: verdicts.Assessment,
    best: Mapping[str, rules.Best],
    *,
    example: str,
    others: Sequence[str],
    none: str,
) -> Glued:
    """Chapter 2's verdict passage: per regime, the best ordering on validation accuracy,
    C3's and C4's verdicts, Example 2 against no Dropout, how many orderings are better,
    worse or equivalent (one Holm family), whether placement matters and the control."""
    glued: Glued = {}
    for regime, runs in regimes.items():
        key = KEYS[regime]
        glued[f"best_{key}"] = best[regime].words()
        glued[f"verdict_C4_{key}"] = c4.regimes[regime]
        glued[f"verdict_C3_{key}"] = c3.regimes[regime]
        glued[f"ex2_vs_nodrop_{key}"] = paired_words(runs, example, none)
    glued["c4_regime"] = c4.regime()
    glued["verdict_C3"] = c3.verdict
    for regime, runs in regimes.items():
        key = KEYS[regime]
        family = verdicts.ordering_family(runs, example, others, regime)
        compared = list(family.values())
        for name, outcome in (("better", "above"), ("worse", "below"), ("equivalent", "equivalent")):
            glued[f"n_{name}_{key}"] = verdicts.count(f"{regime}: orderings {name}", compared, outcome)
        glued[f"placement_{key}"] = verdicts.placement(family, f"{regime}: placement matters")
        glued[f"control_{key}"] = c4.per_regime[regime]["control"]
    glued["n_better"] = c4.conditions["some_better"]
    glued["verdict_C4"] = c4.verdict
    return glued


def spread(final: pd.DataFrame, summary: pd.DataFrame, candidates: Sequence[str]) -> evidence.Shown:
    """Test accuracy of the highest-scoring candidate minus the lowest (paired by seed), as a
    difference in percentage points; ``summary`` is :func:`casekit.lab.stats.summarize` output."""
    ranked = summary.sort_values("test_accuracy_mean", ascending=False)["config"].tolist()
    kept = [name for name in ranked if name in candidates]
    gap = stats.paired_difference(final, "test_accuracy", kept[0], kept[-1])
    return report.format_estimate(gap, "test_accuracy", difference=True)


# Chapter 3 ------------------------------------------------------------------------------


def rate_estimates(final: pd.DataFrame, rates: Mapping[str, float]) -> Glued:
    """Per named rate (``{"high": 0.8, ...}``): train and test accuracy, the validation-loss
    trend rise, and the train-test accuracy gap."""
    glued: Glued = {}
    for prefix, rate in rates.items():
        glued.update(estimates(final, "train_accuracy", {f"{prefix}_train": rate}, by="rate"))
        glued.update(estimates(final, "test_accuracy", {f"{prefix}_test": rate}, by="rate"))
        glued.update(estimates(final, "rise", {f"{prefix}_rise": rate}, by="rate", unit="test_loss"))
        glued.update(estimates(final, "gap_accuracy", {f"{prefix}_gap": rate}, by="rate", difference=True))
    return glued


def c5_halves(c5: verdicts.Assessment) -> Glued:
    """Whether each half of C5 holds, per regime and at the article's settings, with the
    verdicts, the headline regime and the margins they were read against."""
    glued: Glued = {}
    for regime, key in KEYS.items():
        halves = c5.per_regime[regime]
        glued[f"high_holds_{key}"] = evidence.phrase(halves["high_rate_underfits"], **HOLDS)
        glued[f"low_holds_{key}"] = evidence.phrase(halves["low_rate_overfits"], **HOLDS)
        glued[f"verdict_C5_{key}"] = c5.regimes[regime]
    article = KEYS[verdicts.ARTICLE]  # the article's settings, also under the plain names
    glued["high_holds"], glued["low_holds"] = glued[f"high_holds_{article}"], glued[f"low_holds_{article}"]
    glued["c5_regime"] = c5.regime()
    glued["acc_margin"] = rules.ACCURACY.format()
    glued["rise_margin"] = rules.RISE.format()
    glued["verdict_C5"] = c5.verdict
    return glued


def _per_seed(final: pd.DataFrame, column: str, rate: float) -> list[float]:
    values: list[float] = final[final["rate"] == rate].sort_values("seed")[column].tolist()
    return values


def best_rates(final: pd.DataFrame, rates: Sequence[float]) -> tuple[rules.Best, rules.Best]:
    """The best rate by last-epoch validation accuracy and by validation loss (chosen on
    validation data, never on test), each by :func:`casekit.claims.rules.best`."""
    accuracy = rules.best({f"{r:g}": _per_seed(final, "val_accuracy", r) for r in rates}, rules.ACCURACY)
    loss = rules.best(
        {f"{r:g}": _per_seed(final, "val_loss", r) for r in rates}, rules.LOSS, higher_is_better=False
    )
    return accuracy, loss


def rates_where(statistic: str, conditions: Mapping[float, evidence.Decided]) -> evidence.Decided:
    """The rates whose condition is ``"True"`` (``"0.2, 0.5"`` or ``"none"``), as a decision as
    fragile as the nearest of them."""
    held = ", ".join(f"{rate:g}" for rate, condition in conditions.items() if str(condition) == "True")
    return evidence.combine(held or "none", statistic, conditions.values())


def fit_by_rate(final: pd.DataFrame, rises: pd.DataFrame, rates: Sequence[float], reference: float) -> Glued:
    """The best rates (validation), the test accuracy at the best one, the rates not separated
    from it, and which rates underfit (against ``reference``) or overfit."""
    accuracy, loss = best_rates(final, rates)
    under = {r: fitting.underfits(final, r, reference, by="rate").condition for r in rates if r != reference}
    over = {r: fitting.overfits(rises, r, by="rate").condition for r in rates}
    return {
        "best_rate": accuracy.words(),
        "best_loss_rate": loss.words(),
        "best_rate_acc": report.format_estimate(
            stats.estimate(final, "test_accuracy", rate=float(accuracy.top)), "test_accuracy"
        ),
        "flat_rates": accuracy.tied_words(),
        "underfit_rates": rates_where("rates that underfit", under),
        "overfit_rates": rates_where("rates that overfit", over),
    }


def overfit_words(rises: pd.DataFrame, rate: float) -> evidence.Decided:
    """Whether ``rate`` overfits by the trend definition, as a verb: does / does not / may or may not."""
    found = fitting.overfits(rises, rate, by="rate").condition
    return evidence.phrase(found, **{"True": "does", "False": "does not", "inconclusive": "may or may not"})


def widening(both: pd.DataFrame, final: pd.DataFrame, widths: Mapping[float, int], reference: float) -> Glued:
    """At the highest rate of ``widths``: the widened model (width 64 / (1 - rate)) against
    width 64 (test accuracy), its training accuracy, and whether it underfits the
    ``reference`` rate's model by the chapter's definition."""
    rate = max(widths)
    wide = widths[rate]
    at_rate = both[both["rate"] == rate]
    widened = pd.concat([final[final["rate"] == reference], at_rate[at_rate["width"] != 64]])
    under = fitting.underfits(widened, wide, 64, by="width").condition
    return {
        "width_high_rate": f"{rate:g}",
        "width_high": str(wide),
        "width_gain": paired_words(at_rate, wide, 64, by="width"),
        "width_train": report.format_estimate(
            stats.estimate(at_rate, "train_accuracy", width=wide), "train_accuracy"
        ),
        "width_reading": evidence.phrase(
            under,
            **{
                "True": "and by the definition the widened model underfits",
                "False": "and by the definition the widened model does not underfit",
                "inconclusive": "and whether the widened model underfits is not settled by these seeds",
            },
        ),
    }


# Chapter 4 ------------------------------------------------------------------------------

#: Words for C7's cost of Dropout before BN (after minus before, one Holm family over doses).
COST_WORDS = {"above": "costs accuracy", "no": "costs no accuracy", "inconclusive": "is not settled"}
#: Words for C8's comparison of SpatialDropout with Dropout by its outcome.
SPATIAL_WORDS = {
    "above": "regularizes better than Dropout",
    "equivalent": "regularizes as well as Dropout, not better",
    "below": "regularizes worse than Dropout",
    "inconclusive": "is not separated from Dropout by these seeds",
}


def blocks(units: pd.DataFrame) -> pd.DataFrame:
    """The per-unit probe table with ``block``: each BN layer's place (1, 2, ...) in its run,
    in the order the probe met them (the order of the forward pass)."""
    order = units.groupby(["config", "seed"], sort=False)["layer"].transform(
        lambda layers: layers.map({name: i + 1 for i, name in enumerate(dict.fromkeys(layers))})
    )
    return units.assign(block=order.astype(int))


def _block_median(units: pd.DataFrame, config: str, block: int, column: str) -> stats.Estimate:
    """The median over one block's channels of ``column``, per seed, with its interval over seeds."""
    rows = units[(units["config"] == config) & (units["block"] == block)].dropna(subset=["shift"])
    return stats.mean_ci(rows.groupby("seed")[column].median())


def conv_shift(units: pd.DataFrame, *, before: str, deep: str, spatial: str) -> Glued:
    """The per-channel variance shift against Li et al.'s closed form: in the first block of
    ``before`` and ``spatial`` (fed by nothing but the images, so the one-layer form is exact
    there) and in the last block of ``deep``, where earlier blocks' noise compounds."""
    table = blocks(units)
    last = int(table.loc[table["config"] == deep, "block"].max())
    error = table.assign(error=(table["shift"] / table["predicted_shift"] - 1).abs())

    def shown(config: str, block: int, column: str, frame: pd.DataFrame = table) -> evidence.Shown:
        return report.format_estimate(_block_median(frame, config, block, column))

    return {
        "conv_shift_first": shown(before, 1, "shift"),
        "conv_pred_first": shown(before, 1, "predicted_shift"),
        "conv_error_first": report.format_estimate(_block_median(error, before, 1, "error"), percent=True),
        "spatial_shift_first": shown(spatial, 1, "shift"),
        "spatial_pred_first": shown(spatial, 1, "predicted_shift"),
        "conv_deep_block": str(last),
        "conv_shift_deep": shown(deep, last, "shift"),
        "conv_pred_deep": shown(deep, last, "predicted_shift"),
    }


def conv_costs(final: pd.DataFrame, c7: verdicts.Assessment, doses: Mapping[str, tuple[str, str]]) -> Glued:
    """What placing Dropout before every BN costs at the first and the last dose (after minus
    before, test accuracy, at the Holm family's confidence), what re-estimating the BN
    statistics recovers there, and the smallest variance shift at which a cost was shown
    (the threshold ``casekit diagnose`` uses for convolutional networks)."""
    labels = list(doses)
    low, high = labels[0], labels[-1]
    recovered = final.assign(recovered=final["reest_test_accuracy"] - final["test_accuracy"])
    costly = [label for label in labels if comparison(c7, f"{label}:").outcome == "above"]
    shifts = [stats.estimate(final, "shift", config=doses[label][1]).mean for label in costly]

    def at(label: str, column: str, index: int, frame: pd.DataFrame = final) -> evidence.Shown:
        estimate = stats.estimate(frame, column, config=doses[label][index])
        return report.format_estimate(estimate, "test_accuracy", difference=column == "recovered")

    return {
        "conv_dose_low": low,
        "conv_dose_high": high,
        "conv_cost_low": comparison(c7, f"{low}:").shown(),
        "conv_cost_high": comparison(c7, f"{high}:").shown(),
        "conv_cost_words": evidence.phrase(c7.conditions["cost_somewhere"], **COST_WORDS),
        "n_doses_cost": verdicts.count(
            "doses where before-BN costs accuracy",
            list(c for c in c7.comparisons.values() if "after minus before" in c.name),
            "above",
        ),
        "n_doses": str(len(labels)),
        "conv_before_high": at(high, "test_accuracy", 1),
        "conv_reest_low": at(low, "recovered", 1, recovered),
        "conv_reest_high": at(high, "recovered", 1, recovered),
        "conv_warning_shift": report.value(min(shifts), 1) if shifts else "none",
        "conv_control_words": comparison(c7, "control").words(),
    }


#: BatchNormalization's default momentum: the weight its moving statistics keep per step.
BN_MOMENTUM = 0.99


def conv_training(dataset: Any, batch_size: int, epochs: int) -> Glued:
    """How much of BatchNormalization's initial moving variance is left after training:
    its momentum to the power of the training steps taken (a check that the moving
    statistics measured later are the trained network's, not their starting values)."""
    steps = -(-len(dataset.x_train) // batch_size) * epochs
    return {"moving_init_left": f"{BN_MOMENTUM**steps:.0e}"}


def conv_remedy(final: pd.DataFrame, doses: Mapping[str, tuple[str, str]]) -> Glued:
    """Whether re-estimating the BN statistics after training undoes the cost at the last
    dose: the network with dropout after the last BN minus the before-BN network with its
    statistics re-estimated, test accuracy paired by seed, against the accuracy margin.
    Within the margin, the cost was the inference-time shift; beyond it, the rest was done
    during training, where BN normalized with dropout noise in its batch statistics."""
    label = list(doses)[-1]
    after, before = doses[label]
    left = final[final["config"] == after].set_index("seed")["test_accuracy"]
    right = final[final["config"] == before].set_index("seed")["reest_test_accuracy"]
    residual = rules.compare(
        f"{label}: after minus re-estimated before, test accuracy",
        stats.mean_ci((left - right).dropna()),
        rules.ACCURACY,
    )
    words = {
        "equivalent": "undoes the cost: it was the shift at inference",
        "above": "leaves a cost: part of the harm is done during training, where BatchNormalization "
        "normalizes with the dropout noise in its batch statistics",
        "below": "more than undoes the cost",
        "inconclusive": "is not settled by these seeds",
    }
    return {
        "conv_residual": residual.shown(),
        "conv_remedy_words": evidence.phrase(residual.decided(), **words),
    }


def _rate_of(final: pd.DataFrame, config: str) -> str:
    return f"{float(final.loc[final['config'] == config, 'rate'].iloc[0]):g}"


def conv_regularizers(
    final: pd.DataFrame,
    c8: verdicts.Assessment,
    *,
    dropout: Sequence[str],
    spatial: Sequence[str],
    none: str,
    noise: float,
) -> Glued:
    """Section 4's passage: whether the network without dropout memorizes the wrong labels
    (its training accuracy on them above the ``1 - noise`` share that is right), the rate
    each kind of dropout was given on validation data, each one's gain over no dropout (test
    accuracy), SpatialDropout against Dropout, and the control."""
    plain, channel = verdicts.chosen_rate(final, dropout), verdicts.chosen_rate(final, spatial)
    fit = stats.estimate(final, "train_accuracy", config=none)
    right = 1 - noise
    memorizes = evidence.above(
        fit, right, "no dropout: training accuracy on the noisy labels above the right share"
    )
    return {
        "fit_none_noisy": report.format_estimate(fit, "train_accuracy"),
        "right_share": f"{right:.0%}",
        "memorizes_words": evidence.words(
            memorizes,
            "memorizes wrong labels, so a regularizer has something to prevent",
            "does not memorize them",
        ),
        "chosen_dropout": _rate_of(final, plain),
        "chosen_spatial": _rate_of(final, channel),
        "gain_dropout": paired_words(final, plain, none),
        "gain_spatial": comparison(c8, f"{channel} minus {none}, test").shown(),
        "spatial_vs_dropout": comparison(c8, f"{channel} minus {plain}, test").shown(),
        "spatial_words": evidence.phrase(c8.conditions["advantage"], **SPATIAL_WORDS),
        "spatial_control_words": comparison(c8, "control").words(),
        "acc_none_noisy": report.format_estimate(
            stats.estimate(final, "test_accuracy", config=none), "test_accuracy"
        ),
    }


# Chapter 5 ------------------------------------------------------------------------------


def power_counts(power: pd.DataFrame, records: Iterable[Mapping[str, Any]]) -> Glued:
    """How many comparisons the ledger lists, how many are inconclusive, how many of those
    are underpowered (fewer seeds than 80% power needs) and the most seeds any needs."""
    undecided = power[power["outcome"] == "inconclusive"]
    underpowered = undecided[undecided["seeds for 80%"] > undecided["seeds"]]
    return {
        "n_comparisons": str(len(power)),
        "n_inconclusive": str(len(undecided)),
        "n_underpowered": str(len(underpowered)),
        "n_fragile": str(sum(bool(r["fragile"]) for r in records)),
        "seeds_needed_max": str(int(underpowered["seeds for 80%"].max())) if len(underpowered) else "none",
    }


def c6_from(chapters: Path) -> verdicts.Assessment:
    """C6 from what chapters 0 and 2 glued (in the directory ``chapters``): per regime,
    whether placement matters and whether its control holds, and chapter 0's phase checks."""
    title = ledger.glued_values(chapters / "00-why-dropout-seems-broken.ipynb")
    ordering = ledger.glued_decisions(chapters / "02-ordering.ipynb")
    return verdicts.assess_c6(
        {regime: ordering[f"placement_{key}"] for regime, key in KEYS.items()},
        {regime: ordering[f"control_{key}"] for regime, key in KEYS.items()},
        phases_hold=title["all_checks_hold"] == "True",
    )


def ledger_decisions(records: Iterable[Mapping[str, Any]]) -> Glued:
    """Each claim's ledger row as a decision (``ledger_C1``...), for the prose."""
    return {f"ledger_{record['id']}": ledger.decision(dict(record)) for record in records}


# Chapter 6 ------------------------------------------------------------------------------


def exact_checks(table: pd.DataFrame, column: str = "tensorflow") -> Glued:
    """How many of the backend checks are exact (true/false, not measured floats) and how
    many of those agree across backends."""
    exact = table[[isinstance(v, bool) for v in table[column]]]
    return {"n_checks": str(len(exact)), "n_same": str(int(exact["same"].sum()))}


def verdict_agreement(compared: pd.DataFrame, claims: Sequence[str]) -> str:
    """How the verdicts of ``claims`` in ``compared`` (a value-by-value comparison of two runs
    with a ``rule`` column: ``"agree"``, ``"fragile decision moved"`` or ``"differ"``) agree,
    as the words that follow "Chapters 1-3 run on JAX at the book profile": the same
    verdicts, the same except verdicts the reference marks as fragile (within run-to-run
    noise of their threshold, so either side of it is the same evidence), or not the same.
    """
    rows = compared[compared["value"].isin([f"verdict_{claim}" for claim in claims])]
    missing = sorted(set(claims) - {value.removeprefix("verdict_") for value in rows["value"]})
    if missing:
        raise ValueError(f"no verdict to compare for {', '.join(missing)}")

    def names(rule: str) -> list[str]:
        return [v.removeprefix("verdict_") for v in rows.loc[rows["rule"] == rule, "value"]]

    if differ := names("differ"):
        verb = "differs" if len(differ) == 1 else "differ"
        return f"do not reach the same verdicts: {' and '.join(differ)} {verb} beyond the run-to-run noise"
    if moved := names("fragile decision moved"):
        return (
            f"reach the same verdicts, except {' and '.join(moved)}, which moved: "
            "a verdict the TensorFlow run marks as fragile, within run-to-run noise of its threshold"
        )
    return "reach the same verdicts"


def jax_verdicts(profile: str, executed: Path | None, claims: Sequence[str]) -> Glued:
    """Each of ``claims``' verdicts as the chapter that decides it (:data:`ledger.CLAIMS`),
    executed on JAX into ``executed``, glued it. Where the JAX run was not made
    (``executed`` is None), words that say so for the ``profile``."""
    if executed is None:
        return {f"jax_{claim}": f"not run at profile {profile}" for claim in claims}
    deciding = {claim.id: claim.chapter for claim in ledger.CLAIMS}
    return {
        f"jax_{claim}": ledger.glued_decisions(executed / f"{deciding[claim]}.ipynb")[f"verdict_{claim}"]
        for claim in claims
    }


def jax_agreement(profile: str, compared: pd.DataFrame | None, claims: Sequence[str]) -> Glued:
    """How many glued values the JAX run was compared on, how many agree by the regression
    rule, and the verdicts' agreement in words; where it was not run, zeros and words that say so."""
    if compared is None:
        return {"n_values": "0", "n_agree": "0", "jax_agreement": f"were not run (profile {profile})"}
    return {
        "n_values": str(len(compared)),
        "n_agree": str(int((compared["rule"] != "differ").sum())),
        "jax_agreement": verdict_agreement(compared, claims),
    }
