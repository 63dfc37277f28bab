"""The overfitting statistic on curves that do not overfit fires at most 5% of the time.

Simulated validation-loss curves with no upward trend (flat, or still falling) plus noise
that is independent between seeds, either independent across epochs or autocorrelated
(AR(1), as one model's consecutive epochs are), read by the chapter's own rule
(casekit.claims.fitting.overfits) at the book's 5 seeds and 20 epochs. The old statistic
(last minus minimum) is shown to fire on the same curves, which is why it was replaced.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casekit.claims import fitting

SEEDS, EPOCHS, TRIALS = 5, 20, 400


def _curves(rng: np.random.Generator, shape: str, noise: str, scale: float) -> np.ndarray:
    epochs = np.arange(1, EPOCHS + 1)
    base = {"flat": np.full(EPOCHS, 0.1), "falling": 0.1 + 0.2 / epochs}[shape]
    eps = rng.normal(0, scale, (SEEDS, EPOCHS))
    if noise == "ar1":
        for t in range(1, EPOCHS):
            eps[:, t] = 0.7 * eps[:, t - 1] + np.sqrt(1 - 0.7**2) * eps[:, t]
    return base + eps


def _fires(curves: np.ndarray) -> tuple[bool, bool]:
    rows = [
        {"config": "c", "seed": s, "epoch": e + 1, "val_loss": float(curves[s, e])}
        for s in range(SEEDS)
        for e in range(EPOCHS)
    ]
    rises = fitting.loss_rise(pd.DataFrame(rows))
    trend = fitting.overfits(rises, "c").holds
    old = curves[:, -1] - curves.min(axis=1)
    low = old.mean() - 2.776 * old.std(ddof=1) / np.sqrt(SEEDS)
    return trend, bool(low > 0)


@pytest.mark.parametrize("shape", ["flat", "falling"])
@pytest.mark.parametrize(("noise", "scale"), [("iid", 0.01), ("iid", 0.03), ("ar1", 0.01), ("ar1", 0.03)])
def test_the_trend_statistic_fires_at_most_5_percent_without_overfitting(
    shape: str, noise: str, scale: float
) -> None:
    rng = np.random.default_rng(12345)
    fired = [_fires(_curves(rng, shape, noise, scale)) for _ in range(TRIALS)]
    trend_rate = np.mean([f[0] for f in fired])
    assert trend_rate <= 0.05, trend_rate
    if shape == "flat" and noise == "iid":
        assert np.mean([f[1] for f in fired]) > 0.5  # last-minus-minimum fires on pure noise


def test_the_trend_statistic_fires_on_curves_that_do_overfit() -> None:
    rng = np.random.default_rng(7)
    epochs = np.arange(1, EPOCHS + 1)
    rising = 0.1 + 0.006 * np.maximum(epochs - 8, 0)  # +0.054 nats across the last half
    fired = [_fires(rising + rng.normal(0, 0.01, (SEEDS, EPOCHS)))[0] for _ in range(100)]
    assert np.mean(fired) >= 0.8
