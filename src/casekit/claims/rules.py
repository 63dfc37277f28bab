"""Decision rules stated before the runs: a statistic, a practical margin, four outcomes.

Every comparison the verdicts rest on is a paired difference over seeds (or a ratio
against 1) read against a **practical margin** ``m`` fixed in advance (:data:`ACCURACY`,
:data:`LOSS`, :data:`RATIO`, :data:`RISE`), in the manner of a region of practical
equivalence:

- **above**: the interval lies entirely above ``reference + m`` (a difference that matters);
- **below**: it lies entirely below ``reference - m``;
- **equivalent**: it lies entirely inside ``reference ± m`` (two one-sided tests, each at
  2.5%, so "no harm" is shown, not assumed from a test that failed to reject);
- **inconclusive**: anything else: the interval straddles a margin, and more seeds are
  needed to say which side the truth is on.

A **family** of comparisons that one condition combines ("some ordering is better") is
Holm-adjusted (Holm 1979): each comparison's candidate outcome (the one its point
estimate points to) has a one-sided p-value; the adjusted p-value must be at most 2.5%.
Its shown interval is at the confidence of its Holm step, so the interval a reader sees
lies beyond the margin exactly when the outcome says so. A family of one is the plain
95% interval.

Each comparison also carries the **power** of the test it runs, at its measured per-seed
spread and number of seeds (the spread is measured, so this is a planning figure for the
next run, not a property of the result): to place a true difference of two margins beyond
the margin, or to show equivalence when the truth is zero, and the seeds 80% would need
(:func:`casekit.lab.stats.seeds_for_power`). Power matters for an *inconclusive* outcome;
a decided one is decided whatever its power.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from casekit.claims import evidence
from casekit.lab import stats

#: Two-sided error rate of every interval; each one-sided test runs at half of it.
ALPHA = 0.05
#: The outcomes of a comparison against its margin.
OUTCOMES = ("above", "below", "equivalent", "inconclusive")
#: The power every deciding comparison is sized for.
POWER = 0.8


@dataclass(frozen=True)
class Margin:
    """A practical margin: differences smaller than ``value`` do not matter to a reader."""

    value: float
    scale: float  # display scale (100 for accuracy in percentage points)
    unit: str
    reason: str

    def format(self) -> str:
        return f"{self.value * self.scale:g}{self.unit}"


ACCURACY = Margin(
    0.005,
    100.0,
    " pp",
    "half a percentage point of test accuracy: smaller than the binomial standard error of one "
    "model's accuracy on 1,000 test digits at 97% (0.54 pp), so a smaller gap is within what "
    "re-drawing the test digits alone would move",
)
LOSS = Margin(
    0.02,
    1.0,
    "",
    "0.02 nats of mean cross-entropy: about the change that 0.5 pp of accuracy moving from "
    "confident-right to confident-wrong brings (0.005 x ln 100 = 0.023)",
)
RATIO = Margin(
    0.05,
    1.0,
    "",
    "5% of a variance ratio from 1: a standard deviation off by 2.5%, which shifts a "
    "normalized unit by less than its own batch-to-batch noise",
)
RISE = Margin(
    0.02,
    1.0,
    "",
    "a validation-loss rise of 0.02 nats over the second half of training: the loss margin, "
    "reached by a trend rather than a single epoch",
)


def _t(confidence: float, n: int) -> float:
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.ppf(0.5 + confidence / 2, df=n - 1))


def candidate(estimate: stats.Estimate, reference: float, margin: float) -> tuple[str, float]:
    """The outcome the point estimate points to, with its one-sided p-value: beyond a
    margin (the test that the truth is not), or inside both (the larger p of the two
    one-sided tests of equivalence)."""
    if estimate.mean >= reference + margin:
        return "above", stats.p_above(estimate, reference + margin)
    if estimate.mean <= reference - margin:
        return "below", stats.p_below(estimate, reference - margin)
    tost = max(stats.p_above(estimate, reference - margin), stats.p_below(estimate, reference + margin))
    return "equivalent", tost


@dataclass(frozen=True)
class Comparison:
    """One comparison read against its margin (see the module docstring)."""

    name: str
    estimate: stats.Estimate  # the 95% estimate over seeds
    reference: float
    margin: Margin
    outcome: str
    p_adjusted: float
    confidence: float  # of the shown interval (its Holm step)
    family_size: int
    regime: str = ""

    @property
    def interval(self) -> stats.Estimate:
        """The estimate with the interval at this comparison's (adjusted) confidence."""
        return stats.at_confidence(self.estimate, self.confidence)

    @property
    def sd(self) -> float:
        """The per-seed standard deviation."""
        se = self.estimate.standard_error
        return se * math.sqrt(self.estimate.n) if math.isfinite(se) else math.inf

    @property
    def power(self) -> float:
        """The power of the test this comparison runs, at its measured spread and seeds: to
        place a true difference of two margins beyond the margin, or, with a point estimate
        inside the margin, to show equivalence when the truth is zero."""
        if not math.isfinite(self.sd):
            return 0.0
        n, m = self.estimate.n, self.margin.value
        if abs(self.estimate.mean - self.reference) < m:
            return stats.power_of_equivalence(self.sd, n, m, ALPHA)
        return stats.power_beyond_margin(self.sd, n, m, ALPHA)

    @property
    def seeds_needed(self) -> int:
        """Seeds for 80% power both beyond the margin and for equivalence
        (:func:`casekit.lab.stats.seeds_for_power`)."""
        if not math.isfinite(self.sd):
            return stats.MAX_POWER_SEEDS
        return stats.seeds_for_power(self.sd, self.margin.value, POWER, ALPHA)

    def boundaries(self) -> list[float]:
        """Means at which the outcome would change, at this interval's width."""
        se = self.estimate.standard_error
        if not math.isfinite(se):
            return []
        half = _t(self.confidence, self.estimate.n) * se
        m, r = self.margin.value, self.reference
        edges = [r + m + half, r - m - half]
        if half < m:
            edges += [r - m + half, r + m - half]
        return edges

    def distance(self) -> float:
        """How far (in standard errors) the mean lies from the nearest change of outcome."""
        se = self.estimate.standard_error
        edges = self.boundaries()
        if not edges or not se > 0:
            return math.inf
        return min(abs(self.estimate.mean - e) for e in edges) / se

    def fragile(self) -> bool:
        se = self.estimate.standard_error
        band = evidence.fragile_band(self.estimate.half_width, self.estimate.n)
        return math.isfinite(self.distance()) and self.distance() * se <= band

    def record(self) -> dict[str, Any]:
        """The comparison as JSON: what ``casekit ledger --json`` lists for it."""
        interval = self.interval
        finite = math.isfinite(interval.half_width)
        return {
            "name": self.name,
            "regime": self.regime,
            "outcome": self.outcome,
            "mean": self.estimate.mean,
            "interval": [interval.low, interval.high] if finite else None,
            "confidence": self.confidence,
            "reference": self.reference,
            "margin": self.margin.value,
            "p_adjusted": self.p_adjusted,
            "family_size": self.family_size,
            "n": self.estimate.n,
            "power": self.power,
            "seeds_needed": self.seeds_needed,
        }

    def decided(self) -> evidence.Decided:
        """The outcome as a recorded decision (compared by its fragility on re-execution)."""
        decided = evidence.decided(self.outcome, self.name, self.distance(), self.fragile())
        decided.part["comparison"] = self.record()
        return decided

    def shown(self) -> evidence.Shown:
        """The difference with its (adjusted) interval, e.g. ``"9.6 ± 2.8 pp"``."""
        interval = self.interval
        part = evidence.estimate_part(
            interval,
            scale=self.margin.scale,
            unit=self.margin.unit,
            style="estimate",
            decimals=stats.decimals_for(interval.half_width * self.margin.scale),
        )
        return evidence.Shown(evidence.render_estimate(part), part)

    def words(self) -> evidence.Decided:
        """The outcome in plain words with the margin and the interval's confidence, as a
        decision carrying this comparison's record and fragility."""
        margin = self.margin.format()
        reference = "" if self.reference == 0 else f"{self.reference:g} "
        text = {
            "above": f"lies above {reference}+{margin}",
            "below": f"lies below {reference}-{margin}",
            "equivalent": f"lies within {reference}±{margin}",
            "inconclusive": f"straddles the ±{margin} margin",
        }[self.outcome]
        decided = self.decided()
        shown = f"{text} ({level(self.confidence)} interval)"
        return evidence.Decided(shown, {**decided.part, "value": shown})


