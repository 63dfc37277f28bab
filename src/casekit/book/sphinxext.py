"""A small Sphinx extension the book loads (``sphinx.extra_extensions`` in ``_config.yml``).

**MathJax without a network.** The book's formulas are typeset by MathJax 3, served from
the built book itself: the files come from the ``sphinx-mathjax-offline`` package on PyPI
(installed with the book's dependencies, hash-locked like the rest), are copied into
``_static/mathjax/`` at the end of the build, and ``mathjax_path`` points there, so a
reader without internet (or behind a proxy that blocks CDNs) still sees rendered math.
Only the CommonHTML components and their fonts are copied; the other outputs and the
speech-rule files are left out.

**Duplicate scripts.** With Jupyter Book 1.x, sphinx-thebe's and sphinx-togglebutton's
inline scripts end up on every page twice (once more with another priority), so each page declares
``const THEBE_JS_URL`` twice and the browser reports a SyntaxError. This removes the
repeats from each page's script list just before the page is written.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

#: The package that ships MathJax, and the entry point the book loads from ``_static``.
MATHJAX_PACKAGE = "sphinx-mathjax-offline"
MATHJAX_PATH = "mathjax/tex-chtml.js"
_SKIP = ("sre", "*-full*", "mml-*", "tex-mml-*", "tex-svg*", "node-main.js", "svg", "svg.js")


def mathjax_source() -> Path:
    """The directory of MathJax files inside the installed ``sphinx-mathjax-offline``."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"the book needs the {MATHJAX_PACKAGE} package for offline math; install the book "
            "dependencies (make installs them from requirements.lock)"
        )
    return Path(spec.origin).parent / "static" / "mathjax"


def _use_local_mathjax(app: Any, config: Any) -> None:
    mathjax_source()  # fail at the start of the build, not after it
    config.mathjax_path = MATHJAX_PATH


def _copy_mathjax(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(mathjax_source(), target, ignore=shutil.ignore_patterns(*_SKIP))


def _key(script: Any) -> tuple[Any, ...]:
    attributes = getattr(script, "attributes", None) or {}
    filename = getattr(script, "filename", str(script)) or ""  # inline scripts: None or ""
    return (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _deduplicate_scripts(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", _use_local_mathjax, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _deduplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
