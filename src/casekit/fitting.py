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

import pandas as pd

from casekit import evidence, stats


@dataclass(frozen=True)
class Finding:
    """A yes/no answer (with the statistic that decided it) and the estimate it rests on."""

    condition: evidence.Decided
    estimate: stats.Estimate

    @property
    def holds(self) -> bool:
        return str(self.condition) == "True"


def loss_rise(history: pd.DataFrame) -> pd.DataFrame:
    """Per run: the best epoch, its test loss, the final test loss and the rise since."""
    rows = []
    for (config, seed), run in history.groupby(["config", "seed"], sort=False):
        best = run.iloc[int(run["val_loss"].to_numpy().argmin())]
        final = run.iloc[int(run["epoch"].to_numpy().argmax())]
        rows.append(
            {
                "config": config,
                "seed": seed,
                "best_epoch": int(best["epoch"]),
                "min_test_loss": float(best["val_loss"]),
                "final_test_loss": float(final["val_loss"]),
                "rise": float(final["val_loss"] - best["val_loss"]),
            }
        )
    return pd.DataFrame(rows)


def underfits(final: pd.DataFrame, config: str, reference: str, margin: float = 0.01) -> Finding:
    """Training accuracy below ``reference`` by more than ``margin`` and test accuracy below it
    (paired by seed). The estimate returned is the training-accuracy difference."""
    train = stats.paired_difference(final, "train_accuracy", config, reference)
    test = stats.paired_difference(final, "test_accuracy", config, reference)
    condition = evidence.all_of(
        f"underfits: {config} minus {reference}, train and test accuracy",
        evidence.below(train, -margin, "train accuracy difference"),
        evidence.below(test, 0.0, "test accuracy difference"),
    )
    return Finding(condition, train)


def overfits(rises: pd.DataFrame, config: str, margin: float = 0.0) -> Finding:
    """Test loss at the last epoch above the run's best by more than ``margin``."""
    estimate = stats.estimate(rises, "rise", config=config)
    return Finding(evidence.above(estimate, margin, f"overfits: test-loss rise of {config}"), estimate)
