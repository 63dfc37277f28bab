"""Turn results into what a chapter shows: rounded tables and glued verdict numbers.

Numbers reach the prose only through :func:`glue` (myst-nb ``glue``), as strings already
rounded to the precision their interval supports, so the text cannot drift from the run.
Every shown number, line and table also carries its data (:mod:`casekit.claims.evidence`), which
the regression tests compare statistically (:mod:`casekit.testing.regression`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from casekit.claims import evidence
from casekit.lab import stats

#: Metric columns that are fractions shown as percentages.
PERCENT_SUFFIX = "accuracy"


#: The verdicts a claim can receive (decided by :mod:`casekit.claims.verdicts`).
VERDICTS = ("supported", "partly supported", "refuted", "inconclusive")


def label(verdict: str, fragile: bool) -> str:
    """The verdict as the ledger shows it: ``"supported (fragile)"`` when it is fragile."""
    return f"{verdict} (fragile)" if fragile else verdict


def badge(verdict: str, fragile: bool) -> str:
    """The verdict as an HTML badge, the same on every page (styled by the book's
    ``casekit.css``): one colour per verdict, and a second badge for fragile."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; allowed: {', '.join(VERDICTS)}")
    css = verdict.replace(" ", "-")
    html = f'<span class="casekit-badge casekit-{css}">{verdict}</span>'
    if fragile:
        html += (
            ' <span class="casekit-badge casekit-fragile" title="the deciding statistic lies within '
            'the cross-machine band of its threshold">fragile</span>'
        )
    return html


def _scale(column: str) -> tuple[float, str]:
    return (100.0, "%") if column.endswith(PERCENT_SUFFIX) else (1.0, "")


def _decimals(estimate: stats.Estimate, scale: float) -> int:
    return stats.decimals_for(estimate.half_width * scale)


def format_estimate(
    estimate: stats.Estimate,
    column: str = "",
    *,
    difference: bool = False,
    percent: bool = False,
) -> evidence.Shown:
    """``mean ± half``; accuracy columns (or ``percent=True``) in percent, percentage points
    for a difference.

    The result is a ``str`` that also carries the estimate (:class:`casekit.claims.evidence.Shown`).
    """
    scale, unit = (100.0, "%") if percent else _scale(column)
    if difference and unit == "%":
        unit = " pp"
    part = evidence.estimate_part(
        estimate, scale=scale, unit=unit, style="estimate", decimals=_decimals(estimate, scale)
    )
    return evidence.Shown(evidence.render_estimate(part), part)


def compare(
    estimate: stats.Estimate, column: str, *, more: str = "higher", less: str = "lower"
) -> evidence.Shown:
    """Words for a paired difference: ``"higher by 1.2 ± 0.4 pp"`` or, when its 95%
    interval includes zero, ``"not detectably different (0.1 ± 0.5 pp)"``."""
    scale, unit = _scale(column)
    if unit == "%":
        unit = " pp"
    part = evidence.estimate_part(
        estimate,
        scale=scale,
        unit=unit,
        style="magnitude",
        decimals=_decimals(estimate, scale),
        more=more,
        less=less,
    )
    return evidence.Shown(evidence.render_estimate(part), part)


def value(number: float, decimals: int, column: str = "") -> evidence.Shown:
    """A number computed without training (a fixed input through a layer): shown with
    ``decimals`` decimals and compared within them, since other CPUs may differ in the last bits."""
    scale, unit = _scale(column)
    estimate = stats.Estimate(float(number), 0.0, 1)
    part = evidence.estimate_part(estimate, scale=scale, unit=unit, style="value", decimals=decimals)
    return evidence.Shown(evidence.render_estimate(part), part)


def ci_table(
    summary: pd.DataFrame,
    columns: Sequence[str],
    *,
    label: str | Sequence[str] = "config",
    names: Mapping[str, str] | None = None,
    differences: Sequence[str] = (),
) -> evidence.Table:
    """A display table of ``mean ± 95% CI`` from :func:`casekit.lab.stats.summarize` output.

    ``label`` names the column (or columns, such as ``["depth", "rate"]``) that identify a
    row; ``names`` renames columns for display; ``differences`` lists columns that hold
    differences (accuracy differences then read in percentage points).
    """
    keys = [label] if isinstance(label, str) else list(label)
    table = summary[keys].copy()
    for column in columns:
        table[(names or {}).get(column, column)] = [
            format_estimate(stats.Estimate(m, h, int(n)), column, difference=column in differences)
            for m, h, n in zip(summary[f"{column}_mean"], summary[f"{column}_ci"], summary["n"], strict=True)
        ]
    return evidence.Table(table.set_index(keys if len(keys) > 1 else keys[0]))


def table(frame: pd.DataFrame) -> evidence.Table:
    """Show a DataFrame of shown values and labels (no bare floats) with its record."""
    return evidence.Table(frame)


def show(template: str, *parts: object) -> None:
    """Display a line with shown numbers (``template`` uses ``{0}``, ``{1}``...) and its record."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    line = evidence.Text(template, parts)
    if not InteractiveShell.initialized():  # a plain script: just the text
        print(line)
        return
    display(line)


def glue(name: str, value: object) -> None:
    """Glue a value, as text, for the prose (``{glue:text}`name```) without displaying it.

    Shown numbers and decisions are glued with their record, so the regression tests
    compare them as data; anything else is glued as text and compared exactly.
    """
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display

    if isinstance(value, evidence.Shown | evidence.Decided | evidence.Text):
        bundle = evidence.glue_bundle(value)
        if isinstance(value, evidence.Decided) and value.part.get("strict") and str(value) in VERDICTS:
            # a verdict: {glue}`name` shows it as a badge, {glue:text}`name` as words
            bundle["text/html"] = badge(str(value), value.fragile)
    else:
        if isinstance(value, float):
            raise TypeError(f"glue {name!r}: a bare float; glue a casekit.claims.report value instead")
        bundle = {"text/plain": repr(value if isinstance(value, str) else str(value))}
    if not InteractiveShell.initialized():  # outside a kernel there is no notebook to glue into
        return
    prefix = "application/papermill.record/"
    display(
        {prefix + key: item for key, item in bundle.items()},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


def glue_all(values: Mapping[str, object]) -> None:
    """:func:`glue` each named value, in order (a chapter's hidden cells glue what a
    :mod:`casekit.claims.readings` function computed)."""
    for name, value in values.items():
        glue(name, value)
