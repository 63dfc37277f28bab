"""Every claim's verdict, decided from recorded conditions by one rule per claim, stated
before the runs.

Each rule (:func:`c1` ... :func:`c6`) maps its conditions, each an outcome of comparisons
against practical margins (:mod:`casekit.claims.rules`) or an exact check, to one of four
verdicts: supported, partly supported, refuted, inconclusive. :data:`DOMAINS` lists every
value each condition can take; ``tests/test_verdicts.py`` enumerates them and shows that each
rule reaches every verdict.

A chapter calls an ``assess_*`` function with its runs in each regime (the article's
settings, and noisy labels, where dropout measurably helps). The same rule decides every
regime; the headline verdict (:func:`headline`) is the one in the first regime whose
positive control holds: dropout itself beats no dropout there by the margin, so "placement
makes no difference" cannot be mistaken for "dropout does nothing here".

A verdict records which condition could change it, how far that condition's statistic lies
from its threshold in standard errors, and, when that condition is fragile, the verdicts its
other values would give. The ledger shows a fragile verdict as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from casekit.claims import evidence, fitting, report, rules
from casekit.lab import stats

YES, NO = "True", "False"
OUTCOME = rules.OUTCOMES
#: A combined outcome: some comparison has it, none does, or some is inconclusive.
SOME = ("above", "no", "inconclusive")
#: A condition that can be undecided.
MAYBE = (YES, NO, "inconclusive")


def c1(expectation_kept: str, weights_never_scaled: str) -> str:
    """C1 "Keras handles this automatically; the weights are implicitly scaled down during
    inference".

    ``expectation_kept``: mean(y) / mean(x) of Dropout in training mode against 1 (ratio
    margin); ``weights_never_scaled``: inference is the identity and predict leaves every
    weight bit-identical. Refuted when the expectation is not kept (Keras would not handle
    it); supported when it is and the weights are scaled; partly supported when it is kept by
    scaling the kept activations up in training instead ("inverted dropout", functionally
    equivalent to scaling the weights down at test time, Srivastava et al. 2014): the
    automatic handling is real, the mechanism named is not.
    """
    if expectation_kept in ("above", "below"):
        return "refuted"
    if expectation_kept == "inconclusive":
        return "inconclusive"
    return "partly supported" if weights_never_scaled == YES else "supported"


def c2(shift: str, training_fit: str, symptom: str, control: str) -> str:
    """C2 "Dropout before BN makes the statistics unreliable ... distorting the normalization".

    ``shift``: Example 1's moving / inference variance ratio minus the same ratio without
    Dropout, paired by seed; ``training_fit``: its moving / dropout-on variance ratio minus the
    same ratio without Dropout (Keras's moving variance averages biased batch variances, so
    even without Dropout that ratio sits a little below 1); both against the ratio margin.
    ``symptom``: the fix minus Example 1, test accuracy, ``"above"`` when it gains beyond the
    accuracy margin; ``control``: dropout itself helps (beyond the margin, on validation data)
    in the regime, so a missing symptom means something.

    Refuted when the statistics shift in neither direction (shown equivalent); supported
    when they shift, are off even for training, and the symptom shows; partly supported when
    they shift but are right for training (the distortion exists only at inference) or there
    is no symptom where dropout matters; inconclusive when an undecided input could change it.
    """
    if shift == "equivalent":
        return "refuted"
    if shift == "inconclusive":
        return "inconclusive"
    if training_fit == "equivalent":
        return "partly supported"
    if symptom == "above" and training_fit != "inconclusive":
        return "supported"
    if "inconclusive" in (training_fit, symptom) or control != YES:
        return "inconclusive"
    return "partly supported"


def c3(relu_orders_identical: str, order_effect: str) -> str:
    """C3 "Dropout after the activation ... unintended behavior".

    ``relu_orders_identical``: for the article's ReLU, masking before and after the activation
    is the same function for every mask (an exact check); ``order_effect``: Example 2 minus the
    same layers with Dropout after ReLU, test accuracy. Supported when the order changes the
    outcome beyond the margin; refuted when it does not and the two are the same function;
    partly supported when they differ as functions but not in outcome.
    """
    if order_effect in ("above", "below"):
        return "supported"
    if order_effect == "inconclusive":
        return "inconclusive"
    return "refuted" if relu_orders_identical == YES else "partly supported"


def c4(some_better: str, every_worse: str, control: str) -> str:
    """C4 "BN -> Dropout -> activation is the correct placement".

    Against Example 2, every ordering that computes a different function (test accuracy,
    Holm family): refuted when some other ordering is better beyond the margin; supported
    when every one is worse beyond it, in a regime where dropout itself helps
    (``control``); inconclusive when an undecided comparison or a failed control leaves it
    open; partly supported otherwise (Example 2 is as good as the best, not uniquely right).
    """
    if some_better == "above":
        return "refuted"
    if control != YES:
        return "inconclusive"
    if every_worse == YES:
        return "supported"
    return "inconclusive" if some_better == "inconclusive" else "partly supported"


def c5(high_rate_underfits: str, low_rate_overfits: str) -> str:
    """C5 "rate 0.8 underfits, rate 0.2 overfits": supported when both halves hold, partly
    when one does and the other does not, refuted when neither does; inconclusive when an
    undecided half could change the verdict."""
    halves = (high_rate_underfits, low_rate_overfits)
    if halves == (YES, YES):
        return "supported"
    if "inconclusive" in halves:
        return "inconclusive"
    return "partly supported" if YES in halves else "refuted"


def c6(placement: str, phases_hold: str, control: str) -> str:
    """C6 "efficacy hinges critically on its placement ... and the training/inference phases".

    ``placement``: some comparison of chapter 2's Holm family (every ordering that computes
    another function, against Example 2, test accuracy) differs beyond the margin,
    ``"above"`` here meaning either direction; ``phases_hold``: the training/inference checks of chapter 0;
    ``control``: dropout itself helps in a regime tested. Supported when both halves hold;
    partly supported when one does; refuted when placement makes no difference (shown
    equivalent, where dropout matters) and the phase checks fail; inconclusive when an
    undecided placement comparison or a failed control could change that.
    """
    if placement == "above":
        return "supported" if phases_hold == YES else "partly supported"
    if placement == "inconclusive" or control != YES:
        return "inconclusive"
    return "partly supported" if phases_hold == YES else "refuted"


def c7(shift: str, cost_somewhere: str, cost_everywhere: str, control: str) -> str:
    """C7 "Dropout before BatchNormalization costs accuracy in convolutional networks" (Li et
    al. 2019's variance shift, tested in its home setting).

    ``shift``: the Dropout-before-BN network's moving / inference variance ratio minus the
    same ratio without dropout, paired by seed, against the ratio margin; ``cost_somewhere``
    and ``cost_everywhere``: the network with the dropout after the last BN minus the one with
    it before every BN, test accuracy, one Holm family over every dose (rate x depth) tested:
    above the accuracy margin at some dose, and at every dose; ``control``: dropout after the
    last BN beats no dropout on validation data, so "no cost" is read where dropout acts.

    Supported when the cost shows at every dose and the variance shifts; partly supported
    when it shows at some doses only (or without a measured shift); refuted when no dose
    shows it and the control holds; inconclusive when an undecided comparison or a failed
    control leaves it open.
    """
    if cost_somewhere == "above":
        return "supported" if cost_everywhere == YES and shift == "above" else "partly supported"
    if cost_somewhere == "inconclusive" or control != YES:
        return "inconclusive"
    return "refuted"


def c8(advantage: str, spatial_gain: str, control: str) -> str:
    """C8 "Dropout barely regularizes a conv net; use SpatialDropout" (chapter 0's advice).

    ``advantage``: SpatialDropout minus Dropout, each at its rate chosen on validation data,
    test accuracy paired by seed, against the accuracy margin; ``spatial_gain``: SpatialDropout
    minus no dropout, the same way; ``control``: some dropout beats no dropout on validation
    data in the regime (regularization matters there).

    Supported when SpatialDropout beats Dropout beyond the margin; partly supported when the
    two are shown equivalent and SpatialDropout itself regularizes (a gain beyond the margin):
    a good choice, not a better one; refuted when Dropout is better, or when they are
    equivalent and SpatialDropout gains nothing; inconclusive when a comparison is undecided
    or dropout does not matter in the regime.
    """
    if advantage == "above":
        return "supported"
    if advantage == "inconclusive" or control != YES:
        return "inconclusive"
    if advantage == "equivalent" and spatial_gain == "above":
        return "partly supported"
    if advantage == "equivalent" and spatial_gain == "inconclusive":
        return "inconclusive"
    return "refuted"


RULES: Mapping[str, Callable[..., str]] = {
    "C1": c1,
    "C2": c2,
    "C3": c3,
    "C4": c4,
    "C5": c5,
    "C6": c6,
    "C7": c7,
    "C8": c8,
}

#: The values each rule's conditions can take (the reachability test enumerates them).
DOMAINS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "C1": {"expectation_kept": OUTCOME, "weights_never_scaled": (YES, NO)},
    "C2": {"shift": OUTCOME, "training_fit": OUTCOME, "symptom": SOME, "control": (YES, NO)},
    "C3": {"relu_orders_identical": (YES, NO), "order_effect": OUTCOME},
    "C4": {"some_better": SOME, "every_worse": (YES, NO), "control": (YES, NO)},
    "C5": {"high_rate_underfits": MAYBE, "low_rate_overfits": MAYBE},
    "C6": {"placement": SOME, "phases_hold": (YES, NO), "control": (YES, NO)},
    "C7": {"shift": OUTCOME, "cost_somewhere": SOME, "cost_everywhere": (YES, NO), "control": (YES, NO)},
    "C8": {"advantage": OUTCOME, "spatial_gain": OUTCOME, "control": (YES, NO)},
}


def decide(claim: str, **conditions: evidence.Decided | str | bool) -> evidence.Decided:
    """The verdict on ``claim`` with the conditions its rule takes (:data:`DOMAINS`).

    Each condition is set in turn to every other value it can take: those that change the
    verdict decide it. The verdict's distance is the smallest distance among them; it is
    fragile when one of them is fragile, and its alternatives are the verdicts those fragile
    conditions' other values give.
    """
    if claim not in RULES:
        raise ValueError(f"unknown claim {claim!r}; allowed: {', '.join(RULES)}")
    domains = DOMAINS[claim]
    if set(conditions) != set(domains):
        raise ValueError(
            f"{claim} takes conditions {', '.join(domains)}; got {', '.join(conditions) or 'none'}"
        )
    rule = RULES[claim]
    values = {name: _value(c) for name, c in conditions.items()}
    for name, value in values.items():
        if value not in domains[name]:
            raise ValueError(f"{claim}: {name} must be one of {', '.join(domains[name])}; got {value!r}")
    verdict = rule(**values)
    deciding: list[str] = []
    alternatives: list[str] = []
    distance = math.inf
    fragile = False
    for name, condition in conditions.items():
        others = {rule(**{**values, name: other}) for other in domains[name] if other != values[name]}
        others.discard(verdict)
        if not others:
            continue
        deciding.append(name)
        if isinstance(condition, evidence.Decided):
            distance = min(distance, condition.distance)
            if condition.fragile:
                fragile = True
                alternatives.extend(others)
    statistic = f"verdict on {claim}, decided by " + (", ".join(deciding) or "no single condition")
    return evidence.decided(verdict, statistic, distance, fragile, sorted(set(alternatives)), strict=True)


def _value(condition: evidence.Decided | str | bool) -> str:
    if isinstance(condition, bool):
        return YES if condition else NO
    return str(condition)


# --- Conditions measured from results -------------------------------------------------------
#
# Each ``assess_*`` function takes a chapter's tidy results (``casekit.lab.training.Results.final``
# and friends), computes the conditions its claim's rule takes, and returns them with the
# verdict, so a chapter makes one call and glues what it returns.


#: The regimes a chapter trains in: the article's own settings, and the same models with a
#: share of the training labels replaced by wrong digits, where dropout measurably helps
#: (the positive control; chosen on validation data by the pilot in chapter 0).
ARTICLE, NOISY = "article's settings", "noisy labels"
#: The regime of a network that is not the article's, trained on the digits as they are.
CLEAN = "clean labels"


@dataclass(frozen=True)
class Assessment:
    """A claim's verdict with the conditions it was decided from, in every regime tested.

    ``verdict`` is the headline (:func:`headline`); ``regimes`` the verdict the same rule
    gives in each regime; ``conditions`` the headline regime's conditions; ``comparisons``
    every comparison behind them, by name."""

    claim: str
    verdict: evidence.Decided
    conditions: dict[str, evidence.Decided]
    regimes: dict[str, evidence.Decided] = field(default_factory=dict)
    per_regime: dict[str, dict[str, evidence.Decided]] = field(default_factory=dict)
    estimates: dict[str, stats.Estimate] = field(default_factory=dict)
    comparisons: dict[str, rules.Comparison] = field(default_factory=dict)
    controls: dict[str, evidence.Decided] = field(default_factory=dict)

    def regime(self) -> evidence.Decided:
        """The regime that decided the headline, as a decision as fragile as the controls
        that chose it."""
        return evidence.combine(
            str(self.verdict.part["regime"]), "the headline regime", self.controls.values()
        )

    def table(self) -> evidence.Table:
        """The verdict in every regime side by side: each condition, the control, the verdict."""
        rows: dict[str, dict[str, str]] = {}
        for regime, conditions in self.per_regime.items():
            chosen = "yes" if regime == self.verdict.part["regime"] else ""
            headline = evidence.combine(chosen, "the headline regime", self.controls.values())
            rows[regime] = {**conditions, "verdict": self.regimes[regime], "headline": headline}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "regime"
        return report.table(frame)

    def comparisons_table(self) -> evidence.Table:
        """Every comparison behind the verdict: the difference with its interval (at its Holm
        step's confidence), the margin, the outcome and the family it was adjusted in. The
        power of each, and the seeds 80% power would need, are listed by the ledger."""
        rows = [
            {
                "regime": c.regime or "-",
                "comparison": c.name,
                "difference": c.shown(),
                "interval": evidence.decided(
                    rules.level(c.confidence), "confidence of the Holm step", c.distance(), c.fragile()
                ),
                "margin": f"±{c.margin.format()}",
                "outcome": c.decided(),
                "family": str(c.family_size),
            }
            for c in self.comparisons.values()
        ]
        return report.table(pd.DataFrame(rows).set_index(["regime", "comparison"]))


def count(statistic: str, comparisons: Sequence[rules.Comparison], outcome: str) -> evidence.Decided:
    """How many of ``comparisons`` have ``outcome``, as a decision as fragile as the nearest."""
    return rules.combined(statistic, str(sum(c.outcome == outcome for c in comparisons)), comparisons)


def control(
    final: pd.DataFrame, dropout: object, none: object, *, regime: str, by: str = "config"
) -> rules.Comparison:
    """The positive control of a regime: the model with dropout minus the same model without
    it, validation accuracy (last epoch) paired by seed, against the accuracy margin. It
    chooses the headline regime, so it reads the validation digits, never the test digits."""
    gap = stats.paired_difference(final, "val_accuracy", dropout, none, by=by)
    name = f"control: {_label(by, dropout)} minus {_label(by, none)}, validation accuracy"
    return rules.compare(name, gap, rules.ACCURACY, regime=regime)


def _label(by: str, value: object) -> str:
    return f"{by} {value:g}" if isinstance(value, float) else str(value)


def holds(comparison: rules.Comparison, statistic: str) -> evidence.Decided:
    """Whether a control holds (its gain lies above the margin), with the comparison's record."""
    return rules.combined(statistic, YES if comparison.outcome == "above" else NO, [comparison])


def headline(
    claim: str,
    per_regime: Mapping[str, Mapping[str, evidence.Decided]],
    controls: Mapping[str, evidence.Decided],
) -> tuple[evidence.Decided, dict[str, evidence.Decided]]:
    """The verdict in every regime by the claim's rule, and the headline: the verdict in the
    first regime (in the order given, the article's settings first) whose positive control
    holds, or in the first regime when none does (its rule then sees the failed control).

    The headline's record names its regime and carries every comparison its conditions rest on.
    """
    verdicts = {regime: decide(claim, **conditions) for regime, conditions in per_regime.items()}
    chosen = next((r for r in per_regime if str(controls.get(r, YES)) == YES), next(iter(per_regime)))
    verdict = verdicts[chosen]
    verdict.part["regime"] = chosen
    verdict.part["regimes"] = {regime: str(v) for regime, v in verdicts.items()}
    unique: dict[tuple[str, str], dict[str, object]] = {}
    for condition in per_regime[chosen].values():
        for record in condition.part.get("comparisons", [condition.part.get("comparison")]):
            if record is not None:
                unique.setdefault((record["regime"], record["name"]), record)
    verdict.part["comparisons"] = list(unique.values())
    return verdict, verdicts


def _assess(
    claim: str,
    per_regime: dict[str, dict[str, evidence.Decided]],
    controls: Mapping[str, evidence.Decided],
    comparisons: Sequence[rules.Comparison],
    **estimates: stats.Estimate,
) -> Assessment:
    verdict, regimes = headline(claim, per_regime, controls)
    chosen = verdict.part["regime"]
    named = {f"{c.regime}: {c.name}" if c.regime else c.name: c for c in comparisons}
    return Assessment(
        claim, verdict, per_regime[chosen], regimes, per_regime, estimates, named, dict(controls)
    )


def assess_c1(
    mean_ratios: Sequence[float], inference_is_identity: bool, weights_unchanged_by_predict: bool
) -> Assessment:
    """C1 from the real layer: mean(y) / mean(x) in training mode for several masks (one per
    seed) against 1, and two exact checks: ``training=False`` returns its input, and
    ``predict`` leaves every weight bit-identical."""
    ratio = rules.compare(
        "Dropout in training mode: mean(y) / mean(x)", stats.mean_ci(mean_ratios), rules.RATIO, reference=1.0
    )
    never = inference_is_identity and weights_unchanged_by_predict
    conditions = {
        "expectation_kept": ratio.decided(),
        "weights_never_scaled": evidence.condition(
            never, "inference is the identity and predict leaves weights unchanged"
        ),
    }
    return _assess("C1", {"the layer itself": conditions}, {}, [ratio], mean_ratio=ratio.estimate)


def assess_c2(runs: Mapping[str, pd.DataFrame], *, example: str, fix: str, none: str) -> Assessment:
    """C2 from chapter 1's runs, one ``final`` frame per regime (the first, the article's
    settings, with the probe columns of :func:`casekit.lab.probes.shift_and_reestimate`):
    ``example`` is Example 1's config, ``fix`` the reordered model's, ``none`` the fix without
    Dropout (the reference of the variance ratios and the positive control).

    - shift and training fit: measured at the article's settings (the probe runs there) and
      used in every regime's rule; see :func:`c2`;
    - symptom: the fix minus Example 1, test accuracy, in each regime (accuracy margin).
    """
    first_regime, first = next(iter(runs.items()))
    shift = rules.compare(
        "Example 1 minus no Dropout: moving / inference variance",
        stats.paired_difference(first, "shift", example, none),
        rules.RATIO,
        regime=first_regime,
    )
    fit = rules.compare(
        "Example 1 minus no Dropout: moving / dropout-on variance",
        stats.paired_difference(first, "training_fit", example, none),
        rules.RATIO,
        regime=first_regime,
    )
    per_regime, controls, compared = {}, {}, [shift, fit]
    for regime, final in runs.items():
        gap = stats.paired_difference(final, "test_accuracy", fix, example)
        symptom = rules.compare("fix minus Example 1, test accuracy", gap, rules.ACCURACY, regime=regime)
        check = control(final, fix, none, regime=regime)
        controls[regime] = holds(check, f"{regime}: dropout helps the fix")
        compared += [symptom, check]
        per_regime[regime] = {
            "shift": shift.decided(),
            "training_fit": fit.decided(),
            "symptom": rules.any_outcome("the fix beats Example 1", [symptom], "above"),
            "control": controls[regime],
        }
    return _assess("C2", per_regime, controls, compared, shift=shift.estimate, training_fit=fit.estimate)


def assess_c3(
    relu_max_difference: float, runs: Mapping[str, pd.DataFrame], *, example: str, after: str, none: str
) -> Assessment:
    """C3 from the largest |f(m*z) - m*f(z)| for ReLU with one real mask (zero: the two
    orders are the same function) and, in each regime, Example 2 (``example``) minus the same
    layers with Dropout after ReLU (``after``), test accuracy paired by seed."""
    same = evidence.condition(relu_max_difference == 0, "ReLU: max |f(m*z) - m*f(z)| is zero")
    per_regime, controls, compared = {}, {}, []
    for regime, final in runs.items():
        gap = stats.paired_difference(final, "test_accuracy", example, after)
        effect = rules.compare(f"{example} minus {after}, test accuracy", gap, rules.ACCURACY, regime=regime)
        check = control(final, example, none, regime=regime)
        controls[regime] = holds(check, f"{regime}: dropout helps Example 2")
        compared += [effect, check]
        per_regime[regime] = {"relu_orders_identical": same, "order_effect": effect.decided()}
    return _assess("C3", per_regime, controls, compared)


def ordering_family(
    final: pd.DataFrame, example: str, others: Sequence[str], regime: str
) -> dict[str, rules.Comparison]:
    """Every ordering in ``others`` minus Example 2, test accuracy, as one Holm family."""
    gaps = {
        f"{name} minus Example 2": stats.paired_difference(final, "test_accuracy", name, example)
        for name in others
    }
    return rules.family(gaps, rules.ACCURACY, regime=regime)


def assess_c4(
    runs: Mapping[str, pd.DataFrame], *, example: str, others: Sequence[str], none: str
) -> Assessment:
    """C4 from chapter 2's runs (one ``final`` frame per regime): each ordering in ``others``
    (those that compute a different function from Example 2) against ``example``, test
    accuracy paired by seed, one Holm family per regime; ``none`` is Example 2 without
    Dropout (the positive control)."""
    if not others:
        raise ValueError("assess_c4 needs at least one other ordering")
    per_regime, controls, compared = {}, {}, []
    for regime, final in runs.items():
        orderings = ordering_family(final, example, others, regime)
        check = control(final, example, none, regime=regime)
        controls[regime] = holds(check, f"{regime}: dropout helps Example 2")
        worse = all(c.outcome == "below" for c in orderings.values())
        compared += [*orderings.values(), check]
        per_regime[regime] = {
            "some_better": rules.any_outcome(
                "some ordering better than Example 2", list(orderings.values()), "above"
            ),
            "every_worse": rules.combined(
                "every ordering worse than Example 2", YES if worse else NO, list(orderings.values())
            ),
            "control": controls[regime],
        }
    return _assess("C4", per_regime, controls, compared)


def placement(orderings: Mapping[str, rules.Comparison], statistic: str) -> evidence.Decided:
    """Whether placement matters: ``"above"`` when some comparison of a Holm family lies
    beyond the margin in either direction, ``"no"`` when every one is shown equivalent,
    ``"inconclusive"`` otherwise."""
    outcomes = [c.outcome for c in orderings.values()]
    if any(o in ("above", "below") for o in outcomes):
        answer = "above"
    elif all(o == "equivalent" for o in outcomes):
        answer = "no"
    else:
        answer = "inconclusive"
    return rules.combined(statistic, answer, list(orderings.values()))


def assess_c5(
    runs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]],
    *,
    high: float,
    low: float,
    reference: float,
    article_rate: float,
) -> Assessment:
    """C5 from chapter 3's sweeps, one ``(final, rises)`` pair per regime selected by the
    ``rate`` column: rate ``high`` underfits and rate ``low`` overfits
    (:mod:`casekit.claims.fitting`'s definitions); the control is rate ``article_rate``
    minus rate ``reference`` (no dropout)."""
    per_regime, controls, compared = {}, {}, []
    for regime, (final, rises) in runs.items():
        under = fitting.underfits(final, high, reference, by="rate", regime=regime)
        over = fitting.overfits(rises, low, by="rate", regime=regime)
        check = control(final, article_rate, reference, regime=regime, by="rate")
        controls[regime] = holds(check, f"{regime}: dropout {article_rate:g} helps")
        compared += [*under.comparisons, *over.comparisons, check]
        per_regime[regime] = {"high_rate_underfits": under.condition, "low_rate_overfits": over.condition}
    return _assess("C5", per_regime, controls, compared)


def assess_c6(
    placement_by_regime: Mapping[str, evidence.Decided],
    controls: Mapping[str, evidence.Decided],
    phases_hold: bool,
) -> Assessment:
    """C6 from what the chapters glued: per regime, whether placement matters (chapter 2's
    :func:`placement`) and whether its control holds; and chapter 0's phase checks."""
    phases = evidence.condition(phases_hold, "the training/inference checks of chapter 0 hold")
    per_regime = {
        regime: {"placement": matters, "phases_hold": phases, "control": controls[regime]}
        for regime, matters in placement_by_regime.items()
    }
    return _assess("C6", per_regime, controls, [])


def assess_c7(
    final: pd.DataFrame,
    *,
    shift_pair: tuple[str, str],
    doses: Mapping[str, tuple[str, str]],
    control_pair: tuple[str, str],
    regime: str = CLEAN,
) -> Assessment:
    """C7 from the conv chapter's runs (``final`` with the probe columns of
    :func:`casekit.lab.probes.shift_and_reestimate`), by config name:

    - ``shift_pair``: (Dropout before BN, no dropout) at the article's rate and the shallow
      depth; their paired difference of the moving / inference variance ratio;
    - ``doses``: for each dose, its label and (dropout after the last BN, dropout before every
      BN); after minus before, test accuracy, one Holm family;
    - ``control_pair``: (dropout after the last BN, no dropout), validation accuracy.
    """
    if not doses:
        raise ValueError("assess_c7 needs at least one dose")
    before, none = shift_pair
    shift = rules.compare(
        f"{before} minus no dropout: moving / inference variance",
        stats.paired_difference(final, "shift", before, none),
        rules.RATIO,
        regime=regime,
    )
    costs = rules.family(
        {
            f"{label}: after minus before, test accuracy": stats.paired_difference(
                final, "test_accuracy", after, first
            )
            for label, (after, first) in doses.items()
        },
        rules.ACCURACY,
        regime=regime,
    )
    check = control(final, *control_pair, regime=regime)
    controls = {regime: holds(check, f"{regime}: dropout after the last BN helps")}
    family = list(costs.values())
    everywhere = all(c.outcome == "above" for c in family)
    conditions = {
        "shift": shift.decided(),
        "cost_somewhere": rules.any_outcome("a dose where before-BN costs accuracy", family, "above"),
        "cost_everywhere": rules.combined(
            "every dose: before-BN costs accuracy", YES if everywhere else NO, family
        ),
        "control": controls[regime],
    }
    return _assess("C7", {regime: conditions}, controls, [shift, *family, check], shift=shift.estimate)


def chosen_rate(final: pd.DataFrame, configs: Sequence[str]) -> str:
    """The config among ``configs`` (one kind of dropout at several rates) with the highest
    mean validation accuracy: a choice made on validation data, not a claim that it is best."""
    if not configs:
        raise ValueError("chosen_rate needs at least one config")
    means = {name: stats.estimate(final, "val_accuracy", config=name).mean for name in configs}
    return max(configs, key=lambda name: means[name])


def assess_c8(
    final: pd.DataFrame,
    *,
    dropout: Sequence[str],
    spatial: Sequence[str],
    none: str,
    regime: str = NOISY,
) -> Assessment:
    """C8 from the conv chapter's runs in a regime where regularization matters: ``dropout``
    and ``spatial`` list each kind's configs at the rates tried; each kind's rate is chosen
    on validation accuracy (:func:`chosen_rate`), then SpatialDropout minus Dropout and
    SpatialDropout minus no dropout (``none``) are read on test accuracy, paired by seed. The
    control: the better of the two chosen configs (on validation) minus no dropout,
    validation accuracy."""
    plain, channel = chosen_rate(final, dropout), chosen_rate(final, spatial)

    def test_gap(a: str, b: str) -> rules.Comparison:
        gap = stats.paired_difference(final, "test_accuracy", a, b)
        return rules.compare(f"{a} minus {b}, test accuracy", gap, rules.ACCURACY, regime=regime)

    advantage, gain = test_gap(channel, plain), test_gap(channel, none)
    check = control(final, chosen_rate(final, [plain, channel]), none, regime=regime)
    controls = {regime: holds(check, f"{regime}: dropout helps the conv net")}
    conditions = {
        "advantage": advantage.decided(),
        "spatial_gain": gain.decided(),
        "control": controls[regime],
    }
    return _assess(
        "C8",
        {regime: conditions},
        controls,
        [advantage, gain, check],
        advantage=advantage.estimate,
        spatial_gain=gain.estimate,
    )
