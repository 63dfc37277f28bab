"""Turn results into what a chapter shows: rounded tables and glued verdict numbers.

Numbers reach the prose only through :func:`glue` (myst-nb ``glue``), as strings already
rounded to the precision their interval supports, so stored outputs stay stable and the
text cannot drift from the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from casekit import stats

#: Metric columns that are fractions shown as percentages.
PERCENT_SUFFIX = "accuracy"


def _scale(column: str) -> tuple[float, str]:
    return (100.0, "%") if column.endswith(PERCENT_SUFFIX) else (1.0, "")


def format_estimate(estimate: stats.Estimate, column: str = "") -> str:
    """``mean ± half`` with percent scaling for accuracy columns."""
    scale, unit = _scale(column)
    return estimate.format(scale, unit)


def ci_table(
    summary: pd.DataFrame, columns: Sequence[str], *, label: str = "config",
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A display table of ``mean ± 95% CI`` strings from :func:`casekit.stats.summarize` output."""
    table = pd.DataFrame({label: summary[label]})
    for column in columns:
        table[(names or {}).get(column, column)] = [
            format_estimate(stats.Estimate(m, h, int(n)), column)
            for m, h, n in zip(summary[f"{column}_mean"], summary[f"{column}_ci"], summary["n"], strict=True)
        ]
    return table.set_index(label)


def glue(name: str, value: object) -> str:
    """Glue a value for the prose (``{glue:text}`name```) without displaying it; return it."""
    from myst_nb import glue as myst_glue

    text = value if isinstance(value, str) else str(value)
    myst_glue(name, text, display=False)
    return text
