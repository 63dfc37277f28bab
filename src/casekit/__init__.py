"""casekit: the helpers behind the Dropout Casebook.

The package is layered; each subpackage imports only from those below it (ARCHITECTURE.md)::

    cli                  the ``casekit`` command
    tools                bench, backend comparison
    book                 chapter runner, execution report, figures, Sphinx extension
    testing              the regression rule and its nbval plugin
    checks               ``casekit diagnose``: static and measured checks of a saved model
    claims               evidence records, displays, margins and Holm families, fitting,
                         the control pilot, claim rules, the ledger, readings
    lab                  data, article, models, convnets, training, replicas, optimizers,
                         probes, mechanics, stats, environment
    _runtime, profiles   start-up settings, run profiles
    _process             a function in a child process, stopped with all it started

Chapters import modules by short name, not objects::

    from casekit import data, models, profiles, training, stats, plots

:data:`CHAPTER_MODULES` maps each short name to its home; the module is imported on first
use. ``casekit.diagnose(model)`` (from :mod:`casekit.checks.diagnosis`) checks any Keras
model for the placements the book measures.

Importing casekit changes nothing in the session: no environment variable, no file
descriptor, no Keras or TensorFlow setting. ``casekit.setup_book_session()``, called by each
chapter before Keras is imported, sets what the book's runs use (deterministic kernels,
quiet TensorFlow logs, the TensorFlow backend); see :mod:`casekit._runtime`.
"""

from __future__ import annotations

import importlib
from typing import Any

from casekit._runtime import setup_book_session

__version__ = "0.1.0"

#: The modules chapters import by short name (``from casekit import data``), and their homes.
CHAPTER_MODULES = {
    **{
        name: f"casekit.lab.{name}"
        for name in ("convnets", "data", "environment", "mechanics", "models", "probes", "stats", "training")
    },
    **{
        name: f"casekit.claims.{name}"
        for name in ("control", "evidence", "fitting", "ledger", "readings", "report", "rules", "verdicts")
    },
    "pipeline": "casekit.book.pipeline",
    "plots": "casekit.book.plots",
    "backends": "casekit.tools.backends",
}
__all__ = ["CHAPTER_MODULES", "__version__", "diagnose", "setup_book_session", *CHAPTER_MODULES]


def __getattr__(name: str) -> Any:
    """A chapter module, or ``casekit.diagnose``, imported on first use (so the command line
    starts without pandas)."""
    if name == "diagnose":
        from casekit.checks.diagnosis import diagnose

        return diagnose
    if name in CHAPTER_MODULES:
        return importlib.import_module(CHAPTER_MODULES[name])
    raise AttributeError(f"module 'casekit' has no attribute {name!r}")
