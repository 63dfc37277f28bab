"""casekit: the helpers behind the Dropout Casebook.

Chapters import modules, not objects::

    from casekit import data, models, profiles, training, stats, plots

Each module covers one concern; see the README for the map. ``casekit.diagnose(model)``
(from :mod:`casekit.diagnosis`) checks any Keras model for the placements the book measures.
"""

from __future__ import annotations

from typing import Any

from casekit import _runtime  # noqa: F401  (sets TF logging/determinism env first)

__version__ = "0.1.0"
__all__ = ["__version__", "diagnose"]


def __getattr__(name: str) -> Any:
    """``casekit.diagnose`` on first use, so the command line starts without pandas."""
    if name == "diagnose":
        from casekit.diagnosis import diagnose

        return diagnose
    raise AttributeError(f"module 'casekit' has no attribute {name!r}")
