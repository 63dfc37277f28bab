"""What several test files share: the checkout's root and one way to run the ``casekit`` command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from casekit.claims import evidence

#: The checkout the tests run in.
ROOT = Path(__file__).resolve().parents[1]
#: The ``casekit`` command this environment installed (next to its Python).
CASEKIT = str(Path(sys.executable).with_name("casekit"))


def casekit(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``casekit ARGS`` as a reader would, with ``env`` added to this environment."""
    return subprocess.run(
        [CASEKIT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def minimal_project(folder: Path, body: str, name: str = "01-test.ipynb") -> Path:
    """A casekit project in ``folder`` with one chapter, ``name``: a smoke-profile
    parameters cell, then ``body``. Returns ``folder``."""
    (folder / "book").mkdir()
    (folder / "book" / "_config.yml").write_text("title: t\n")
    (folder / "chapters").mkdir()
    notebook = new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    notebook.cells = [
        new_code_cell('profile = "smoke"\nseeds = None\nepochs = None', metadata={"tags": ["parameters"]}),
        new_code_cell(body),
    ]
    nbformat.write(notebook, folder / "chapters" / name)
    return folder


#: Where papermill (and ``casekit.claims.report.glue``) puts a glued value in an output.
PREFIX = "application/papermill.record/"


def glued_notebook(path: Path, values: Mapping[str, object]) -> None:
    """A notebook gluing ``values`` as ``casekit.claims.report.glue`` does: shown numbers and
    decisions with their record, anything else as plain text."""
    notebook = new_notebook()
    cell = new_code_cell("")
    cell.outputs = [
        new_output(
            "display_data",
            data={
                PREFIX + mime: content
                for mime, content in (
                    evidence.glue_bundle(v)
                    if isinstance(v, evidence.Shown | evidence.Decided)
                    else {"text/plain": repr(v)}
                ).items()
            },
            metadata={"scrapbook": {"name": k, "mime_prefix": PREFIX}},
        )
        for k, v in values.items()
    ]
    notebook.cells = [cell]
    nbformat.write(notebook, path)
