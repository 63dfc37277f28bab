"""Every claim's verdict, decided from recorded conditions by one tested rule per claim.

A chapter measures conditions (``evidence.condition``: a yes/no with the statistic that
decided it and its distance from the threshold) and calls :func:`decide`. The verdict
is a :class:`casekit.claims.evidence.Decided` that records which condition could change it,
how far that condition's statistic lies from its threshold in standard errors, and, when
that condition is fragile, the verdict the other answer would give. The ledger shows a
fragile verdict as such ("supported (fragile)").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from casekit.claims import evidence, fitting
from casekit.lab import stats


def c1(weights_never_scaled: bool) -> str:
    """C1 "weights are implicitly scaled down during inference": refuted when inference is
    the identity and predict leaves every weight bit-identical."""
    return "refuted" if weights_never_scaled else "supported"


def c2(shift_above_one: bool, symptom_seen: bool, stats_right_for_training: bool) -> str:
    """C2 "Dropout before BN makes the statistics unreliable": supported when the variance
    shift is real, the symptom shows and the statistics are wrong even for training; partly
    supported when only the shift at inference is real; refuted without a shift."""
    if shift_above_one and symptom_seen and not stats_right_for_training:
        return "supported"
    return "partly supported" if shift_above_one else "refuted"


def c3(relu_orders_identical: bool) -> str:
    """C3 "Dropout after the activation is unintended": refuted when, for the article's
    ReLU, both orders are the same function for the same mask."""
    return "refuted" if relu_orders_identical else "partly supported"


def c4(some_ordering_better: bool, every_ordering_worse: bool) -> str:
    """C4 "BN -> Dropout -> activation is the correct placement": refuted when another
    ordering is detectably better; supported when every other one is detectably worse."""
    if some_ordering_better:
        return "refuted"
    return "supported" if every_ordering_worse else "partly supported"


def c5(high_rate_underfits: bool, low_rate_overfits: bool) -> str:
    """C5 "rate 0.8 underfits, rate 0.2 overfits": one verdict step per half that holds."""
    return ("refuted", "partly supported", "supported")[int(high_rate_underfits) + int(low_rate_overfits)]


def c6(
    title_checks_hold: bool, placement_matters_at_article_settings: bool, placement_matters_at_high_dose: bool
) -> str:
    """C6 "efficacy hinges critically on placement ... and the training/inference phases".

    Supported when both halves hold at the article's own settings; partly supported when
    the training/inference half holds or placement matters only at higher dose; refuted
    when neither holds.
    """
    if title_checks_hold and placement_matters_at_article_settings:
        return "supported"
    if title_checks_hold or placement_matters_at_high_dose:
        return "partly supported"
    return "refuted"


RULES: Mapping[str, Callable[..., str]] = {"C1": c1, "C2": c2, "C3": c3, "C4": c4, "C5": c5, "C6": c6}


def _holds(condition: evidence.Decided | bool) -> bool:
    if isinstance(condition, evidence.Decided):
        return str(condition) == "True"
    return bool(condition)


def decide(claim: str, **conditions: evidence.Decided | bool) -> evidence.Decided:
    """The verdict on ``claim`` with the conditions its rule takes.

    Each condition is flipped in turn: those whose flip changes the verdict decide it.
    The verdict's distance is the smallest distance among them; it is fragile when one of
    them is fragile, and its alternatives are the verdicts those fragile flips give.
    """
    if claim not in RULES:
        raise ValueError(f"unknown claim {claim!r}; allowed: {', '.join(RULES)}")
    rule = RULES[claim]
    values = {name: _holds(c) for name, c in conditions.items()}
    verdict = rule(**values)
    deciding: list[str] = []
    alternatives: list[str] = []
    distance = math.inf
    fragile = False
    for name, condition in conditions.items():
        other = rule(**{**values, name: not values[name]})
        if other == verdict:
            continue
        deciding.append(name)
        if isinstance(condition, evidence.Decided):
            distance = min(distance, condition.distance)
            if condition.fragile:
                fragile = True
                alternatives.append(other)
    statistic = f"verdict on {claim}, decided by " + (", ".join(deciding) or "no single condition")
    return evidence.decided(verdict, statistic, distance, fragile, sorted(set(alternatives)), strict=True)


# --- Conditions measured from results -------------------------------------------------------
#
# Each ``assess_*`` function takes a chapter's tidy results (``casekit.lab.training.Results.final``
# and friends), computes the conditions its claim's rule takes, and returns them with the
# verdict, so a chapter makes one call and glues what it returns.


@dataclass(frozen=True)
class Assessment:
    """A claim's verdict with the conditions it was decided from, and the estimates behind them."""

    claim: str
    verdict: evidence.Decided
    conditions: dict[str, evidence.Decided]
    estimates: dict[str, stats.Estimate] = field(default_factory=dict)


