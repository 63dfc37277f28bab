"""The regression rule that compares stored and re-executed chapters, and its nbval
plugin. Imports :mod:`casekit.claims` and below."""
