"""Every claim's verdict, decided from recorded conditions by one tested rule per claim.

A chapter measures conditions (``evidence.condition``: a yes/no with the statistic that
decided it and its distance from the threshold) and calls :func:`decide`. The verdict
is a :class:`casekit.evidence.Decided` that records which condition could change it,
how far that condition's statistic lies from its threshold in standard errors, and, when
that condition is fragile, the verdict the other answer would give. The ledger shows a
fragile verdict as such ("supported (fragile)").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from casekit import evidence

VERDICTS = ("supported", "partly supported", "refuted")


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


def label(verdict: str, fragile: bool) -> str:
    """The verdict as the ledger shows it: ``"supported (fragile)"`` when it is fragile."""
    return f"{verdict} (fragile)" if fragile else verdict
