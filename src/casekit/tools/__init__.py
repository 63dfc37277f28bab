"""Measurements about the book rather than in it: ``casekit bench`` and the backend
comparison. Imports :mod:`casekit.book` and below."""
