"""The ledger reads verdicts back from the chapters; CI fails when a verdict moves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import PREFIX, ROOT, glued_notebook

from casekit.claims import evidence, ledger, report
from casekit.lab import stats

CHAPTERS = ROOT / "chapters"
EXPECTED = json.loads((Path(__file__).parent / "expected_verdicts.json").read_text())


def test_stored_chapters_keep_their_verdicts() -> None:
    """Re-executing chapters (casekit run --update) must not silently change a conclusion.

    If a change is meant to move a verdict, update tests/expected_verdicts.json in the
    same commit and say why.
    """
    verdicts = {record["id"]: record["verdict"] for record in ledger.collect(ROOT / "chapters")}
    assert verdicts == EXPECTED


def test_every_claim_has_a_quote_found_in_its_source_and_evidence() -> None:
    """The article's claims are quoted verbatim; the two the book adds cite their source."""
    article = Path(__file__).resolve().parent / "data" / "seed-article.md"
    bibliography = (ROOT / "book" / "references.bib").read_text()
    records = ledger.collect(ROOT / "chapters")
    assert [r["id"] for r in records] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8"]
    assert [r["source"] for r in records] == ["seed_article"] * 6 + [
        "li2019disharmony",
        "tompson2015efficient",
    ]
    for record in records:
        assert record["verdict"] in report.VERDICTS and record["evidence"]
        assert f"{{{record['source']}," in bibliography, record["id"]  # a key of references.bib
        if record["source"] == "seed_article":
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


def test_a_missing_or_invalid_verdict_is_an_error(tmp_path: Path) -> None:
    glued_notebook(tmp_path / "02-ordering.ipynb", {"verdict_C1": "probably"})
    with pytest.raises(
        ValueError, match=r"glued verdict_C1 = 'probably'; allowed: supported, partly supported, refuted"
    ):
        ledger.collect(tmp_path)


def test_glued_values_are_the_text_their_records_show(tmp_path: Path) -> None:
    accuracy = report.format_estimate(stats.Estimate(0.936, 0.003, 5), percent=True)
    word = report.compare(stats.Estimate(0.01, 0.005, 5), "test_accuracy")
    glued_notebook(tmp_path / "x.ipynb", {"acc": accuracy, "word": word, "plain": "20"})
    values = ledger.glued_values(tmp_path / "x.ipynb")
    assert values == {"acc": "93.6 ± 0.3%", "word": "higher by 1.0 ± 0.5 pp", "plain": "20"}
    records = ledger.glued_records(tmp_path / "x.ipynb")
    assert records["acc"]["parts"] == [accuracy.part]
    assert records["plain"]["parts"] == [{"type": "literal", "text": "20"}]


@pytest.mark.parametrize(
    ("value", "listed"),
    [
        (report.format_estimate(stats.Estimate(0.936, 0.003, 5), percent=True), ("93.6%", "0.3%")),
        (
            report.format_estimate(stats.Estimate(-0.0004, 0.003, 5), difference=True, percent=True),
            ("0.0 pp", "0.3 pp"),
        ),
        (report.format_estimate(stats.Estimate(2.31, 0.07, 5)), ("2.31", "0.07")),
        (report.compare(stats.Estimate(0.01, 0.005, 5), "test_accuracy"), ("higher by 1.0 ± 0.5 pp", None)),
        (
            report.compare(stats.Estimate(0.01, 0.005, 5), "test_accuracy", more="above", less="below"),
            ("above by 1.0 ± 0.5 pp", None),
        ),
        (report.value(1.0034, 3), ("1.003", None)),
        (evidence.decided("partly supported", "verdict"), ("partly supported", None)),
        ("1.0 ± 0.5 pp", ("1.0 ± 0.5 pp", None)),  # plain words: no record, no interval
    ],
)
def test_the_ledger_splits_an_interval_by_its_record(value: object, listed: tuple[str, str | None]) -> None:
    record = {"kind": "text", "template": "{0}", "parts": [evidence.part_of(value)]}
    assert ledger._interval(record) == listed
    if listed[1] is not None:
        assert str(value) == f"{listed[0].removesuffix(listed[1].lstrip('0123456789.'))} ± {listed[1]}"


def _restyle(notebook: Path, target: Path) -> int:
    """Copy ``notebook`` to ``target`` with every glued value that carries a record shown as
    other text (as a new display format would); returns how many were changed."""
    content = json.loads(notebook.read_text(encoding="utf-8"))
    changed = 0
    for cell in content["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PREFIX + "text/plain" in data and evidence.records_in([output]):
                data[PREFIX + "text/plain"] = repr("shown another way: 12.3 ± 4.5%")
                data.pop(PREFIX + "text/html", None)
                changed += 1
    target.write_text(json.dumps(content), encoding="utf-8")
    return changed


def test_changed_display_text_with_the_same_records_gives_the_same_ledger(tmp_path: Path) -> None:
    changed = sum(
        _restyle(CHAPTERS / f"{chapter}.ipynb", tmp_path / f"{chapter}.ipynb")
        for chapter in ledger.chapters_read()
    )
    assert changed > 50
    assert ledger.collect(tmp_path) == ledger.collect(CHAPTERS)
    for chapter in ledger.chapters_read():
        assert ledger.glued_values(tmp_path / f"{chapter}.ipynb") == ledger.glued_values(
            CHAPTERS / f"{chapter}.ipynb"
        )


def test_a_verdict_is_read_from_its_record_with_its_fragility(tmp_path: Path) -> None:
    for chapter in ledger.chapters_read():
        _restyle(CHAPTERS / f"{chapter}.ipynb", tmp_path / f"{chapter}.ipynb")
    verdict = evidence.decided("refuted", "verdict on C6, decided by a test", 0.25, True, strict=True)
    records = ledger.collect(tmp_path, overrides={"05-ledger": {"verdict_C6": verdict}})
    (c6,) = [r for r in records if r["id"] == "C6"]
    assert (c6["verdict"], c6["label"], c6["distance_se"]) == ("refuted", "refuted (fragile)", 0.2)
    assert c6["decided_by"] == "verdict on C6, decided by a test"


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
