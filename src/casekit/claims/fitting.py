"""Operational definitions of underfitting and overfitting over seeds (chapter 3).

Both are read against practical margins stated before the runs (:mod:`casekit.claims.rules`):

- **Underfitting**: after training, the model's training accuracy (inference mode, whole
  training split) is below a reference model's (rate 0) by more than the accuracy margin
  *and* its test accuracy is below the reference's by more than it too (both paired
  intervals over seeds below the margin; an intersection of two tests, which needs no
  multiplicity correction). A model that gives up training accuracy but not test accuracy
  is regularized, not underfitting.
- **Overfitting**: the validation loss trends upward over the second half of training:
  per run, the least-squares slope of validation loss against epoch over the last half of
  the epochs, times the epochs that window spans (the rise the trend line makes across
  it); overfitting when its interval over seeds lies above the :data:`~casekit.claims.rules.RISE`
  margin. On curves that do not overfit (flat or still falling, with any noise that is
  independent between seeds) its expectation is at most zero, unlike "last minus
  minimum", which is at least zero by construction (``tests/test_overfitting_simulation.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from casekit.claims import evidence, report, rules
from casekit.lab import stats, training

#: The share of the epochs, at the end of training, over which the validation-loss trend is fit.
TREND_WINDOW = 0.5


@dataclass(frozen=True)
class Finding:
    """A yes / no / inconclusive answer (with the comparisons that decided it) and the
    estimate it rests on."""

    condition: evidence.Decided
    estimate: stats.Estimate
    comparisons: tuple[rules.Comparison, ...] = ()

    @property
    def holds(self) -> bool:
        return str(self.condition) == "True"


def require_epochs(epochs: int) -> None:
    """Fail before any training when a run is too short for the overfitting trend."""
    if epochs < 2:
        raise ValueError(
            f"epochs must be at least 2 for the overfitting trend (a slope needs two epochs); got {epochs}"
        )


def trend_rise(epochs: np.ndarray, losses: np.ndarray, window: float = TREND_WINDOW) -> float:
    """The rise of the least-squares line through the last ``window`` of a loss curve,
    across that window (slope times the epochs it spans); needs at least 2 epochs in it."""
    order = np.argsort(epochs)
    epochs, losses = np.asarray(epochs, float)[order], np.asarray(losses, float)[order]
    count = max(2, int(np.ceil(len(epochs) * window)))
    if len(epochs) < count:
        raise ValueError(f"the trend needs at least {count} epochs; got {len(epochs)}")
    x, y = epochs[-count:], losses[-count:]
    slope = float(np.polyfit(x, y, 1)[0])
    return slope * float(x[-1] - x[0])


def loss_rise(history: pd.DataFrame, window: float = TREND_WINDOW) -> pd.DataFrame:
    """Per run: the validation-chosen best epoch, its validation loss, and the validation
    loss's trend rise over the last ``window`` of the epochs (:func:`trend_rise`), with the
    run's settings columns when the history has them."""
    rows = []
    for (config, seed), run in history.groupby(["config", "seed"], sort=False):
        best = run.iloc[int(run["val_loss"].to_numpy().argmin())]
        rows.append(
            {
                "config": config,
                "seed": seed,
                **{key: run[key].iloc[0] for key in training.SETTINGS if key in run},
                "best_epoch": int(best["epoch"]),
                "min_val_loss": float(best["val_loss"]),
                "rise": trend_rise(run["epoch"].to_numpy(), run["val_loss"].to_numpy(), window),
            }
        )
    return pd.DataFrame(rows)


def _name(by: str, value: object) -> str:
    return f"{by} {value:g}" if isinstance(value, float) else str(value)


def _maybe(statistic: str, outcomes: list[rules.Comparison], wanted: str) -> evidence.Decided:
    """True when every comparison has the ``wanted`` outcome, False when one has an outcome
    that rules it out, else ``"inconclusive"``."""
    seen = [c.outcome for c in outcomes]
    if all(o == wanted for o in seen):
        answer = "True"
    elif any(o not in (wanted, "inconclusive") for o in seen):
        answer = "False"
    else:
        answer = "inconclusive"
    decided = rules.combined(statistic, answer, outcomes)
    return decided


def underfits(
    final: pd.DataFrame, config: object, reference: object, *, by: str = "config", regime: str = ""
) -> Finding:
    """Training accuracy below ``reference`` by more than the accuracy margin and test
    accuracy below it by more than the margin too (paired by seed). Runs are selected by
    column ``by`` (``"config"``, or a setting such as ``"rate"``). The estimate returned is
    the training-accuracy difference."""
    name = f"{_name(by, config)} minus {_name(by, reference)}"
    train = stats.paired_difference(final, "train_accuracy", config, reference, by=by)
    test = stats.paired_difference(final, "test_accuracy", config, reference, by=by)
    compared = [
        rules.compare(f"{name}, train accuracy", train, rules.ACCURACY, regime=regime),
        rules.compare(f"{name}, test accuracy", test, rules.ACCURACY, regime=regime),
    ]
    condition = _maybe(f"underfits: {name}, train and test accuracy", compared, "below")
    return Finding(condition, train, tuple(compared))


def overfits(rises: pd.DataFrame, config: object, *, by: str = "config", regime: str = "") -> Finding:
    """The validation loss's trend rise over the last half of training above the
    :data:`~casekit.claims.rules.RISE` margin."""
    where: dict[str, Any] = {by: config}
    estimate = stats.estimate(rises, "rise", **where)
    compared = rules.compare(
        f"validation-loss trend rise of {_name(by, config)}", estimate, rules.RISE, regime=regime
    )
    condition = _maybe(f"overfits: validation-loss trend of {_name(by, config)}", [compared], "above")
    return Finding(condition, estimate, (compared,))


def by_rate(final: pd.DataFrame, rises: pd.DataFrame, reference: float) -> pd.DataFrame:
    """Each rate of a sweep against both definitions, as a table of shown values: the
    training-accuracy difference from the ``reference`` rate and whether the rate underfits,
    the validation-loss trend rise and whether it overfits (selected by the
    ``rate`` column of :func:`casekit.lab.training.run_replicated`'s results)."""
    rows = []
    for rate in dict.fromkeys(final["rate"]):
        under = None if rate == reference else underfits(final, rate, reference, by="rate")
        over = overfits(rises, rate, by="rate")
        rows.append(
            {
                "rate": rate,
                f"train accuracy vs rate {reference:g}": "reference"
                if under is None
                else report.format_estimate(under.estimate, "train_accuracy", difference=True),
                "underfits": "" if under is None else under.condition,
                "validation-loss trend rise": report.format_estimate(over.estimate, "test_loss"),
                "overfits": over.condition,
            }
        )
    return pd.DataFrame(rows).set_index("rate")
