"""casekit: the helpers behind the Dropout Casebook.

Chapters import modules, not objects::

    from casekit import data, models, profiles, training, stats, plots

Each module covers one concern; see the README for the map.
"""

from __future__ import annotations

from casekit import _runtime  # noqa: F401  (sets TF logging/determinism env first)

__version__ = "0.1.0"
__all__ = ["__version__"]
