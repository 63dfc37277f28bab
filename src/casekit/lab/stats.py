"""Across-seed summaries: mean with a 95% t-interval, and paired differences.

Seeds are the unit of replication: every interval here is over per-seed results, so
``n`` is the number of seeds, not the number of test images.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats


@dataclass(frozen=True)
class Estimate:
    """A mean with the half-width of its confidence interval over ``n`` seeds."""

    mean: float
    half_width: float
    n: int
    #: The per-seed values behind the estimate, when it was computed from them.
    values: tuple[float, ...] = field(default=(), compare=False, repr=False)

    @property
    def standard_error(self) -> float:
        """The half-width divided by its t quantile: the standard error of the mean."""
        if self.n < 2 or not math.isfinite(self.half_width):
            return math.inf
        return self.half_width / float(scipy_stats.t.ppf(0.975, df=self.n - 1))

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0

    def format(self, scale: float = 1.0, unit: str = "") -> str:
        """``mean ± half`` at the precision the interval supports (see :func:`decimals_for`)."""
        digits = decimals_for(self.half_width * scale)
        mean = f"{self.mean * scale:.{digits}f}"
        if float(mean) == 0:
            mean = mean.lstrip("-")  # no "-0.0": the sign of a value that rounds to zero is noise
        return f"{mean} ± {self.half_width * scale:.{digits}f}{unit}"


def decimals_for(half_width: float, significant: int = 1) -> int:
    """Decimals that show ``significant`` digits of an interval's half-width (0 to 6)."""
    if not math.isfinite(half_width) or half_width < 1e-9:  # no spread across seeds
        return 3
    return int(min(6, max(0, significant - 1 - math.floor(math.log10(half_width)))))


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> Estimate:
    """Mean and t-interval half-width; a single value has an infinite half-width."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        raise ValueError("mean_ci needs at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    values = tuple(float(v) for v in array)
    if array.size == 1:
        return Estimate(float(array[0]), math.inf, 1, values)
    sem = float(array.std(ddof=1) / math.sqrt(array.size))
    t = float(scipy_stats.t.ppf(0.5 + confidence / 2, df=array.size - 1))
    return Estimate(float(array.mean()), t * sem, int(array.size), values)


def summarize(
    frame: pd.DataFrame, by: str | Sequence[str], columns: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """One row per group: ``<col>_mean``, ``<col>_ci`` (half-width) and ``n`` for each column."""
    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    for group, part in frame.groupby(keys, sort=False):
        row = dict(zip(keys, group if isinstance(group, tuple) else (group,), strict=True))
        for column in columns:
            estimate = mean_ci(part[column], confidence)
            row[f"{column}_mean"] = estimate.mean
            row[f"{column}_ci"] = estimate.half_width
            row["n"] = estimate.n
        rows.append(row)
    return pd.DataFrame(rows)


def estimate(frame: pd.DataFrame, column: str, confidence: float = 0.95, **where: object) -> Estimate:
    """:func:`mean_ci` of one column over the rows matching ``where`` (e.g. ``config="a"``)."""
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    if not mask.any():
        raise ValueError(f"no rows match {where!r}")
    return mean_ci(frame.loc[mask, column], confidence)


def paired_difference(
    frame: pd.DataFrame,
    column: str,
    a: object,
    b: object,
    *,
    by: str = "config",
    pair_on: str = "seed",
    confidence: float = 0.95,
) -> Estimate:
    """Mean of ``a - b`` over seeds present in both, with its t-interval (a paired test)."""
    left = frame[frame[by] == a].set_index(pair_on)[column]
    right = frame[frame[by] == b].set_index(pair_on)[column]
    if left.empty or right.empty:
        missing = a if left.empty else b
        raise ValueError(f"no rows with {by} == {missing!r}")
    shared = left.index.intersection(right.index)
    if len(shared) < 2:
        raise ValueError(f"paired_difference needs >= 2 shared {pair_on} values; got {len(shared)}")
    return mean_ci(left[shared] - right[shared], confidence)


def at_confidence(estimate: Estimate, confidence: float) -> Estimate:
    """The same mean over the same seeds with the interval at another ``confidence`` (a
    multiplicity-adjusted interval is a wider one)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    se = estimate.standard_error
    if not math.isfinite(se):
        return estimate
    t = float(scipy_stats.t.ppf(0.5 + confidence / 2, df=estimate.n - 1))
    return Estimate(estimate.mean, t * se, estimate.n, estimate.values)


def p_above(estimate: Estimate, threshold: float) -> float:
    """One-sided p-value of the t-test of "the true mean is at most ``threshold``": small when
    the mean lies well above it. 1 when there is no spread to test with and the mean is not
    above; 0 when there is none and it is."""
    se = estimate.standard_error
    if not (math.isfinite(se) and se > 0):
        return 0.0 if estimate.mean > threshold and estimate.n >= 2 else 1.0
    return float(scipy_stats.t.sf((estimate.mean - threshold) / se, df=estimate.n - 1))


def p_below(estimate: Estimate, threshold: float) -> float:
    """One-sided p-value of "the true mean is at least ``threshold``" (see :func:`p_above`)."""
    mirrored = Estimate(-estimate.mean, estimate.half_width, estimate.n)
    return p_above(mirrored, -threshold)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input's order (Holm 1979): the k-th
    smallest of m is multiplied by m - k + 1, then made non-decreasing and capped at 1."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted = [1.0] * len(pvalues)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * float(pvalues[index])))
        adjusted[index] = running
    return adjusted


def power_beyond_margin(sd: float, n: int, margin: float, alpha: float = 0.05) -> float:
    """Power of the one-sided test at ``alpha / 2`` that a paired mean lies beyond ``margin``
    (the two-sided ``1 - alpha`` interval entirely above it) when the true difference exceeds
    the margin by one more margin, with ``n`` seeds and per-seed spread ``sd`` (noncentral t)."""
    if n < 2:
        return 0.0
    if sd <= 0:
        return 1.0
    df = n - 1
    critical = float(scipy_stats.t.ppf(1 - alpha / 2, df))
    return float(scipy_stats.nct.sf(critical, df, margin / (sd / math.sqrt(n))))


def power_of_equivalence(sd: float, n: int, margin: float, alpha: float = 0.05) -> float:
    """Power of two one-sided tests (each at ``alpha / 2``, so the two-sided ``1 - alpha``
    interval must lie inside ``± margin``) when the true difference is zero: each side is the
    one-sided test of :func:`power_beyond_margin` at the same distance, so the joint power is
    at least twice that minus one."""
    return max(0.0, 2 * power_beyond_margin(sd, n, margin, alpha) - 1)


#: The most seeds :func:`seeds_for_power` will ask for.
MAX_POWER_SEEDS = 200


def seeds_for_power(sd: float, margin: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """The fewest seeds (at least 2) with which a paired comparison both places a true
    difference of two margins beyond the margin (:func:`power_beyond_margin`) and shows
    equivalence within ``± margin`` when the truth is zero (:func:`power_of_equivalence`),
    each with probability ``power``, at per-seed spread ``sd``; capped at
    :data:`MAX_POWER_SEEDS`."""
    if margin <= 0:
        raise ValueError(f"margin must be > 0; got {margin!r}")
    for n in range(2, MAX_POWER_SEEDS + 1):
        if (
            power_beyond_margin(sd, n, margin, alpha) >= power
            and power_of_equivalence(sd, n, margin, alpha) >= power
        ):
            return n
    return MAX_POWER_SEEDS
