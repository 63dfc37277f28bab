from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import pandas as pd
import pytest

from casekit.book import plots
from casekit.lab import stats


def _history() -> pd.DataFrame:
    rows = [
        {"config": c, "seed": s, "epoch": e, "val_accuracy": 0.5 + 0.1 * e + 0.01 * s}
        for c in ("a", "b")
        for s in range(3)
        for e in (1, 2, 3)
    ]
    return pd.DataFrame(rows)


def test_learning_curves_draws_one_line_and_band_per_config() -> None:
    fig, ax = plt.subplots()
    returned = plots.learning_curves(_history(), "val_accuracy", ax=ax)
    assert returned is ax
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert len(ax.collections) == 2  # the seed bands
    assert ax.get_ylabel() == "test accuracy (%)"
    assert ax.get_lines()[0].get_ydata()[0] == 100 * (0.6 + 0.01)
    plt.close(fig)


def test_interval_bars_returns_the_axes() -> None:
    fig, ax = plt.subplots()
    summary = stats.summarize(_history(), "config", ["val_accuracy"])
    assert plots.interval_bars(summary, "val_accuracy", ax=ax) is ax
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    plt.close(fig)


def _units() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "inference_variance": [0.5, 1.0, 2.0],
            "moving_variance": [1.0, 2.0, 4.0],
            "shift": [2.0, 2.0, 2.0],
            "predicted_shift": [1.9, 2.1, 2.0],
        }
    )


def test_variance_scatter_and_prediction_plots_return_axes() -> None:
    fig, (a, b) = plt.subplots(1, 2)
    assert plots.variance_scatter(_units(), ax=a) is a and a.get_xscale() == "log"
    assert plots.measured_vs_predicted(_units(), ax=b) is b
    assert len(a.collections) == 1 and len(a.get_lines()) == 1
    plt.close(fig)


def test_interval_lines_draws_one_line_per_group() -> None:
    fig, ax = plt.subplots()
    summary = pd.DataFrame(
        {
            "rate": [0.1, 0.5, 0.1, 0.5],
            "depth": [1, 1, 3, 3],
            "shift_mean": [1.1, 2.0, 1.2, 3.0],
            "shift_ci": [0.1] * 4,
        }
    )
    assert plots.interval_lines(summary, "rate", "shift", by="depth", ax=ax) is ax
    assert len(ax.containers) == 2
    plt.close(fig)


def test_measured_vs_predicted_keeps_the_bulk_and_marks_an_outlier() -> None:
    rng = np.random.default_rng(0)
    predicted = rng.uniform(1.5, 3.0, 400)
    units = pd.DataFrame({"predicted_shift": predicted, "shift": predicted * rng.normal(1, 0.05, 400)})
    units.loc[0, ["predicted_shift", "shift"]] = [2.0, 80.0]  # one extreme unit
    fig, ax = plt.subplots()
    plots.measured_vs_predicted(units, ax=ax)
    assert ax.get_ylim()[1] < 5  # the outlier does not squeeze the axes
    assert any(t.get_text().startswith("1 of 400 units\nbeyond the axes") for t in ax.texts)
    plt.close(fig)


def test_subplots_draw_at_the_book_width_with_no_small_text() -> None:
    fig, axes = plots.subplots(1, 2)
    axes[0].set_title("title")
    plots.learning_curves(_history(), ax=axes[1])
    fig.canvas.draw()
    assert fig.get_size_inches()[0] == plots.WIDTH and fig.dpi == plots.DPI
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert sizes and min(sizes) >= plots.MIN_FONT_PT
    plt.close(fig)


def test_displayed_font_size_follows_the_display_scale() -> None:
    natural = plots.WIDTH * plots.DPI
    assert plots.min_displayed_pt(natural * 96 / plots.DPI, natural) == pytest.approx(plots.MIN_FONT_PT)
    assert plots.min_displayed_pt(natural / 2, natural) < plots.min_displayed_pt(natural, natural)
