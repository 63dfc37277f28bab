"""casekit: the helpers behind the Dropout Casebook.

Chapters import modules, not objects::

    from casekit import data, models, profiles, training, stats, plots

Each module covers one concern; see the README for the map. ``casekit.diagnose(model)``
(from :mod:`casekit.diagnosis`) checks any Keras model for the placements the book measures.
"""

from __future__ import annotations

from casekit import _runtime  # noqa: F401  (sets TF logging/determinism env first)
from casekit.diagnosis import diagnose

__version__ = "0.1.0"
__all__ = ["__version__", "diagnose"]
