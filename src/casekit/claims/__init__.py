"""What the book concludes and how it is shown: evidence records, displayed estimates and
badges (``report``), operational definitions (``fitting``), every claim's rule
(``verdicts``) and the ledger. Imports :mod:`casekit.lab` and the base modules."""