def level(confidence: float) -> str:
    """A confidence as the book shows it: ``"95%"``, ``"98.3%"``."""
    return f"{confidence:.1%}".replace(".0%", "%")


def family(
    estimates: Mapping[str, stats.Estimate],
    margin: Margin,
    *,
    reference: float = 0.0,
    regime: str = "",
) -> dict[str, Comparison]:
    """Each estimate read against ``reference ± margin``, Holm-adjusted as one family."""
    if not estimates:
        raise ValueError("a family needs at least one comparison")
    names = list(estimates)
    candidates = [candidate(estimates[n], reference, margin.value) for n in names]
    raw = [p for _, p in candidates]
    adjusted = stats.holm(raw)
    k = len(names)
    order = sorted(range(k), key=lambda i: raw[i])
    confidence = [0.0] * k
    failed: float | None = None
    for step, index in enumerate(order):
        level = 1 - ALPHA / (k - step)
        if failed is None and adjusted[index] > ALPHA / 2:
            failed = level
        confidence[index] = level if failed is None else failed
    return {
        name: Comparison(
            name,
            estimates[name],
            reference,
            margin,
            outcome if adjusted[i] <= ALPHA / 2 else "inconclusive",
            adjusted[i],
            confidence[i],
            k,
            regime,
        )
        for i, (name, (outcome, _)) in enumerate(zip(names, candidates, strict=True))
    }


