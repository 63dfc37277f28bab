"""A small Sphinx extension the book loads (``sphinx.extra_extensions`` in ``_config.yml``).

With Jupyter Book 1.x, sphinx-thebe's and sphinx-togglebutton's inline scripts end up on
every page twice (once more with another priority), so each page declares
``const THEBE_JS_URL`` twice and the browser reports a SyntaxError. This removes the
repeats from each page's script list just before the page is written.
"""

from __future__ import annotations

from typing import Any


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
    app.connect("html-page-context", _deduplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
