"""Static and measured checks of a reader's saved model (``casekit diagnose``). Imports
:mod:`casekit.lab` and the base modules."""
