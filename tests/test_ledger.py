"""The ledger reads verdicts back from the chapters; CI fails when a verdict moves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from casekit.claims import ledger, report

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
EXPECTED = json.loads((Path(__file__).parent / "expected_verdicts.json").read_text())


def test_stored_chapters_keep_their_verdicts() -> None:
    """Re-executing chapters (casekit run --update) must not silently change a conclusion.

    If a change is meant to move a verdict, update tests/expected_verdicts.json in the
    same commit and say why.
    """
    verdicts = {record["id"]: record["verdict"] for record in ledger.collect(ROOT / "chapters")}
    assert verdicts == EXPECTED


def test_every_claim_has_a_quote_found_in_the_article_and_evidence() -> None:
    article = Path(__file__).resolve().parent / "data" / "seed-article.md"
    records = ledger.collect(ROOT / "chapters")
    assert [r["id"] for r in records] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    for record in records:
        assert record["verdict"] in report.VERDICTS and record["evidence"]
        assert record["quote"] in " ".join(article.read_text().split()), record["id"]


def test_cli_prints_the_same_records_as_json() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("casekit")), "ledger", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    records = json.loads(result.stdout)
    assert records == ledger.collect(ROOT / "chapters")
    first = records[0]["evidence"][0]
    assert set(first) == {"name", "value", "ci", "chapter"}
    assert {"verdict", "fragile", "label", "distance_se", "decided_by"} <= set(records[0])


def _glued_notebook(path: Path, values: dict[str, str]) -> None:
    notebook = new_notebook()
    cell = new_code_cell("")
    cell.outputs = [
        new_output(
            "display_data",
            data={"application/papermill.record/text/plain": repr(v)},
            metadata={"scrapbook": {"name": k, "mime_prefix": "application/papermill.record/"}},
        )
        for k, v in values.items()
    ]
    notebook.cells = [cell]
    nbformat.write(notebook, path)


def test_a_missing_or_invalid_verdict_is_an_error(tmp_path: Path) -> None:
    _glued_notebook(tmp_path / "02-ordering.ipynb", {"verdict_C1": "probably"})
    with pytest.raises(
        ValueError, match=r"glued verdict_C1 = 'probably'; allowed: supported, partly supported, refuted"
    ):
        ledger.collect(tmp_path)


def test_glued_values_strip_quotes_and_split_intervals(tmp_path: Path) -> None:
    _glued_notebook(tmp_path / "x.ipynb", {"acc": "93.6 ± 0.3%", "word": "higher by 1 ± 0.5 pp"})
    values = ledger.glued_values(tmp_path / "x.ipynb")
    assert values == {"acc": "93.6 ± 0.3%", "word": "higher by 1 ± 0.5 pp"}
    assert ledger._split(values["acc"]) == ("93.6%", "0.3%")
    assert ledger._split(values["word"]) == ("higher by 1 ± 0.5 pp", None)


def test_records_show_fragility_and_distance() -> None:
    for record in ledger.collect(ROOT / "chapters"):
        assert record["label"] == (
            f"{record['verdict']} (fragile)" if record["fragile"] else record["verdict"]
        )
        assert record["distance_se"] is None or record["distance_se"] >= 0
        assert record["decided_by"].startswith(f"verdict on {record['id']}")


def test_a_file_that_is_not_notebook_json_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "02-ordering.ipynb"
    broken.write_text('{"cells": [{"source": "unterminated', encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"02-ordering.ipynb is not valid notebook JSON: Unterminated string"
    ):
        ledger.collect(tmp_path)


def test_the_claim_table_links_every_claim_to_its_sections_and_shows_badges() -> None:
    records = ledger.collect(CHAPTERS)
    table = ledger.markdown_table(records)
    lines = table.splitlines()
    assert len(lines) == 2 + len(ledger.CLAIMS)
    for record, line in zip(records, lines[2:], strict=True):
        assert line.startswith(f"| {record['id']} | ")
        assert report.badge(record["verdict"], record["fragile"]) in line
        for section in record["sections"]:
            assert f"{{ref}}`{section['title']} <{section['label']}>`" in line
    bundle = ledger.Markdown(table, "plain")._repr_mimebundle_()
    assert bundle == {"text/markdown": table, "text/plain": "plain"}


def test_a_record_becomes_a_strict_decision_with_its_fragility() -> None:
    for record in ledger.collect(CHAPTERS):
        decided = ledger.decision(record)
        assert decided == record["verdict"] and decided.part["strict"]
        assert decided.fragile == record["fragile"]
