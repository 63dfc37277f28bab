from __future__ import annotations

import pandas as pd

from casekit.claims import fitting


def _history() -> pd.DataFrame:
    rows = []
    for seed in range(4):
        for epoch, (rising, flat) in enumerate([(0.5, 0.5), (0.3, 0.4), (0.4, 0.35), (0.6, 0.34)], 1):
            rows.append({"config": "rising", "seed": seed, "epoch": epoch, "val_loss": rising + 0.01 * seed})
            rows.append({"config": "flat", "seed": seed, "epoch": epoch, "val_loss": flat + 0.001 * seed})
    return pd.DataFrame(rows)


def test_loss_rise_finds_the_best_epoch() -> None:
    rises = fitting.loss_rise(_history())
    rising = rises[rises["config"] == "rising"].iloc[0]
    assert rising["best_epoch"] == 2 and rising["rise"] == 0.6 - 0.3
    assert (rises[rises["config"] == "flat"]["rise"] == 0).all()


def test_overfits_needs_the_interval_above_zero() -> None:
    rises = fitting.loss_rise(_history())
    assert fitting.overfits(rises, "rising").holds
    assert not fitting.overfits(rises, "flat").holds


def test_underfits_needs_worse_training_and_test_accuracy() -> None:
    final = pd.DataFrame(
        {
            "config": ["base"] * 3 + ["high"] * 3 + ["same"] * 3 + ["regularized"] * 3,
            "seed": [0, 1, 2] * 4,
            "train_accuracy": [0.99, 0.995, 0.99, 0.95, 0.96, 0.955, 0.99, 0.994, 0.991, 0.95, 0.96, 0.955],
            "test_accuracy": [0.93, 0.94, 0.93, 0.90, 0.91, 0.90, 0.93, 0.94, 0.93, 0.935, 0.945, 0.935],
        }
    )
    result = fitting.underfits(final, "high", "base")
    assert result.holds and result.estimate.mean < -0.03
    assert not fitting.underfits(final, "same", "base").holds
    assert not fitting.underfits(final, "regularized", "base").holds  # gave up train accuracy only
