from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casekit.claims import fitting


def _history(epochs: int = 10) -> pd.DataFrame:
    rows = []
    for seed in range(5):
        for epoch in range(1, epochs + 1):
            rising = 0.5 - 0.04 * min(epoch, 5) + 0.03 * max(epoch - 5, 0) + 0.002 * seed * (-1) ** epoch
            flat = 0.3 + 0.003 * seed * (-1) ** epoch
            rows.append({"config": "rising", "seed": seed, "epoch": epoch, "val_loss": rising})
            rows.append({"config": "flat", "seed": seed, "epoch": epoch, "val_loss": flat})
    return pd.DataFrame(rows)


def test_trend_rise_is_the_slope_across_the_last_half() -> None:
    epochs = np.arange(1, 11)
    assert fitting.trend_rise(epochs, 0.1 * epochs) == pytest.approx(0.4)  # epochs 6..10: 0.1 x 4
    assert fitting.trend_rise(epochs[::-1], 0.1 * epochs[::-1]) == pytest.approx(0.4)  # order-free
    assert fitting.trend_rise(epochs, np.ones(10)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match=r"^the trend needs at least 2 epochs; got 1$"):
        fitting.trend_rise(np.arange(1), np.ones(1))


def test_loss_rise_finds_the_best_epoch_on_validation() -> None:
    rises = fitting.loss_rise(_history())
    rising = rises[rises["config"] == "rising"]
    assert (rising["best_epoch"] == 5).all() and rising["rise"].mean() == pytest.approx(
        0.12, abs=0.005
    )  # 0.03 per epoch over epochs 6-10


def test_overfits_reads_the_trend_against_the_margin() -> None:
    rises = fitting.loss_rise(_history())
    assert fitting.overfits(rises, "rising").holds
    flat = fitting.overfits(rises, "flat")
    assert not flat.holds and flat.condition == "False" and flat.comparisons[0].outcome == "equivalent"


def test_underfits_needs_worse_training_and_test_accuracy() -> None:
    final = pd.DataFrame(
        {
            "config": ["base"] * 3 + ["high"] * 3 + ["same"] * 3 + ["regularized"] * 3,
            "seed": [0, 1, 2] * 4,
            "train_accuracy": [0.99, 0.995, 0.99, 0.95, 0.96, 0.955, 0.99, 0.995, 0.99, 0.95, 0.96, 0.955],
            "test_accuracy": [0.93, 0.94, 0.93, 0.90, 0.91, 0.90, 0.93, 0.94, 0.93, 0.935, 0.945, 0.935],
        }
    )
    result = fitting.underfits(final, "high", "base")
    assert result.holds and result.estimate.mean < -0.03
    assert fitting.underfits(final, "same", "base").condition == "False"
    assert fitting.underfits(final, "regularized", "base").condition == "False"  # gave up train accuracy only


def test_a_run_too_short_for_the_trend_fails_before_training() -> None:
    with pytest.raises(ValueError) as caught:
        fitting.require_epochs(1)
    assert str(caught.value) == (
        "epochs must be at least 2 for the overfitting trend (a slope needs two epochs); got 1"
    )
    fitting.require_epochs(2)
