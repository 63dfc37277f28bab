"""The science: data, the article's models, seeded training, replicas, probes, exact checks
and statistics. Imports only :mod:`casekit._runtime` and :mod:`casekit.profiles`."""
