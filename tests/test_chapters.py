"""Checks on the stored chapters themselves (nbval re-executes them separately)."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT

from casekit import profiles
from casekit.claims import report

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
TOC = (ROOT / "book" / "_toc.yml").read_text()


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text())["cells"]
    return cells


def test_there_are_chapters() -> None:
    assert CHAPTERS


def _repository_url() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_with_title_answer_install_cell_then_parameters(path: Path) -> None:
    cells = _cells(path)
    opening = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and opening.startswith("# ")
    # the answer first: a verdict box in the opening cell, before any section
    assert re.search(r"^:::\{admonition\}.*\n:class: verdict$", opening, re.M), "no verdict box"
    assert "\n## " not in opening.split(":::", 1)[0]
    code = [c for c in cells if c["cell_type"] == "code"]
    install = "".join(code[0]["source"])
    assert code[0]["metadata"].get("tags") == ["remove-cell"], "the install cell is for Colab, not the HTML"
    assert "hide-input" in code[1]["metadata"].get("tags", []), "the parameters cell is collapsed"
    assert 'importlib.util.find_spec("casekit") is None' in install  # a no-op where installed
    assert f"git+{_repository_url()}" in install
    assert "--upgrade" not in install and "--force" not in install  # keeps the runtime's own packages
    assert not code[0].get("outputs"), "the install cell prints nothing where casekit is installed"
    assert "parameters" in code[1]["metadata"].get("tags", [])
    declared = profiles.declared_parameters(code, path.name)
    assert {"profile", "seeds", "epochs"} <= set(declared)
    assert declared["profile"] == profiles.DEFAULT_PROFILE
    profiles.resolve(**declared)  # the defaults are valid


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_stored_outputs_come_from_a_clean_default_run(path: Path) -> None:
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    assert not any("injected-parameters" in c["metadata"].get("tags", []) for c in code)
    assert all(c.get("execution_count") for c in code), "every code cell was executed"
    for cell in code:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error"
            assert output.get("name") != "stderr", f"stderr in stored output: {output.get('text')}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_notebooks_import_casekit_modules_not_objects(path: Path) -> None:
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("casekit."):
                pytest.fail(f"{path.name} imports objects from {node.module}")


def test_repository_url_agrees_everywhere() -> None:
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    assert config["repository"]["url"] == _repository_url()
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_is_in_the_table_of_contents(path: Path) -> None:
    assert f"chapters/{path.stem}" in TOC


GLUE_ROLE = re.compile(r"\{glue(?::text|:md)?\}`([A-Za-z0-9_]+)")


def _glued_names(cells: list[dict[str, Any]]) -> set[str]:
    names = set()
    for cell in cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrapbook:
                names.add(scrapbook["name"])
    return names


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_glued_from_the_run(path: Path) -> None:
    cells = _cells(path)
    referenced = {
        name
        for cell in cells
        if cell["cell_type"] == "markdown"
        for name in GLUE_ROLE.findall("".join(cell["source"]))
    }
    missing = referenced - _glued_names(cells)
    assert not missing, f"prose refers to names the run did not glue: {sorted(missing)}"


@pytest.mark.parametrize("claim", ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"])
def test_every_verdict_is_glued_as_a_recorded_decision(claim: str) -> None:
    """Verdicts come from casekit.claims.verdicts.decide, so their record is strict and names
    what decided them."""
    from casekit.claims import ledger

    found = {}
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb")):
        found.update(ledger.glued_decisions(path))
    verdict = found[f"verdict_{claim}"]
    assert verdict.part["strict"] and verdict.part["statistic"].startswith(f"verdict on {claim}")


HIDDEN = {"remove-input", "remove-cell", "hide-input"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_visible_code_cells_are_thin(path: Path) -> None:
    """A code cell the HTML shows holds one experiment, table or figure: at most 15 lines of
    at most 88 columns. Gluing and verdict assembly live in casekit or in hidden cells."""
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code" or HIDDEN & set(cell["metadata"].get("tags", [])):
            continue
        lines = "".join(cell["source"]).splitlines()
        assert len(lines) <= 15, f"{path.name} cell {index}: {len(lines)} lines"
        assert max(map(len, lines)) <= 88, f"{path.name} cell {index}: a line over 88 columns"
        assert "report.glue(" not in "".join(lines), f"{path.name} cell {index}: glue shown in the HTML"


#: What decides or repeats: a hidden cell holds none of it (an f-string only formats).
LOGIC = (
    ast.If, ast.IfExp, ast.For, ast.AsyncFor, ast.While, ast.comprehension, ast.BoolOp,
    ast.Compare, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Try,
    ast.Match,
)  # fmt: skip
#: Built-ins that decide (pick, order, reduce to a yes/no or a count).
DECIDING = {"min", "max", "sorted", "all", "any", "sum", "filter", "next"}


def _kind(node: ast.AST) -> str | None:
    """What decides in ``node``, or None."""
    if isinstance(node, LOGIC):
        return type(node).__name__
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DECIDING:
        return f"{node.func.id}()"
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant | ast.UnaryOp | ast.Slice):
        if not (isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            return "a pick by position"
    return None


def _logic(source: str) -> list[str]:
    """Every branch, loop, comparison, comprehension, definition or boolean operator in
    ``source``, every call of a deciding built-in, and every pick by position (``x[0]``)."""
    return sorted(
        f"{kind} on line {getattr(node, 'lineno', '?')}"
        for node in ast.walk(ast.parse(source))
        if (kind := _kind(node)) is not None
    )


def test_the_logic_detector_finds_each_kind_of_logic() -> None:
    for source in (
        "if a:\n    b()", "x = 1 if a else 2", "for a in b:\n    c()", "while a:\n    b()",
        "x = [a for a in b]", "x = a or b", "def f():\n    pass", "f = lambda: 1",
        "try:\n    a()\nexcept Exception:\n    pass", "x = a > b", "x = all(b)", "x = min(b)",
        "x = pairs[0]", "x = pairs[-1]", "x = pairs[1:]",
    ):  # fmt: skip
        assert _logic(source), source
    assert _logic('report.glue("x", f"{settings.params[\'rate\']:g}")') == []
    assert _logic('report.glue_all(readings.margins())\nx = gaps["example2"]') == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_hidden_cells_only_glue(path: Path) -> None:
    """Every decision and generated sentence glued into a chapter's prose comes from tested
    code in :mod:`casekit.claims` (readings, verdicts, report): a cell the HTML hides or
    shows collapsed (``remove-input``, ``remove-cell``, ``hide-input``) holds no branch,
    loop, comparison, comprehension, boolean operator, definition, deciding built-in or
    pick by position. The install cell is the one exception: it runs before casekit is
    installed (its content is checked by the opening test above)."""
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    for index, cell in enumerate(code[1:], 1):
        if HIDDEN & set(cell["metadata"].get("tags", [])):
            found = _logic("".join(cell["source"]))
            assert not found, f"{path.name} code cell {index} is hidden and holds {', '.join(found)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text(path: Path) -> None:
    for index, cell in enumerate(_cells(path)):
        if any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
            assert len(alt) > 40, f"{path.name} cell {index}: a figure without alt text"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_local_links_point_at_labels_of_the_chapter(path: Path) -> None:
    markdown = "".join("".join(c["source"]) + "\n" for c in _cells(path) if c["cell_type"] == "markdown")
    labels = set(re.findall(r"^\(([a-z0-9-]+)\)=$", markdown, re.M))
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", markdown))
    assert links <= labels, f"{path.name} links to missing labels {sorted(links - labels)}"


def test_ledger_sections_exist_in_their_chapters() -> None:
    from casekit.claims import ledger

    for claim in ledger.CLAIMS:
        assert claim.sections, f"{claim.id} links to no section"
        for _, chapter, label in claim.sections:
            markdown = "".join("".join(c["source"]) for c in _cells(ROOT / "chapters" / f"{chapter}.ipynb"))
            assert f"({label})=" in markdown, f"{claim.id}: no section labelled {label} in {chapter}"


def test_each_claim_has_one_verdict_under_one_name() -> None:
    """Only ``verdict_C<n>`` carries a claim's headline verdict; ``verdict_C<n>_<regime>`` is
    the same rule's verdict in one regime, the ledger's ``ledger_C<n>`` repeats the headline
    and the backend page's ``jax_C<n>`` is the same claim decided on a JAX run."""
    from casekit.claims import ledger

    for path in CHAPTERS:
        for name, value in ledger.glued_decisions(path).items():
            if value in report.VERDICTS and value.part.get("strict"):
                assert re.fullmatch(r"verdict_C\d(_article|_noisy)?|(ledger|jax)_C\d", name), (
                    f"{path.name} glues a verdict as {name}"
                )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_results_are_selected_by_their_settings_not_by_parsing_labels(path: Path) -> None:
    for cell in _cells(path):
        source = "".join(cell["source"])
        assert "removeprefix(" not in source and ".str.split" not in source and ".str.extract" not in source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_cell_prints_a_stray_object_repr(path: Path) -> None:
    """A figure cell ends in a statement, not in ``ax.set_title(...)``'s ``Text(...)`` repr."""
    for index, cell in enumerate(_cells(path)):
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/plain", ""))
            assert not text.startswith(("Text(", "[Text(", "<matplotlib", "[<matplotlib", "(np.float")), (
                f"{path.name} cell {index} shows {text[:40]!r}"
            )


def test_chapters_train_in_the_regime_the_pilot_chose() -> None:
    """Chapters 1-3 default to the share of wrong training labels that chapter 0's pilot
    chose on validation data (its stored, glued choice)."""
    from casekit.claims import ledger

    chosen = ledger.glued_values(ROOT / "chapters" / "00-why-dropout-seems-broken.ipynb")["chosen_noise"]
    for name in ("01-dropout-before-batchnorm", "02-ordering", "03-dropout-rate"):
        declared = profiles.declared_parameters(_cells(ROOT / "chapters" / f"{name}.ipynb"), name)
        assert f"{declared['label_noise']:g}" == chosen, (
            f"{name} trains at {declared['label_noise']}, pilot chose {chosen}"
        )
