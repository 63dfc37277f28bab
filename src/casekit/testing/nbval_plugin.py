"""A pytest plugin that checks stored notebooks by the three-tier rule of :mod:`casekit.testing.regression`.

Run it instead of nbval's own collection (``make nbval`` does)::

    pytest -p casekit.testing.nbval_plugin --casekit-nbval --nbval-current-env \\
        --nbval-sanitize-with tests/nbval_sanitize.cfg chapters

It collects each notebook itself, through pytest's ``pytest_collect_file`` hook, as a
:class:`ChapterFile`: nbval's notebook collector, whose cells are :class:`ChapterCell`
items. nbval still starts the kernel, re-executes every cell and applies its sanitizers;
before its exact comparison, a :class:`ChapterCell` takes out of both the stored and the
new outputs every output that carries an evidence record (:data:`casekit.claims.evidence.MIME`),
compares those records (numbers statistically, words and structure exactly) and leaves
the rest, which does not depend on trained floats, to nbval's exact comparison. Tolerated
changes of fragile decisions are kept in the pytest session's stash and listed in the
test summary.

Nothing of nbval is patched: the plugin subclasses nbval's public collector and item
(``IPyNbFile``, ``IPyNbCell``) and overrides ``compare_outputs``, the method nbval calls
with each cell's new and stored outputs. Verified against nbval 0.11.0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nbval.plugin import IPyNbCell, IPyNbFile

from casekit.testing import regression

#: Tolerated changes of fragile decisions, per pytest session.
NOTES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nbval").addoption(
        "--casekit-nbval",
        action="store_true",
        help="re-execute notebooks and compare them by casekit's three-tier regression rule",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[NOTES] = []
    if config.getoption("casekit_nbval") and (config.getoption("nbval") or config.getoption("nbval_lax")):
        raise pytest.UsageError("--casekit-nbval replaces --nbval and --nbval-lax; pass only one of them")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ChapterFile | None:
    if parent.config.getoption("casekit_nbval") and file_path.suffix == ".ipynb":
        return ChapterFile.from_parent(parent, path=file_path)  # type: ignore[no-any-return]
    return None


class ChapterCell(IPyNbCell):
    """One code cell, compared by the regression rule where it shows evidence."""

    def compare_outputs(self, test: list[Any], ref: list[Any], skip_compare: Any = None) -> bool:
        where = f"{self.fspath.basename} cell {self.cell_num}"
        problems, notes = regression.compare_outputs(ref, test, where)
        self.config.stash[NOTES].extend(notes)
        if problems:
            self.comparison_traceback = ["Evidence differs beyond the regression rule:", *problems]
            return False
        keep_test = [o for o in test if not regression.has_record(o)]
        keep_ref = [o for o in ref if not regression.has_record(o)]
        return bool(super().compare_outputs(keep_test, keep_ref, skip_compare))


class ChapterFile(IPyNbFile):
    """nbval's notebook collector, yielding :class:`ChapterCell` items."""

    def collect(self) -> Iterator[ChapterCell]:
        for cell in super().collect():
            yield ChapterCell.from_parent(
                self, name=cell.name, cell_num=cell.cell_num, cell=cell.cell, options=cell.options
            )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    notes = config.stash.get(NOTES, [])
    if notes:
        terminalreporter.section("casekit: tolerated changes of fragile decisions")
        for note in notes:
            terminalreporter.write_line(note)
