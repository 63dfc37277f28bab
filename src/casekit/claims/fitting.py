"""Operational definitions of underfitting and overfitting over seeds (chapter 3).

- **Underfitting**: after training, the model's training accuracy (inference mode, whole
  training split) is below a reference model's (rate 0) by more than ``margin`` *and* its
  test accuracy is below the reference's too: both 95% paired intervals over seeds lie
  entirely below ``-margin`` and below zero respectively. A model that gives up training
  accuracy but not test accuracy is regularized, not underfitting.
- **Overfitting**: the test loss rises after its best epoch: the last epoch's test loss
  minus the run's minimum test loss, with the 95% interval over seeds above ``margin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from casekit.claims import evidence, report
from casekit.lab import stats, training


@dataclass(frozen=True)
class Finding:
    """A yes/no answer (with the statistic that decided it) and the estimate it rests on."""

    condition: evidence.Decided
    estimate: stats.Estimate

    @property
    def holds(self) -> bool:
        return str(self.condition) == "True"


def loss_rise(history: pd.DataFrame) -> pd.DataFrame:
    """Per run: the best epoch, its test loss, the final test loss and the rise since, with
    the run's settings columns when the history has them."""
    rows = []
    for (config, seed), run in history.groupby(["config", "seed"], sort=False):
        best = run.iloc[int(run["val_loss"].to_numpy().argmin())]
        final = run.iloc[int(run["epoch"].to_numpy().argmax())]
        rows.append(
            {
                "config": config,
                "seed": seed,
                **{key: run[key].iloc[0] for key in training.SETTINGS if key in run},
                "best_epoch": int(best["epoch"]),
                "min_test_loss": float(best["val_loss"]),
                "final_test_loss": float(final["val_loss"]),
                "rise": float(final["val_loss"] - best["val_loss"]),
            }
        )
    return pd.DataFrame(rows)


def _name(by: str, value: object) -> str:
    return f"{by} {value:g}" if isinstance(value, float) else str(value)


def underfits(
    final: pd.DataFrame, config: object, reference: object, margin: float = 0.01, *, by: str = "config"
) -> Finding:
    """Training accuracy below ``reference`` by more than ``margin`` and test accuracy below it
    (paired by seed). Runs are selected by column ``by`` (``"config"``, or a setting such as
    ``"rate"``). The estimate returned is the training-accuracy difference."""
    train = stats.paired_difference(final, "train_accuracy", config, reference, by=by)
    test = stats.paired_difference(final, "test_accuracy", config, reference, by=by)
    condition = evidence.all_of(
        f"underfits: {_name(by, config)} minus {_name(by, reference)}, train and test accuracy",
        evidence.below(train, -margin, "train accuracy difference"),
        evidence.below(test, 0.0, "test accuracy difference"),
    )
    return Finding(condition, train)


def overfits(rises: pd.DataFrame, config: object, margin: float = 0.0, *, by: str = "config") -> Finding:
    """Test loss at the last epoch above the run's best by more than ``margin``."""
    where: dict[str, Any] = {by: config}
    estimate = stats.estimate(rises, "rise", **where)
    return Finding(
        evidence.above(estimate, margin, f"overfits: test-loss rise of {_name(by, config)}"), estimate
    )


def by_rate(final: pd.DataFrame, rises: pd.DataFrame, reference: float) -> pd.DataFrame:
    """Each rate of a sweep against both definitions, as a table of shown values: the
    training-accuracy difference from the ``reference`` rate and whether the rate underfits,
    the test-loss rise after the best epoch and whether it overfits (selected by the
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
                "test-loss rise": report.format_estimate(over.estimate, "test_loss"),
                "overfits": over.condition,
            }
        )
    return pd.DataFrame(rows).set_index("rate")
