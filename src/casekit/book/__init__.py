"""Running and rendering the book: the chapter runner, the execution report, figures and
the Sphinx extension. Imports :mod:`casekit.testing` and below."""
