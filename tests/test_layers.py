"""casekit's subpackages form layers: each imports only from layers below it, with no circle.

The layers, bottom to top (ARCHITECTURE.md explains what each holds)::

    0  casekit._runtime, casekit._process, casekit.profiles
    1  casekit.lab
    2  casekit.claims
    3  casekit.checks
    4  casekit.testing
    5  casekit.book
    6  casekit.tools
    7  casekit.cli, casekit (the package's own __init__)

Modules of one layer may import each other, but no import circle may form through any
import, at module level or inside a function. A casekit import inside a function body is
allowed only where it defers a heavy import on purpose; :data:`DEFERRED` lists each one
with its reason.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from helpers import ROOT

import casekit

PACKAGE = ROOT / "src" / "casekit"

LAYERS = {
    "casekit._runtime": 0,
    "casekit._process": 0,
    "casekit.profiles": 0,
    "casekit.lab": 1,
    "casekit.claims": 2,
    "casekit.checks": 3,
    "casekit.testing": 4,
    "casekit.book": 5,
    "casekit.tools": 6,
    "casekit.cli": 7,
    "casekit": 7,
}

#: casekit imports inside a function body, (importing module, imported module): the reason.
DEFERRED = {
    ("casekit", "casekit.checks.diagnosis"): "`import casekit` stays light: casekit.diagnose loads "
    "the checks (and pandas) on first use",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    while module not in LAYERS:
        module = module.rsplit(".", 1)[0]
    return LAYERS[module]


def imports_in(source: str) -> list[tuple[str, bool]]:
    """Every casekit module ``source`` imports, and whether the import sits in a function."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
                found.extend((name, inside) for name in names if name.startswith("casekit"))
            elif isinstance(child, ast.ImportFrom) and (child.module or "").startswith("casekit"):
                base = child.module or ""
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append((target if target in MODULES else base, inside))
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def imports(module: str) -> list[tuple[str, bool]]:
    return imports_in(MODULES[module].read_text(encoding="utf-8"))


def find_circle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle in ``graph`` (module -> imported modules), or ``[]``."""
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> list[str]:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*trail[trail.index(target) :], target]
            if target not in state and (circle := visit(target, [*trail, target])):
                return circle
        state[module] = "done"
        return []

    for module in sorted(graph):
        if module not in state and (circle := visit(module, [module])):
            return circle
    return []


def test_every_module_has_a_layer() -> None:
    assert len(MODULES) > 30
    for module in MODULES:
        layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_from_a_higher_layer(module: str) -> None:
    upward = [target for target, _ in imports(module) if layer(target) > layer(module)]
    assert upward == [], f"{module} (layer {layer(module)}) imports {upward} from above"


def test_no_import_circle() -> None:
    graph = {module: {target for target, _ in imports(module) if target != module} for module in MODULES}
    assert find_circle(graph) == []


def test_casekit_imports_inside_functions_are_only_the_listed_deferrals() -> None:
    inside = {
        (module, target) for module in MODULES for target, in_function in imports(module) if in_function
    }
    assert inside == set(DEFERRED)


def test_the_checks_see_an_upward_import_a_deferred_import_and_a_circle() -> None:
    source = "from casekit.tools import bench\n\ndef f():\n    from casekit.lab import data\n"
    assert imports_in(source) == [("casekit.tools.bench", False), ("casekit.lab.data", True)]
    assert layer("casekit.tools.bench") > layer("casekit.claims.ledger")  # upward from claims
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_every_module_a_chapter_imports_by_short_name_is_mapped() -> None:
    """Chapters write ``from casekit import data, models, ...``; each name resolves to its
    home in the layers (casekit.CHAPTER_MODULES) or is a top-level module or function."""
    names: set[str] = set()
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
            if source.lstrip().startswith(("%", "!")):  # the install cell (shell and magics)
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.ImportFrom) and node.module == "casekit":
                    names |= {alias.name for alias in node.names}
    assert {"data", "models", "verdicts", "pipeline"} <= names
    for name in names:
        assert name in casekit.CHAPTER_MODULES or f"casekit.{name}" in MODULES, name
        assert getattr(casekit, name) is not None