def _assess(claim: str, conditions: dict[str, evidence.Decided], **estimates: stats.Estimate) -> Assessment:
    return Assessment(claim, decide(claim, **conditions), conditions, estimates)


def assess_c1(inference_is_identity: bool, weights_unchanged_by_predict: bool) -> Assessment:
    """C1 from two exact checks on the real layer: ``training=False`` returns its input, and
    ``predict`` leaves every weight bit-identical."""
    never = inference_is_identity and weights_unchanged_by_predict
    holds = evidence.condition(never, "inference is the identity and predict leaves weights unchanged")
    return _assess("C1", {"weights_never_scaled": holds})


def assess_c2(final: pd.DataFrame, *, example: str, fix: str) -> Assessment:
    """C2 from chapter 1's runs (``final`` with the probe columns of
    :func:`casekit.lab.probes.shift_and_reestimate`): ``example`` is Example 1's config, ``fix``
    the reordered model's.

    - symptom: the fix beats Example 1, test accuracy up or test loss down, paired by seed;
    - shift: Example 1's moving / inference variance ratio lies above 1;
    - right for training: its moving / dropout-on variance ratio lies within 10% of 1.
    """
    accuracy = stats.paired_difference(final, "test_accuracy", fix, example)
    loss = stats.paired_difference(final, "test_loss", fix, example)
    shift = stats.estimate(final, "shift", config=example)
    fit = stats.estimate(final, "training_fit", config=example)
    conditions = {
        "symptom_seen": evidence.any_of(
            "the fix beats Example 1 (test accuracy up or test loss down, paired by seed)",
            evidence.above(accuracy, 0.0, "fix minus Example 1, test accuracy"),
            evidence.below(loss, 0.0, "fix minus Example 1, test loss"),
        ),
        "shift_above_one": evidence.above(shift, 1.0, "Example 1: moving / inference variance above 1"),
        "stats_right_for_training": evidence.all_of(
            "moving / dropout-on variance within 10% of 1",
            evidence.above(fit, 0.9, "moving / dropout-on variance above 0.9"),
            evidence.below(fit, 1.1, "moving / dropout-on variance below 1.1"),
        ),
    }
    return _assess("C2", conditions, accuracy_gap=accuracy, loss_gap=loss, shift=shift, training_fit=fit)


def assess_c3(relu_max_difference: float) -> Assessment:
    """C3 from the largest |f(m*z) - m*f(z)| for ReLU with one real mask: zero means the two
    orders are the same function."""
    same = evidence.condition(relu_max_difference == 0, "ReLU: max |f(m*z) - m*f(z)| is zero")
    return _assess("C3", {"relu_orders_identical": same})


def assess_c4(final: pd.DataFrame, *, example: str, others: Sequence[str]) -> Assessment:
    """C4 from chapter 2's runs: each ordering in ``others`` against ``example`` (Example 2),
    test accuracy paired by seed. Conditions ``better:<name>`` and ``worse:<name>`` hold when
    the paired 95% interval lies above or below zero."""
    if not others:
        raise ValueError("assess_c4 needs at least one other ordering")
    better, worse = {}, {}
    for name in others:
        gap = stats.paired_difference(final, "test_accuracy", name, example)
        better[name] = evidence.above(gap, 0.0, f"{name} minus Example 2, test accuracy")
        worse[name] = evidence.below(gap, 0.0, f"{name} minus Example 2, test accuracy")
    some_better = evidence.any_of("some ordering detectably better than Example 2", *better.values())
    every_worse = evidence.all_of("every ordering detectably worse than Example 2", *worse.values())
    verdict = decide("C4", some_ordering_better=some_better, every_ordering_worse=every_worse)
    conditions = {
        "some_ordering_better": some_better,
        "some_ordering_worse": evidence.any_of(
            "some ordering detectably worse than Example 2", *worse.values()
        ),
        "every_ordering_worse": every_worse,
        "n_better": evidence.combine(
            str(sum(c == "True" for c in better.values())), "orderings better", better.values()
        ),
        "n_worse": evidence.combine(
            str(sum(c == "True" for c in worse.values())), "orderings worse", worse.values()
        ),
    }
    return Assessment("C4", verdict, conditions)


def assess_c5(
    final: pd.DataFrame, rises: pd.DataFrame, *, high: float, low: float, reference: float
) -> Assessment:
    """C5 from chapter 3's sweep, by the ``rate`` column: rate ``high`` underfits and rate
    ``low`` overfits against the rate ``reference`` model (:mod:`casekit.claims.fitting`'s definitions)."""
    under = fitting.underfits(final, high, reference, by="rate")
    over = fitting.overfits(rises, low, by="rate")
    conditions = {"high_rate_underfits": under.condition, "low_rate_overfits": over.condition}
    return _assess("C5", conditions, train_gap=under.estimate, rise=over.estimate)
