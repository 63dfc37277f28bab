"""A pytest plugin that teaches nbval the three-tier rule of :mod:`casekit.regression`.

Load it next to nbval: ``pytest --nbval -p casekit.nbval_plugin chapters`` (``make
nbval`` does). nbval still re-executes every cell and compares its outputs; before its
exact comparison runs, this plugin takes out of both the stored and the new outputs
every output that carries an evidence record (:data:`casekit.evidence.MIME`), compares
those records (numbers statistically, words and structure exactly) and leaves the rest,
which does not depend on trained floats, to nbval's exact comparison and sanitizers.
Tolerated changes of fragile decisions are listed in the test summary.
"""

from __future__ import annotations

from typing import Any

from casekit import regression

_NOTES: list[str] = []


def pytest_configure(config: Any) -> None:
    from nbval import plugin

    original = plugin.IPyNbCell.compare_outputs
    if getattr(original, "casekit", False):
        return

    def compare_outputs(self: Any, test: list[Any], ref: list[Any], skip_compare: Any = None) -> bool:
        where = f"{self.fspath.basename} cell {self.cell_num}"
        problems, notes = regression.compare_outputs(ref, test, where)
        _NOTES.extend(notes)
        if problems:
            self.comparison_traceback = ["Evidence differs beyond the regression rule:", *problems]
            return False
        keep_test = [o for o in test if not regression.has_record(o)]
        keep_ref = [o for o in ref if not regression.has_record(o)]
        return bool(original(self, keep_test, keep_ref, skip_compare))

    compare_outputs.casekit = True  # type: ignore[attr-defined]
    plugin.IPyNbCell.compare_outputs = compare_outputs


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _NOTES:
        terminalreporter.section("casekit: tolerated changes of fragile decisions")
        for note in _NOTES:
            terminalreporter.write_line(note)
