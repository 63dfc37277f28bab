"""Static figures for the chapters. Every helper takes ``ax=`` and returns the Axes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from casekit import stats


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
    ax.legend(frameon=False, fontsize="small")
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
        summary[f"{column}_mean"] * scale, y, xerr=summary[f"{column}_ci"] * scale,
        fmt="o", capsize=3,
    )
    ax.set_yticks(y, summary[label])
    ax.invert_yaxis()
    ax.set_xlabel(column.replace("_", " "))
    return ax