def compare(
    name: str, estimate: stats.Estimate, margin: Margin, *, reference: float = 0.0, regime: str = ""
) -> Comparison:
    """One comparison (a family of one: the plain 95% interval)."""
    return family({name: estimate}, margin, reference=reference, regime=regime)[name]


def combined(statistic: str, outcome: str, comparisons: Sequence[Comparison]) -> evidence.Decided:
    """An outcome combined from several comparisons (``"above"`` when some ordering is above,
    say), as close to changing as the nearest of them."""
    decided = evidence.decided(
        outcome,
        statistic,
        min((c.distance() for c in comparisons), default=math.inf),
        any(c.fragile() for c in comparisons),
    )
    decided.part["comparisons"] = [c.record() for c in comparisons]
    return decided


def any_outcome(statistic: str, comparisons: Sequence[Comparison], wanted: str) -> evidence.Decided:
    """``wanted`` when some comparison has it; otherwise ``"inconclusive"`` when some is
    inconclusive (it might), else ``"no"``."""
    outcomes = [c.outcome for c in comparisons]
    if wanted in outcomes:
        result = wanted
    elif "inconclusive" in outcomes:
        result = "inconclusive"
    else:
        result = "no"
    return combined(statistic, result, comparisons)


@dataclass(frozen=True)
class Best:
    """Which option is best, said only when it beats the runner-up by the margin."""

    winner: str | None  # None: no option beats the runner-up by the margin
    tied: tuple[str, ...]  # the options not shown below the top one by the margin, in the order given
    comparisons: tuple[Comparison, ...]  # the top option against every other (one Holm family)
    top: str  # the option with the highest mean (best only when it is the winner)

    def words(self) -> evidence.Decided:
        """``"X"`` when X beats the runner-up by the margin, else ``"not separated: X, Y,
        ..."`` (the options the top one does not beat by the margin: some may be equivalent,
        some undecided); a decision as fragile as the nearest comparison behind it."""
        text = self.winner if self.winner is not None else "not separated: " + ", ".join(self.tied)
        return combined("best option: the top one against every other", text, self.comparisons)

    def tied_words(self) -> evidence.Decided:
        """The options not separated from the top one (the winner alone when there is one)."""
        return combined("options not separated from the best", ", ".join(self.tied), self.comparisons)


def best(
    values: Mapping[str, Sequence[float]], margin: Margin, *, higher_is_better: bool = True, regime: str = ""
) -> Best:
    """The option with the highest mean (per-seed ``values``, paired by position), tested
    against every other as one Holm family: it is *best* only when its paired difference from
    the runner-up lies above the margin; otherwise the options not shown below it by the
    margin are reported as not separated from it, in the order ``values`` gives them. (The top
    option is picked by the data before it is tested, so the family is, if anything, generous
    to a winner; "not separated" never claims equivalence.)"""
    if len(values) < 2:
        raise ValueError("best needs at least two options")
    sign = 1.0 if higher_is_better else -1.0
    means = {name: sign * sum(v) / len(v) for name, v in values.items()}
    ranked = sorted(means, key=lambda n: means[n], reverse=True)
    top = ranked[0]
    differences = {
        f"{top} minus {other}": stats.mean_ci(
            [sign * (a - b) for a, b in zip(values[top], values[other], strict=True)]
        )
        for other in ranked[1:]
    }
    compared = family(differences, margin, regime=regime)
    winner = top if compared[f"{top} minus {ranked[1]}"].outcome == "above" else None
    tied = tuple(n for n in values if n == top or compared[f"{top} minus {n}"].outcome != "above")
    return Best(winner, (top,) if winner is not None else tied, tuple(compared.values()), top)
