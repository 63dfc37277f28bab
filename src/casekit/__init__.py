"""casekit: the helpers behind the Dropout Casebook.

Chapters import modules, not objects::

    from casekit import data, models, profiles, training, stats, plots

Each module covers one concern; see the README for the map. ``casekit.diagnose(model)``
(from :mod:`casekit.diagnosis`) checks any Keras model for the placements the book measures.

Importing casekit changes nothing in the session: no environment variable, no file
descriptor, no Keras or TensorFlow setting. ``casekit.setup_book_session()``, called by each
chapter before Keras is imported, sets what the book's runs use (deterministic kernels,
quiet TensorFlow logs, the TensorFlow backend); see :mod:`casekit._runtime`.
"""

from __future__ import annotations

from typing import Any

from casekit._runtime import setup_book_session

__version__ = "0.1.0"
__all__ = ["__version__", "diagnose", "setup_book_session"]


def __getattr__(name: str) -> Any:
    """``casekit.diagnose`` on first use, so the command line starts without pandas."""
    if name == "diagnose":
        from casekit.diagnosis import diagnose

        return diagnose
    raise AttributeError(f"module 'casekit' has no attribute {name!r}")
