"""Turn results into what a chapter shows: rounded tables and glued verdict numbers.

Numbers reach the prose only through :func:`glue` (myst-nb ``glue``), as strings already
rounded to the precision their interval supports, so stored outputs stay stable and the
text cannot drift from the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from casekit import stats

#: Metric columns that are fractions shown as percentages.
PERCENT_SUFFIX = "accuracy"


def _scale(column: str) -> tuple[float, str]:
    return (100.0, "%") if column.endswith(PERCENT_SUFFIX) else (1.0, "")


def format_estimate(estimate: stats.Estimate, column: str = "", *, difference: bool = False) -> str:
    """``mean ± half``; accuracy columns in percent (percentage points for a difference)."""
    if not np.isfinite(estimate.mean):
        return "n/a"
    scale, unit = _scale(column)
    if difference and unit == "%":
        unit = " pp"
    return estimate.format(scale, unit)


def compare(estimate: stats.Estimate, column: str, *, more: str = "higher", less: str = "lower") -> str:
    """Words for a paired difference: ``"higher by 1.2 ± 0.4 pp"`` or, when its 95%
    interval includes zero, ``"not detectably different (0.1 ± 0.5 pp)"``."""
    text = format_estimate(estimate, column, difference=True)
    if not estimate.excludes_zero():
        return f"not detectably different ({text})"
    magnitude = stats.Estimate(abs(estimate.mean), estimate.half_width, estimate.n)
    word = more if estimate.mean > 0 else less
    return f"{word} by {format_estimate(magnitude, column, difference=True)}"


def ci_table(
    summary: pd.DataFrame, columns: Sequence[str], *, label: str = "config",
    names: Mapping[str, str] | None = None, differences: Sequence[str] = (),
) -> pd.DataFrame:
    """A display table of ``mean ± 95% CI`` strings from :func:`casekit.stats.summarize` output.

    ``names`` renames columns for display; ``differences`` lists columns that hold
    differences (accuracy differences then read in percentage points).
    """
    table = pd.DataFrame({label: summary[label]})
    for column in columns:
        table[(names or {}).get(column, column)] = [
            format_estimate(stats.Estimate(m, h, int(n)), column, difference=column in differences)
            for m, h, n in zip(summary[f"{column}_mean"], summary[f"{column}_ci"], summary["n"], strict=True)
        ]
    return table.set_index(label)


def glue(name: str, value: object) -> None:
    """Glue a value, as text, for the prose (``{glue:text}`name```) without displaying it."""
    from myst_nb import glue as myst_glue

    myst_glue(name, value if isinstance(value, str) else str(value), display=False)
