from __future__ import annotations

import pandas as pd

from casekit import report, stats


def test_ci_table_formats_accuracy_as_percent() -> None:
    frame = pd.DataFrame({"config": ["a"] * 3, "test_accuracy": [0.90, 0.91, 0.92], "test_loss": [0.31, 0.30, 0.32]})
    table = report.ci_table(stats.summarize(frame, "config", ["test_accuracy", "test_loss"]), ["test_accuracy", "test_loss"])
    assert table.loc["a", "test_accuracy"] == "91 ± 2%"
    assert table.loc["a", "test_loss"] == "0.31 ± 0.02"


def test_glue_stores_a_string() -> None:
    assert report.glue("answer", 42) == "42"
