"""The rule that decides whether a re-executed chapter still says what the stored one says.

Seeded runs are bit-identical on one machine, but another CPU takes other floating-point
paths through the same training, so a chapter re-executed there shows other numbers from
the same seeds. Three tiers of comparison keep ``make test`` meaningful everywhere:

- **exact**: everything that does not depend on trained floats: text without evidence
  records (checks, settings, code, ``diagnose``), the template of every line and glued
  value, table labels, seed counts, units and formats;
- **statistical**: every shown estimate, read from its record (:mod:`casekit.claims.evidence`).
  Stored mean ``m1`` with 95% half-width ``h1`` and re-executed ``m2, h2`` agree when

  ``|m2 - m1| <= K * sqrt(h1**2 + h2**2) + r1 + r2``

  where ``r`` is half a unit in the last decimal the book shows for that number (the
  precision the chapter claims; the only tolerance for numbers computed without
  training). ``K`` (:data:`casekit.claims.evidence.K`) is chosen so that a re-execution whose
  seeds behave like a fresh draw of seeds fails anywhere in the whole book with
  probability at most 1% (``tests/test_tolerance.py`` derives and checks it);
- **decisions**: words chosen from estimates must be identical unless the stored or
  the new decision is *fragile* (its statistic lies within the band the statistical
  rule allows, so either answer is consistent with the evidence). A claim's verdict
  must be identical; only a verdict shown as fragile may move, and only to the verdict
  its fragile input would give.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from casekit.claims import evidence

#: Record fields compared exactly for every estimate (the rest is statistical or derived).
EXACT_ESTIMATE_FIELDS = ("n", "scale", "unit", "style", "more", "less")


def rounding(part: Mapping[str, Any]) -> float:
    """Half a unit in the last decimal shown, in the estimate's own units."""
    return 0.5 * 10.0 ** (-int(part["decimals"])) / float(part["scale"])


def tolerance(stored: Mapping[str, Any], new: Mapping[str, Any], k: float = evidence.K) -> float:
    """How far the re-executed mean may lie from the stored one."""
    halves = [p["half_width"] for p in (stored, new)]
    if any(h is None for h in halves):  # an infinite interval (one value) bounds nothing
        return math.inf
    return k * math.hypot(*halves) + rounding(stored) + rounding(new)


def _text(part: Mapping[str, Any]) -> str:
    return evidence.render(dict(part))


def compare_parts(
    stored: Mapping[str, Any], new: Mapping[str, Any], where: str
) -> tuple[list[str], list[str]]:
    """Problems (failures) and notes (tolerated fragile changes) for one shown part."""
    if stored["type"] != new["type"]:
        return [f"{where}: {stored['type']} stored, {new['type']} now"], []
    kind = stored["type"]
    if kind == "literal":
        if stored["text"] != new["text"]:
            return [f"{where}: {stored['text']!r} stored, {new['text']!r} now"], []
        return [], []
    if kind == "decision":
        return _compare_decisions(stored, new, where)
    for field in EXACT_ESTIMATE_FIELDS:
        if stored.get(field) != new.get(field):
            return [f"{where}: {field} {stored.get(field)!r} stored, {new.get(field)!r} now"], []
    if (stored["mean"] is None) != (new["mean"] is None):
        return [f"{where}: {_text(stored)!r} stored, {_text(new)!r} now"], []
    if stored["mean"] is None:
        return [], []
    gap = abs(new["mean"] - stored["mean"])
    allowed = tolerance(stored, new)
    if gap > allowed:
        return [
            f"{where}: {_text(stored)!r} stored, {_text(new)!r} now: the means differ by "
            f"{gap:.3g}, more than the tolerance {allowed:.3g} (K={evidence.K:g} combined half-widths "
            "plus rounding)"
        ], []
    return [], []


def _compare_decisions(
    stored: Mapping[str, Any], new: Mapping[str, Any], where: str
) -> tuple[list[str], list[str]]:
    if stored["value"] == new["value"]:
        return [], []
    change = f"{where}: {stored['value']!r} stored, {new['value']!r} now ({stored['statistic']})"
    if stored.get("strict"):
        if stored["fragile"] and new["value"] in stored.get("alternatives", []):
            return [], [change + "; the stored verdict is marked fragile and this is its alternative"]
        return [change + "; a claim's verdict must not change"], []
    if stored["fragile"] or new["fragile"]:
        return [], [change + "; tolerated: the decision is fragile (inside the cross-machine band)"]
    distance = stored["distance"]
    return [change + f"; its statistic was {distance:.1f} standard errors from the threshold"], []


def compare_records(
    stored: Mapping[str, Any], new: Mapping[str, Any], where: str
) -> tuple[list[str], list[str]]:
    """Compare two evidence records (a line, a glued value or a table)."""
    if stored.get("kind") != new.get("kind"):
        return [f"{where}: a {stored.get('kind')} stored, a {new.get('kind')} now"], []
    problems: list[str] = []
    notes: list[str] = []
    if stored["kind"] == "text":
        if stored["template"] != new["template"] or len(stored["parts"]) != len(new["parts"]):
            return [f"{where}: text {stored['template']!r} stored, {new['template']!r} now"], []
        pairs: Iterable[tuple[str, Any, Any]] = (
            (f"{where}[{i}]", s, n)
            for i, (s, n) in enumerate(zip(stored["parts"], new["parts"], strict=True))
        )
    else:
        for field in ("index_names", "index", "columns"):
            if stored[field] != new[field]:
                return [f"{where}: table {field} {stored[field]} stored, {new[field]} now"], []
        pairs = (
            (f"{where}[{row!r}, {column!r}]", s, n)
            for row, stored_row, new_row in zip(stored["index"], stored["cells"], new["cells"], strict=True)
            for column, s, n in zip(stored["columns"], stored_row, new_row, strict=True)
        )
    for place, s, n in pairs:
        failed, tolerated = compare_parts(s, n, place)
        problems += failed
        notes += tolerated
    return problems, notes


