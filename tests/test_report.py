from __future__ import annotations

import pandas as pd
import pytest

from casekit.claims import report
from casekit.lab import stats


def test_ci_table_formats_accuracy_as_percent() -> None:
    frame = pd.DataFrame(
        {"config": ["a"] * 3, "test_accuracy": [0.90, 0.91, 0.92], "test_loss": [0.31, 0.30, 0.32]}
    )
    table = report.ci_table(
        stats.summarize(frame, "config", ["test_accuracy", "test_loss"]), ["test_accuracy", "test_loss"]
    )
    assert table.loc["a", "test_accuracy"] == "91 ± 2%"
    assert table.loc["a", "test_loss"] == "0.31 ± 0.02"


def test_glue_displays_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    report.glue("answer", 42)
    assert capsys.readouterr().out == ""


def test_missing_values_read_as_not_applicable() -> None:
    assert report.format_estimate(stats.Estimate(float("nan"), float("nan"), 5)) == "n/a"


def test_compare_words_follow_the_interval() -> None:
    assert report.compare(stats.Estimate(0.012, 0.004, 5), "test_accuracy") == "higher by 1.2 ± 0.4 pp"
    assert report.compare(stats.Estimate(-0.05, 0.01, 5), "test_loss") == "lower by 0.05 ± 0.01"
    assert report.compare(stats.Estimate(0.001, 0.005, 5), "test_accuracy") == (
        "not detectably different (0.1 ± 0.5 pp)"
    )


def test_a_difference_without_spread_is_still_a_difference() -> None:
    assert report.compare(stats.Estimate(0.01, 0.0, 5), "test_accuracy") == "higher by 1.000 ± 0.000 pp"
    assert report.compare(stats.Estimate(0.0, 0.0, 5), "test_accuracy") == (
        "not detectably different (0.000 ± 0.000 pp)"
    )
