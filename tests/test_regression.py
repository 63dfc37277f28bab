"""The three-tier regression rule: it passes where floats differ and fails on real changes.

The mutation tests feed recorded outputs to the comparison (no retraining): the stored
chapters against copies with one thing changed, and against the evidence recorded from a
re-execution on another floating-point path (``tests/data/perturbed-evidence.json``).
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

from casekit.claims import evidence, report
from casekit.lab import stats
from casekit.testing import regression

CHAPTERS = ROOT / "chapters"
PERTURBED = Path(__file__).parent / "data" / "perturbed-evidence.json"


def _notebook(name: str) -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads((CHAPTERS / name).read_text(encoding="utf-8"))
    return notebook


def _glued_part(notebook: dict[str, Any], name: str) -> dict[str, Any]:
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                part: dict[str, Any] = evidence.records_in([output])[0]["parts"][0]
                return part
    raise KeyError(name)


def test_identical_notebooks_agree() -> None:
    stored = _notebook("01-dropout-before-batchnorm.ipynb")
    assert regression.compare_notebooks(stored, copy.deepcopy(stored)) == ([], [])


def test_an_estimate_moved_beyond_k_combined_half_widths_fails() -> None:
    stored = _notebook("01-dropout-before-batchnorm.ipynb")
    moved = copy.deepcopy(stored)
    part = _glued_part(moved, "ex1_acc")
    # K combined half-widths (stored and new equal), beyond the rule's rounding allowance
    part["mean"] += (
        evidence.K * math.hypot(part["half_width"], part["half_width"]) + 2 * regression.rounding(part) + 1e-9
    )
    problems, _ = regression.compare_notebooks(stored, moved)
    assert len(problems) == 1 and "glue 'ex1_acc'" in problems[0] and "more than the tolerance" in problems[0]


def test_an_estimate_moved_within_the_tolerance_passes() -> None:
    stored = _notebook("01-dropout-before-batchnorm.ipynb")
    moved = copy.deepcopy(stored)
    part = _glued_part(moved, "ex1_acc")
    part["mean"] += 2 * math.hypot(part["half_width"], part["half_width"])
    assert regression.compare_notebooks(stored, moved) == ([], [])


def test_a_table_cell_is_compared_by_the_same_rule() -> None:
    stored = _notebook("01-dropout-before-batchnorm.ipynb")
    moved = copy.deepcopy(stored)
    for cell in moved["cells"]:
        for record in evidence.records_in(cell.get("outputs", [])):
            if record["kind"] == "table" and "test_accuracy" in record["columns"]:
                cell_part = record["cells"][0][record["columns"].index("test_accuracy")]
                cell_part["mean"] += 10 * (cell_part["half_width"] + regression.rounding(cell_part))
                problems, _ = regression.compare_notebooks(stored, moved)
                assert any("'test_accuracy']" in p for p in problems)
                return
    pytest.fail("no table with a test_accuracy column in chapter 01")


def test_a_changed_verdict_fails() -> None:
    stored = _notebook("01-dropout-before-batchnorm.ipynb")
    changed = copy.deepcopy(stored)
    part = _glued_part(changed, "verdict_C2")
    part["value"] = "supported" if part["value"] != "supported" else "refuted"
    problems, _ = regression.compare_notebooks(stored, changed)
    assert len(problems) == 1 and "a claim's verdict must not change" in problems[0]


def test_a_changed_seed_count_or_template_fails() -> None:
    stored = _notebook("01-dropout-before-batchnorm.ipynb")
    changed = copy.deepcopy(stored)
    _glued_part(changed, "ex1_acc")["n"] = 4
    problems, _ = regression.compare_notebooks(stored, changed)
    assert problems and "n 5 stored, 4 now" in problems[0]


def test_a_fragile_decision_may_change_and_is_reported() -> None:
    fragile = evidence.above(stats.Estimate(0.021, 0.02, 5), 0.0, "rise")
    assert fragile.fragile
    flipped = evidence.above(stats.Estimate(0.019, 0.02, 5), 0.0, "rise")
    failed, notes = regression.compare_parts(fragile.part, flipped.part, "x")
    assert str(fragile) != str(flipped) and failed == [] and "fragile" in notes[0]


def test_a_robust_decision_may_not_change() -> None:
    robust = evidence.above(stats.Estimate(0.5, 0.02, 5), 0.0, "rise")
    flipped = dict(robust.part, value="False")
    failed, _ = regression.compare_parts(robust.part, flipped, "x")
    assert failed and "standard errors from the threshold" in failed[0]


def test_deterministic_values_are_compared_within_their_shown_decimals() -> None:
    shown = report.value(0.963, 2).part
    assert regression.compare_parts(shown, report.value(0.9631, 2).part, "x") == ([], [])
    assert regression.compare_parts(shown, report.value(0.975, 2).part, "x")[0]


def test_stored_chapters_agree_with_a_perturbed_re_execution() -> None:
    """Evidence recorded by ``casekit run`` under another floating-point path
    (``ONEDNN_MAX_CPU_ISA``, see the Makefile) agrees with the stored chapters."""
    perturbed = json.loads(PERTURBED.read_text(encoding="utf-8"))
    for name, cells in perturbed["chapters"].items():
        stored = _notebook(name)
        new = {"cells": [{"cell_type": "code", "outputs": outputs} for outputs in cells]}
        problems, _ = regression.compare_notebooks(stored, new)
        assert problems == [], name


def _notebook_file(path: Path, stored: list[dict[str, Any]], source: str) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    cell = new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.from_dict(o) for o in stored]
    notebook.cells = [cell]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def _shown_output(mean: float) -> dict[str, Any]:
    line = evidence.Text(
        "test accuracy {0}", [report.format_estimate(stats.Estimate(mean, 0.004, 5), "test_accuracy")]
    )
    return {"output_type": "display_data", "metadata": {}, "data": line._repr_mimebundle_()}


SHOW = (
    "from casekit import report, stats\n"
    "print('settings: 5 seeds')\n"
    "report.show('test accuracy {0}',\n"
    "            report.format_estimate(stats.Estimate(0.937, 0.004, 5), 'test_accuracy'))"
)


@pytest.mark.slow
def test_nbval_with_the_plugin_passes_within_tolerance_and_fails_on_one_character(tmp_path: Path) -> None:
    """Three stored notebooks, one nbval run: within the tolerance passes; one character
    changed in a float-free line fails; an estimate beyond the tolerance fails."""
    stream = {"output_type": "stream", "name": "stdout", "text": "settings: 5 seeds\n"}
    _notebook_file(tmp_path / "within.ipynb", [stream, _shown_output(0.935)], SHOW)
    _notebook_file(
        tmp_path / "character.ipynb", [dict(stream, text="settings: 6 seeds\n"), _shown_output(0.937)], SHOW
    )
    _notebook_file(tmp_path / "beyond.ipynb", [stream, _shown_output(0.960)], SHOW)
    notebooks = ("within.ipynb", "character.ipynb", "beyond.ipynb")
    result = _pytest_with_plugin(tmp_path, "--nbval-current-env", "-p", "no:cacheprovider", "-rA", *notebooks)
    assert "PASSED within.ipynb::Cell 0" in result.stdout, result.stdout[-3000:]
    assert "FAILED character.ipynb::Cell 0" in result.stdout and "settings: 6 seeds" in result.stdout
    assert "FAILED beyond.ipynb::Cell 0" in result.stdout and "more than the tolerance" in result.stdout


def test_the_plugin_subclasses_nbval_and_patches_nothing() -> None:
    from nbval import plugin

    from casekit.testing import nbval_plugin

    original = plugin.IPyNbCell.compare_outputs
    assert issubclass(nbval_plugin.ChapterCell, plugin.IPyNbCell)
    assert issubclass(nbval_plugin.ChapterFile, plugin.IPyNbFile)
    assert nbval_plugin.ChapterCell.compare_outputs is not original
    assert plugin.IPyNbCell.compare_outputs is original  # loading the plugin changed nothing


def test_the_plugin_refuses_to_run_beside_nbval_collection(tmp_path: Path) -> None:
    result = _pytest_with_plugin(tmp_path, "--nbval")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "--casekit-nbval replaces --nbval and --nbval-lax; pass only one of them" in result.stderr


def _pytest_with_plugin(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``folder`` with the plugin collecting notebooks (``--casekit-nbval``)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "casekit.testing.nbval_plugin", "--casekit-nbval", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