def _labelled_records(outputs: Sequence[Mapping[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    labelled = []
    for output in outputs:
        records = evidence.records_in([output])
        if records:
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            labelled.append((f"glue {name!r}" if name else output.get("output_type", "output"), records[0]))
    return labelled


def has_record(output: Mapping[str, Any]) -> bool:
    return bool(evidence.records_in([output]))


def compare_outputs(
    stored: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]], where: str = "cell"
) -> tuple[list[str], list[str]]:
    """Compare the evidence records of one cell's stored and re-executed outputs, in order.

    Outputs without a record are left to the exact comparison (nbval's).
    """
    left, right = _labelled_records(stored), _labelled_records(new)
    if [label for label, _ in left] != [label for label, _ in right]:
        return [
            f"{where}: outputs with evidence differ: {[label for label, _ in left]} stored, "
            f"{[label for label, _ in right]} now"
        ], []
    problems: list[str] = []
    notes: list[str] = []
    for (label, s), (_, n) in zip(left, right, strict=True):
        failed, tolerated = compare_records(s, n, f"{where}, {label}")
        problems += failed
        notes += tolerated
    return problems, notes


def compare_notebooks(stored: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Compare every code cell's evidence records of two notebooks (dicts in nbformat 4)."""
    stored_cells = [c for c in stored["cells"] if c["cell_type"] == "code"]
    new_cells = [c for c in new["cells"] if c["cell_type"] == "code"]
    if len(stored_cells) != len(new_cells):
        return [f"{len(stored_cells)} code cells stored, {len(new_cells)} now"], []
    problems: list[str] = []
    notes: list[str] = []
    for number, (s, n) in enumerate(zip(stored_cells, new_cells, strict=True)):
        failed, tolerated = compare_outputs(s.get("outputs", []), n.get("outputs", []), f"code cell {number}")
        problems += failed
        notes += tolerated
    return problems, notes


def estimates_in(notebook: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every distinct statistical estimate a notebook shows (a number shown twice counts once)."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for cell in notebook["cells"]:
        for record in evidence.records_in(cell.get("outputs", [])):
            parts = (
                record["parts"] if record["kind"] == "text" else [p for row in record["cells"] for p in row]
            )
            for part in parts:
                if part["type"] == "estimate" and part["n"] >= 2 and part["half_width"] is not None:
                    seen[(part["mean"], part["half_width"], part["n"])] = part
    return list(seen.values())


def evidence_outputs(notebook: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """Per code cell, only the outputs that carry evidence (record and glue name kept)."""
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if has_record(output):
                data = {
                    k: v
                    for k, v in output["data"].items()
                    if k == evidence.MIME or k.endswith("/" + evidence.MIME)
                }
                kept.append(
                    {
                        "output_type": output["output_type"],
                        "metadata": output.get("metadata", {}),
                        "data": data,
                    }
                )
        cells.append(kept)
    return cells


#: oneDNN instruction-set caps, best first; the perturbations step down this ladder.
ISA_LADDER = ("AVX512_CORE", "AVX2", "AVX", "SSE41")


def _best_isa(cpuinfo: str | None) -> int:
    """Index in :data:`ISA_LADDER` of the best instruction set this CPU has."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
        except OSError:
            cpuinfo = ""
    flags = set(cpuinfo.split())
    for index, flag in enumerate(("avx512f", "avx2", "avx")):
        if flag in flags:
            return index
    return len(ISA_LADDER) - 1


def perturbation(cpuinfo: str | None = None) -> dict[str, str]:
    """The environment that moves TensorFlow's matmul off this CPU's own floating-point path.

    oneDNN generates its sgemm for the best instruction set the CPU has; capping it one
    level lower (AVX-512 -> AVX2, AVX2 -> AVX, else SSE4.1) changes the arithmetic while
    keeping it fast. ``make test`` runs the whole suite and nbval under this;
    ``tests/test_perturbation.py`` checks that it really changes trained weights.
    """
    step = min(_best_isa(cpuinfo) + 1, len(ISA_LADDER) - 1)
    return {"ONEDNN_MAX_CPU_ISA": ISA_LADDER[step]}


def portable_perturbation(cpuinfo: str | None = None) -> dict[str, str]:
    """A second float path that ``make test`` never takes, for ``make portable``.

    The cap two levels below the CPU's best (AVX-512 -> AVX, AVX2 -> SSE4.1) and a single
    intra-op thread, which changes how Eigen splits its reductions as well.
    """
    step = min(_best_isa(cpuinfo) + 2, len(ISA_LADDER) - 1)
    return {"ONEDNN_MAX_CPU_ISA": ISA_LADDER[step], "TF_NUM_INTRAOP_THREADS": "1"}


if __name__ == "__main__":  # for the Makefile: `env $(python -m casekit.testing.regression [--portable]) ...`
    import sys

    chosen = portable_perturbation() if "--portable" in sys.argv[1:] else perturbation()
    print(" ".join(f"{key}={value}" for key, value in chosen.items()))
