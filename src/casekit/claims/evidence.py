"""Shown numbers and decisions that carry their data, so outputs can be compared as data.

Every number a chapter shows that depends on trained weights is a :class:`Shown`: a
``str`` (what the reader sees, e.g. ``"93.7 ± 0.3%"``) that also carries the estimate
behind it (mean, 95% half-width, number of seeds, per-seed values). Every yes/no or
choice taken from such numbers is a :class:`Decided`: the words shown plus the distance
of the deciding statistic from its threshold, in standard errors. Text, glued values
and tables built from them (:class:`Text`, :class:`Table`) are displayed with an extra
MIME type, :data:`MIME`, holding that record as JSON.

``casekit.testing.regression`` reads those records back out of stored and re-executed
notebooks: it compares the words and structure exactly and the numbers statistically,
never by parsing display strings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from casekit.lab import stats

#: The MIME type of an output's record (a display bundle carries it beside text/plain).
MIME = "application/vnd.casekit.evidence+json"

Part = dict[str, Any]


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


class Shown(str):
    """An estimate as the book shows it; ``part`` is its record (see :func:`estimate_part`)."""

    part: Part

    def __new__(cls, text: str, part: Part) -> Shown:
        self = super().__new__(cls, text)
        self.part = part
        return self


class Decided(str):
    """Words chosen from estimates; ``part`` records the deciding statistic and its margin.

    ``distance`` is how far the statistic lies from the threshold that would change the
    words, in standard errors (``inf`` for decisions that no float can move).
    """

    part: Part

    def __new__(cls, text: str, part: Part) -> Decided:
        self = super().__new__(cls, text)
        self.part = part
        return self

    @property
    def distance(self) -> float:
        value = self.part["distance"]
        return math.inf if value is None else float(value)

    @property
    def fragile(self) -> bool:
        return bool(self.part["fragile"])


def estimate_part(
    estimate: stats.Estimate,
    *,
    scale: float,
    unit: str,
    style: str,
    decimals: int,
    more: str = "",
    less: str = "",
) -> Part:
    """The JSON record of one shown estimate."""
    return {
        "type": "estimate",
        "mean": _finite(estimate.mean),
        "half_width": _finite(estimate.half_width),
        "n": int(estimate.n),
        "values": [float(v) for v in estimate.values] if len(estimate.values) <= 20 else [],
        "scale": scale,
        "unit": unit,
        "style": style,
        "decimals": decimals,
        "more": more,
        "less": less,
    }


#: Tolerance factor of the regression rule (see casekit.testing.regression and tests/test_tolerance.py).
K = 3.2


def fragile_band(half_width: float, n: int) -> float:
    """How far a re-execution may move an estimate with this half-width and ``n`` seeds.

    The regression rule allows ``K * sqrt(h_stored**2 + h_new**2)``; with ``h_new``
    taken equal to ``h_stored`` that is ``K * sqrt(2) * h``. A decision whose statistic
    lies closer than this to its threshold may go either way on another machine.
    """
    if n < 2 or not math.isfinite(half_width):
        return 0.0
    return K * math.sqrt(2.0) * half_width


def decided(
    text: str,
    statistic: str,
    distance: float = math.inf,
    fragile: bool = False,
    alternatives: Sequence[str] = (),
    strict: bool = False,
) -> Decided:
    """A :class:`Decided` with its record: ``distance`` in standard errors (``inf``: exact)."""
    part: Part = {
        "type": "decision",
        "value": text,
        "statistic": statistic,
        "distance": _finite(distance),
        "fragile": bool(fragile),
        "alternatives": list(alternatives),
    }
    if strict:
        part["strict"] = True
    return Decided(text, part)


def decision(
    text: str,
    statistic: str,
    estimate: stats.Estimate | None = None,
    boundary: float | None = None,
) -> Decided:
    """Words decided by where ``estimate``'s mean lies relative to ``boundary``.

    ``boundary`` is the mean at which the words would change (for "the 95% interval lies
    above 0" it is ``0 + half_width``). Without an estimate the decision does not depend
    on trained floats (an exact check) and is never fragile.
    """
    if estimate is None or boundary is None:
        return decided(text, statistic)
    gap = abs(estimate.mean - boundary)
    se = estimate.standard_error
    if not (math.isfinite(se) and se > 0):  # no spread over seeds (or one seed): nothing to move it
        return decided(text, statistic)
    return decided(text, statistic, gap / se, gap <= fragile_band(estimate.half_width, estimate.n))


def combine(text: str, statistic: str, inputs: Iterable[Decided]) -> Decided:
    """A decision made from several decisions: as close to flipping as its closest input."""
    decisions = [d for d in inputs if isinstance(d, Decided)]
    nearest = min((d.distance for d in decisions), default=math.inf)
    return decided(text, statistic, nearest, any(d.fragile for d in decisions))


def literal_part(value: object) -> Part:
    """A float-free value (label, count, setting, check result): compared exactly."""
    if isinstance(value, float):
        raise TypeError(
            f"a table cell holds the bare float {value!r}; show it through casekit.claims.report "
            "(format_estimate or value) so its comparison rule is recorded"
        )
    return {"type": "literal", "text": str(value)}


def part_of(value: object) -> Part:
    if isinstance(value, Shown | Decided):
        return value.part
    return literal_part(value)


def render(part: Part) -> str:
    """The text a part shows (the same function produces it when the part is created)."""
    if part["type"] == "literal":
        return str(part["text"])
    if part["type"] == "decision":
        return str(part["value"])
    return render_estimate(part)


def render_estimate(part: Part) -> str:
    """The text of an estimate record: ``mean ± half`` (:meth:`casekit.lab.stats.Estimate.format`),
    a bare value, or words for a paired difference."""
    mean, half = part["mean"], part["half_width"]
    if mean is None:
        return "n/a"
    scale, unit = part["scale"], part["unit"]
    if part["style"] == "value":
        return f"{mean * scale:.{part['decimals']}f}{unit}"
    estimate = stats.Estimate(mean, math.inf if half is None else half, part["n"])
    if part["style"] != "magnitude":
        return estimate.format(scale, unit)
    if not estimate.excludes_zero():
        return f"not detectably different ({estimate.format(scale, unit)})"
    magnitude = stats.Estimate(abs(mean), estimate.half_width, estimate.n)
    return f"{part['more'] if mean > 0 else part['less']} by {magnitude.format(scale, unit)}"


class Text:
    """A line of text with shown numbers in it; displayed as plain text plus its record."""

    def __init__(self, template: str, parts: Sequence[object]) -> None:
        self.template = template
        self.parts = [part_of(p) for p in parts]

    def __str__(self) -> str:
        return self.template.format(*(render(p) for p in self.parts))

    def record(self) -> dict[str, Any]:
        return {"kind": "text", "template": self.template, "parts": self.parts}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": str(self), MIME: self.record()}


def _label(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return " | ".join(_label(v) for v in value)
    return str(value)


class Table:
    """A DataFrame of shown values (estimates, decisions, labels) with its record.

    Index labels and column names are compared exactly, every cell by its own rule.
    ``frame`` is what the table shows; :meth:`record` is what is compared.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def record(self) -> dict[str, Any]:
        frame = self.frame
        return {
            "kind": "table",
            "index_names": [_label(n) for n in frame.index.names],
            "index": [_label(i) for i in frame.index],
            "columns": [_label(c) for c in frame.columns],
            "cells": [[part_of(v) for v in row] for row in frame.itertuples(index=False, name=None)],
        }

    def display_frame(self) -> pd.DataFrame:
        return self.frame.map(lambda v: render(part_of(v)))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        shown = self.display_frame()
        html = shown._repr_html_()  # type: ignore[operator]  # pandas-stubs mistypes it
        return {"text/plain": repr(shown), "text/html": html, MIME: self.record()}

    # A Table reads like the DataFrame it shows.
    def __getattr__(self, name: str) -> Any:
        if name == "frame":
            raise AttributeError(name)
        return getattr(self.frame, name)

    def __getitem__(self, key: Any) -> Any:
        return self.frame[key]


def glue_bundle(value: Shown | Decided | Text) -> dict[str, Any]:
    """The display bundle of a glued value: its text (as myst-nb expects) and its record."""
    if isinstance(value, Text):
        text, record = str(value), value.record()
    else:
        text, record = str(value), {"kind": "text", "template": "{0}", "parts": [value.part]}
    return {"text/plain": repr(text), MIME: record}


def records_in(outputs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The evidence records among a cell's outputs (glued ones included), in order."""
    found = []
    for output in outputs:
        data = output.get("data", {})
        for key, value in data.items():
            if key == MIME or key.endswith("/" + MIME):
                found.append(value)
    return found


def condition(
    holds: bool,
    statistic: str,
    estimate: stats.Estimate | None = None,
    boundary: float | None = None,
) -> Decided:
    """A yes/no (shown as ``"True"``/``"False"``) with the statistic that decided it."""
    return decision("True" if holds else "False", statistic, estimate, boundary)


def above(estimate: stats.Estimate, threshold: float, statistic: str) -> Decided:
    """Whether the estimate's 95% interval lies entirely above ``threshold``."""
    return condition(estimate.low > threshold, statistic, estimate, threshold + estimate.half_width)


def below(estimate: stats.Estimate, threshold: float, statistic: str) -> Decided:
    """Whether the estimate's 95% interval lies entirely below ``threshold``."""
    return condition(estimate.high < threshold, statistic, estimate, threshold - estimate.half_width)


def _all_must_flip(text: str, statistic: str, flipping: Sequence[Decided]) -> Decided:
    """A decision that changes only when every one of ``flipping`` changes."""
    distance = max((c.distance for c in flipping), default=math.inf)
    return decided(text, statistic, distance, bool(flipping) and all(c.fragile for c in flipping))


def all_of(statistic: str, *conditions: Decided) -> Decided:
    """True when every condition holds. A True flips when any condition flips (nearest
    distance); a False only when every false condition flips (farthest of them)."""
    if all(str(c) == "True" for c in conditions):
        return combine("True", statistic, conditions)
    return _all_must_flip("False", statistic, [c for c in conditions if str(c) != "True"])


def any_of(statistic: str, *conditions: Decided) -> Decided:
    """True when some condition holds. A False flips when any condition flips (nearest
    distance); a True only when every true condition flips (farthest of them)."""
    if not any(str(c) == "True" for c in conditions):
        return combine("False", statistic, conditions)
    return _all_must_flip("True", statistic, [c for c in conditions if str(c) == "True"])


def words(condition: Decided, yes: str, no: str) -> Decided:
    """The words for a condition's answer, keeping its record (statistic and distance)."""
    text = yes if str(condition) == "True" else no
    return Decided(text, {**condition.part, "value": text})


def phrase(condition: Decided, **words: str) -> Decided:
    """Words for a condition's value (``above="real", equivalent="absent"``), keeping its
    record; a value without words is shown as itself."""
    text = words.get(str(condition).replace(" ", "_"), str(condition))
    return Decided(text, {**condition.part, "value": text})


def choice(text: str, statistic: str, estimate: stats.Estimate) -> Decided:
    """A choice (the highest mean, say) decided by the sign of ``estimate``, the paired
    difference between the chosen option and the runner-up."""
    return decision(text, statistic, estimate, 0.0)
