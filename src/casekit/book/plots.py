"""Static figures for the chapters. Every helper takes ``ax=`` and returns the Axes.

Chapters create figures with :func:`subplots`, which applies :data:`STYLE`: figures are
drawn :data:`WIDTH` inches wide at :data:`DPI` with no text smaller than
:data:`MIN_FONT_PT`, so that at the book's column width (where a figure is shown at no
more than its natural size) every label reads at 9 pt or more. The browser test checks
the displayed scale against :func:`min_displayed_pt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from casekit.lab import stats

#: Figure width in inches and resolution: natural width WIDTH * DPI pixels.
WIDTH = 7.5
DPI = 100
#: The smallest text in a figure, in points at natural size (ticks and legends included).
MIN_FONT_PT = 11.0
STYLE: dict[str, Any] = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": MIN_FONT_PT,
    "axes.titlesize": MIN_FONT_PT,
    "axes.labelsize": MIN_FONT_PT,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "figure.titlesize": MIN_FONT_PT,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def subplots(nrows: int = 1, ncols: int = 1, *, height: float = 3.2, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` at the book's width and style: ``height`` inches per row."""
    plt.rcParams.update(STYLE)  # type: ignore[arg-type]  # the stubs want literal keys
    return plt.subplots(nrows, ncols, figsize=(WIDTH, height * nrows), layout="constrained", **kwargs)


def min_displayed_pt(displayed_px: float, natural_px: float) -> float:
    """The smallest figure text in points when an image of ``natural_px`` width is shown
    ``displayed_px`` wide (CSS pixels: 96 per inch, 72 points per inch)."""
    return MIN_FONT_PT * DPI / 72 * (displayed_px / natural_px) * 72 / 96


def _axes(ax: Any | None) -> Any:
    return ax if ax is not None else plt.gca()


def learning_curves(
    history: pd.DataFrame,
    metric: str = "val_accuracy",
    *,
    configs: Sequence[str] | None = None,
    ax: Any | None = None,
    percent: bool | None = None,
) -> Any:
    """Mean of ``metric`` per epoch for each config, with a 95% band across seeds."""
    ax = _axes(ax)
    percent = metric.endswith("accuracy") if percent is None else percent
    scale = 100.0 if percent else 1.0
    for config in configs or list(dict.fromkeys(history["config"])):
        part = history[history["config"] == config]
        summary = stats.summarize(part, "epoch", [metric])
        mean = summary[f"{metric}_mean"].to_numpy() * scale
        half = np.nan_to_num(summary[f"{metric}_ci"].to_numpy(), posinf=0.0) * scale
        (line,) = ax.plot(summary["epoch"], mean, label=config)
        ax.fill_between(summary["epoch"], mean - half, mean + half, color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("val_", "test ").replace("_", " ") + (" (%)" if percent else ""))
    ax.legend(frameon=False)
    return ax


def interval_bars(
    summary: pd.DataFrame,
    column: str,
    *,
    label: str = "config",
    ax: Any | None = None,
    scale: float = 1.0,
) -> Any:
    """Horizontal dot-and-whisker plot of ``<column>_mean`` ± ``<column>_ci`` per row."""
    ax = _axes(ax)
    y = np.arange(len(summary))
    ax.errorbar(
        summary[f"{column}_mean"] * scale,
        y,
        xerr=summary[f"{column}_ci"] * scale,
        fmt="o",
        capsize=3,
    )
    ax.set_yticks(y, summary[label])
    ax.invert_yaxis()
    ax.set_xlabel(column.replace("_", " "))
    return ax


def variance_scatter(units: pd.DataFrame, *, ax: Any | None = None, label: str | None = None) -> Any:
    """Moving variance against inference-time input variance per BN unit, log-log, with y = x."""
    ax = _axes(ax)
    valid = units.dropna(subset=["shift"])
    ax.scatter(valid["inference_variance"], valid["moving_variance"], s=6, alpha=0.5, label=label)
    low = float(min(valid["inference_variance"].min(), valid["moving_variance"].min()))
    high = float(max(valid["inference_variance"].max(), valid["moving_variance"].max()))
    ax.plot([low, high], [low, high], color="black", linewidth=1, label="no shift (y = x)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("variance of BN input at inference")
    ax.set_ylabel("BN moving variance")
    ax.legend(frameon=False)
    return ax


def measured_vs_predicted(units: pd.DataFrame, *, ax: Any | None = None, quantile: float = 0.99) -> Any:
    """Measured shift ratio against the closed-form prediction per unit, with y = x.

    The axes cover the bulk of the units (up to the ``quantile`` of either ratio); units
    beyond are drawn as arrows on the edge and counted in the corner, so one extreme unit
    cannot squeeze the rest.
    """
    ax = _axes(ax)
    valid = units.dropna(subset=["shift", "predicted_shift"])
    x, y = valid["predicted_shift"].to_numpy(), valid["shift"].to_numpy()
    top = float(max(np.quantile(x, quantile), np.quantile(y, quantile))) * 1.05
    bottom = float(min(x.min(), y.min(), 1.0)) * 0.95
    inside = (x <= top) & (y <= top)
    ax.scatter(x[inside], y[inside], s=6, alpha=0.5)
    if (~inside).any():
        ax.scatter(np.minimum(x[~inside], top), np.minimum(y[~inside], top), marker="^", color="C3", s=24)
        ax.text(  # lower right: below the diagonal, where few units lie
            0.97,
            0.03,
            f"{int((~inside).sum())} of {len(x)} units\nbeyond the axes\n(red, on the edge)",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
        )
    ax.plot([bottom, top], [bottom, top], color="black", linewidth=1)
    ax.set_xlim(bottom, top * 1.02)
    ax.set_ylim(bottom, top * 1.02)
    ax.set_xlabel("predicted shift (closed form)")
    ax.set_ylabel("measured shift")
    return ax


def interval_lines(
    summary: pd.DataFrame,
    x: str,
    column: str,
    *,
    by: str | None = None,
    ax: Any | None = None,
    scale: float = 1.0,
) -> Any:
    """``<column>_mean`` ± ``<column>_ci`` against ``x``, one line per ``by`` group."""
    ax = _axes(ax)
    groups = summary.groupby(by, sort=False) if by else [(None, summary)]
    for name, part in groups:
        ax.errorbar(
            part[x],
            part[f"{column}_mean"] * scale,
            yerr=part[f"{column}_ci"] * scale,
            marker="o",
            capsize=3,
            label=None if name is None else f"{by} = " + str(name),
        )
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(column.replace("_", " "))
    if by:
        ax.legend(frameon=False)
    return ax
