"""The ledger: every claim of the article, its verdict and the evidence behind it.

Chapters glue a ``verdict_C<n>`` value (one of :data:`VERDICTS`, decided by
:func:`casekit.claims.verdicts.decide`) and the numbers that support it; this module reads those
glued values and their records back out of the executed notebooks, so the ledger page and
``casekit ledger --json`` can never disagree with the chapters. A verdict whose deciding
statistic lies inside the cross-machine band is shown as fragile.

Verdicts, numbers and intervals are read from the evidence records the glued outputs carry
(:mod:`casekit.evidence`), never parsed from the text they display, so changing how a
value is displayed cannot change what the ledger reads. A value glued as plain words
carries no record and is read as the value papermill stored for it.
"""

from __future__ import annotations

import ast
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from casekit.claims import evidence
from casekit.claims.report import VERDICTS, badge, label
from casekit.lab import stats


@dataclass(frozen=True)
class Evidence:
    """One glued number: ``value`` is the mean (or the value), ``ci`` the 95% half-width."""

    name: str
    value: str
    ci: str | None
    chapter: str


@dataclass(frozen=True)
class Claim:
    """A claim with the chapter that decides it and its evidence keys. ``quote`` is the
    article's words verbatim when ``source`` is ``"seed_article"``; otherwise the claim as
    ``source`` (a key of ``book/references.bib``) makes it."""

    id: str
    quote: str
    chapter: str
    evidence: tuple[tuple[str, str, str], ...]  # (label, chapter, glue key)
    #: The sections that hold the evidence: (link text, chapter, MyST label of the section).
    sections: tuple[tuple[str, str, str], ...] = ()
    source: str = "seed_article"


#: C1-C6 are the article's claims; C7 is Li et al.'s finding in the convolutional networks
#: it was made in, C8 the common advice for feature maps after Tompson et al.; chapter 4
#: tests both.
CLAIMS: tuple[Claim, ...] = (
    Claim(
        "C1",
        "Keras handles this automatically; the weights are implicitly scaled down during inference.",
        "02-ordering",
        (
            ("training=False returns the input exactly", "02-ordering", "c1_identity"),
            ("weights bit-identical after predict", "02-ordering", "c1_weights"),
            ("mean(y) / mean(x) in training mode", "02-ordering", "c1_mean_ratio"),
        ),
        (("what Keras Dropout does", "02-ordering", "c1-evidence"),),
    ),
    Claim(
        "C2",
        "If Dropout precedes Batch Normalization, the normalization statistics become unreliable "
        "because the dropped-out neurons contribute zero to the batch statistics, "
        "distorting the normalization.",
        "01-dropout-before-batchnorm",
        (
            ("fix minus Example 1, test accuracy", "01-dropout-before-batchnorm", "fix_vs_ex1_acc"),
            ("noisy labels: fix minus Example 1", "01-dropout-before-batchnorm", "fix_vs_ex1_noisy"),
            ("noisy labels: dropout's own gain", "01-dropout-before-batchnorm", "fix_vs_nodrop_noisy"),
            ("variance shift of Example 1", "01-dropout-before-batchnorm", "ex1_shift"),
            ("Li et al. closed-form prediction", "01-dropout-before-batchnorm", "ex1_pred"),
            ("moving / dropout-on variance", "01-dropout-before-batchnorm", "ex1_fit"),
            ("shift, 3 blocks at the highest rate", "01-dropout-before-batchnorm", "shift_high_deep"),
            ("accuracy gained by re-estimation there", "01-dropout-before-batchnorm", "cost_high_deep"),
        ),
        (
            ("outcome", "01-dropout-before-batchnorm", "c2-outcome"),
            ("mechanism", "01-dropout-before-batchnorm", "c2-mechanism"),
            ("remedy", "01-dropout-before-batchnorm", "c2-remedy"),
            ("dose", "01-dropout-before-batchnorm", "c2-dose"),
        ),
    ),
    Claim(
        "C3",
        "placing Dropout after activation functions can also lead to unintended behavior, as the dropout "
        "masks are applied to already-activated outputs, rather than pre-activation values.",
        "02-ordering",
        (
            ("ReLU: max |before - after|, same mask", "02-ordering", "c3_relu"),
            ("sigmoid: max |before - after|", "02-ordering", "c3_sigmoid"),
            ("GELU: max |before - after|", "02-ordering", "c3_gelu"),
            ("same-seed training gap, Example 2 vs BN-ReLU-Dropout", "02-ordering", "same_gap_example2"),
        ),
        (("before or after the activation", "02-ordering", "c3-evidence"),),
    ),
    Claim(
        "C4",
        "Here, the Dropout layer is placed correctly: after Batch Normalization "
        "and before the activation function.",
        "02-ordering",
        (
            ("Example 2 test accuracy", "02-ordering", "ex2_acc"),
            ("noisy labels: dropout's own gain for Example 2", "02-ordering", "ex2_vs_nodrop_noisy"),
            ("noisy labels: orderings better than Example 2 by the margin", "02-ordering", "n_better_noisy"),
            ("noisy labels: orderings worse than Example 2 by the margin", "02-ordering", "n_worse_noisy"),
            ("noisy labels: best validation accuracy", "02-ordering", "best_noisy"),
        ),
        (
            ("every ordering", "02-ordering", "c4-evidence"),
            ("orderings that are the same function", "02-ordering", "c4-same-function"),
        ),
    ),
    Claim(
        "C5",
        "By creating and training two models with different `dropout_rate` values (e.g., 0.2 and 0.8), "
        "the effect of underfitting (high rate) versus overfitting (low rate) can be observed.",
        "03-dropout-rate",
        (
            ("rate 0.8 train accuracy minus rate 0", "03-dropout-rate", "high_under"),
            ("rate 0.2 validation-loss trend, second half", "03-dropout-rate", "low_rise"),
            ("noisy labels: rate 0.2 validation-loss trend", "03-dropout-rate", "noisy_low_rise"),
            ("rate 0.8 vs rate 0.2, test accuracy", "03-dropout-rate", "high_vs_low_test"),
            ("best rate by validation accuracy", "03-dropout-rate", "best_rate"),
        ),
        (
            ("definitions", "03-dropout-rate", "c5-definitions"),
            ("each half of the claim", "03-dropout-rate", "c5-halves"),
            ("fixed width or fixed units", "03-dropout-rate", "c5-width"),
        ),
    ),
    Claim(
        "C6",
        "The efficacy of the Keras Dropout layer hinges critically on its placement within the model "
        "architecture, specifically its interaction with batch normalization "
        "and the training/inference phases.",
        "05-ledger",
        (
            ("title-question checks that hold", "00-why-dropout-seems-broken", "n_checks_hold"),
            (
                "fix minus Example 1 at the article's settings",
                "01-dropout-before-batchnorm",
                "fix_vs_ex1_acc",
            ),
            ("accuracy gained by re-estimation, 3 blocks", "01-dropout-before-batchnorm", "cost_high_deep"),
            ("best minus worst of the six orderings", "02-ordering", "spread"),
            ("noisy labels: orderings better / worse than Example 2", "02-ordering", "n_better_noisy"),
        ),
        (
            ("training/inference checks", "00-why-dropout-seems-broken", "title-checks"),
            ("placement at the article's settings", "01-dropout-before-batchnorm", "c2-outcome"),
            ("placement at high dose", "01-dropout-before-batchnorm", "c2-dose"),
            ("every ordering", "02-ordering", "c4-evidence"),
        ),
    ),
    Claim(
        "C7",
        "Dropout before BatchNormalization shifts the variance it normalizes with and costs accuracy "
        "in convolutional networks.",
        "04-conv-nets",
        (
            ("after minus before, first dose, test accuracy", "04-conv-nets", "conv_cost_low"),
            ("after minus before, last dose, test accuracy", "04-conv-nets", "conv_cost_high"),
            ("variance shift, first block", "04-conv-nets", "conv_shift_first"),
            ("closed-form prediction, first block", "04-conv-nets", "conv_pred_first"),
            ("variance shift, last block of the last dose", "04-conv-nets", "conv_shift_deep"),
            ("accuracy re-estimation recovers, last dose", "04-conv-nets", "conv_reest_high"),
        ),
        (
            ("the cost by dose", "04-conv-nets", "conv-disharmony"),
            ("the shift by channel", "04-conv-nets", "conv-shift"),
        ),
        "li2019disharmony",
    ),
    Claim(
        "C8",
        "Dropout barely regularizes a conv net; use SpatialDropout.",
        "04-conv-nets",
        (
            ("noisy labels: SpatialDropout minus Dropout", "04-conv-nets", "spatial_vs_dropout"),
            ("noisy labels: SpatialDropout minus no dropout", "04-conv-nets", "gain_spatial"),
            ("noisy labels: Dropout against no dropout", "04-conv-nets", "gain_dropout"),
        ),
        (("SpatialDropout against Dropout", "04-conv-nets", "conv-spatial"),),
        "tompson2015efficient",
    ),
)


def chapters_read() -> list[str]:
    """The chapters (file stems) whose glued values :func:`collect` reads, in book order:
    what the ledger page fetches with :func:`casekit.book.pipeline.stored_chapters`."""
    named = {claim.chapter for claim in CLAIMS} | {chapter for c in CLAIMS for _, chapter, _ in c.evidence}
    return sorted(named)


def read_notebook(path: Path) -> dict[str, Any]:
    """A notebook's JSON; a file that is not valid notebook JSON is an error naming it."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid notebook JSON: {error}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{path} is not a notebook: no list of cells")
    return notebook


#: Where papermill stores a glued value's plain text (the value itself, as a Python literal).
_GLUED_TEXT = "application/papermill.record/text/plain"


def _glued_outputs(notebook: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every glued output of a notebook with its glue name, in order."""
    return [
        (name, output)
        for cell in read_notebook(notebook)["cells"]
        for output in cell.get("outputs", [])
        if (name := output.get("metadata", {}).get("scrapbook", {}).get("name"))
    ]


def glued_parts(notebook: Path) -> dict[str, evidence.Part]:
    """The record of every value glued with one (estimates, values and decisions)."""
    found: dict[str, evidence.Part] = {}
    for name, output in _glued_outputs(notebook):
        records = evidence.records_in([output])
        if records and records[0]["kind"] == "text" and len(records[0]["parts"]) == 1:
            found[name] = records[0]["parts"][0]
    return found


def glued_decisions(notebook: Path) -> dict[str, evidence.Decided]:
    """Every glued decision (verdicts and conditions) of a notebook, with its record."""
    return {
        name: evidence.Decided(part["value"], part)
        for name, part in glued_parts(notebook).items()
        if part["type"] == "decision"
    }


def _text_record(value: object) -> dict[str, Any]:
    """A value as the record of one line holding it alone (a shown number, a decision, words)."""
    return {"kind": "text", "template": "{0}", "parts": [evidence.part_of(value)]}


def glued_records(notebook: Path) -> dict[str, dict[str, Any]]:
    """The record of every value glued in an executed notebook (``kind`` ``"text"``: a
    template and its parts).

    A value glued with its record (a shown number, a decision, a line of them) gives that
    record, whatever text it was displayed with. A value glued as plain words, which has
    no record, gives a literal part holding the value papermill stored for it.
    """
    found: dict[str, dict[str, Any]] = {}
    for name, output in _glued_outputs(notebook):
        records = [r for r in evidence.records_in([output]) if r.get("kind") == "text"]
        stored = output.get("data", {}).get(_GLUED_TEXT)
        if records:
            found[name] = records[0]
        elif stored is not None:
            raw = "".join(stored) if isinstance(stored, list) else stored
            try:
                found[name] = _text_record(str(ast.literal_eval(raw)))
            except (ValueError, SyntaxError):
                found[name] = _text_record(raw)
    return found


def _shown(record: dict[str, Any]) -> str:
    """The text a glued value's record shows: its template filled with its parts
    (:func:`casekit.evidence.render`)."""
    return str(record["template"]).format(*(evidence.render(part) for part in record["parts"]))


def glued_values(notebook: Path) -> dict[str, str]:
    """Every value glued in an executed notebook, as the text the book shows, produced from
    its record (:func:`glued_records`)."""
    return {name: _shown(record) for name, record in glued_records(notebook).items()}


def _interval(record: dict[str, Any]) -> tuple[str, str | None]:
    """A glued value as the ledger lists it: an estimate shown as ``mean ± half`` gives its
    mean and its 95% half-width, each with its unit (``"93.6%"``, ``"0.3%"``); anything else
    (a value, words such as ``"higher by 1 ± 0.5 pp"``, a decision, a line of several
    parts) gives its whole text and no separate interval."""
    parts = record["parts"]
    if record["template"] == "{0}" and len(parts) == 1:
        part = parts[0]
        if part["type"] == "estimate" and part["style"] == "estimate" and part["mean"] is not None:
            scale, unit = part["scale"], part["unit"]
            half = math.inf if part["half_width"] is None else part["half_width"] * scale
            digits = stats.decimals_for(half)  # the precision casekit.stats.Estimate.format shows
            mean = f"{part['mean'] * scale:.{digits}f}"
            if float(mean) == 0:
                mean = mean.lstrip("-")
            return mean + unit, f"{half:.{digits}f}{unit}"
    return _shown(record), None


def collect(chapters: Path, overrides: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """The ledger as JSON-ready records, read from the notebooks in ``chapters``.

    ``overrides`` supplies glued values by chapter, for the ledger notebook itself, which
    computes C6 while it runs and cannot read its own outputs yet. An override replaces the
    glued value whole: a :class:`~casekit.evidence.Decided` or
    :class:`~casekit.evidence.Shown` brings its record, plain words a literal.
    """
    given = overrides or {}
    glued: dict[str, dict[str, dict[str, Any]]] = {}

    def records_of(chapter: str) -> dict[str, dict[str, Any]]:
        if chapter not in glued:
            path = chapters / f"{chapter}.ipynb"
            if not path.is_file() and chapter not in given:
                raise FileNotFoundError(f"ledger needs chapter {path.name}, which is missing in {chapters}")
            found = glued_records(path) if path.is_file() else {}
            glued[chapter] = {**found, **{k: _text_record(v) for k, v in given.get(chapter, {}).items()}}
        return glued[chapter]

    records = []
    for claim in CLAIMS:
        glued_verdict = records_of(claim.chapter).get(f"verdict_{claim.id}")
        verdict = None if glued_verdict is None else _shown(glued_verdict)
        if verdict not in VERDICTS:
            raise ValueError(
                f"{claim.chapter} glued verdict_{claim.id} = {verdict!r}; allowed: {', '.join(VERDICTS)}"
            )
        evidence_items = []
        for name, chapter, key in claim.evidence:
            if key not in records_of(chapter):
                raise ValueError(f"{chapter} has no glued value {key!r} (evidence for {claim.id})")
            value, ci = _interval(records_of(chapter)[key])
            evidence_items.append(asdict(Evidence(name, value, ci, chapter)))
        parts = [] if glued_verdict is None else glued_verdict["parts"]
        record = parts[0] if len(parts) == 1 and parts[0]["type"] == "decision" else None
        fragile = bool(record is not None and record["fragile"])
        margin = None if record is None else record["distance"]
        distance = None if margin is None else round(float(margin), 1)
        records.append(
            {
                "id": claim.id,
                "quote": claim.quote,
                "source": claim.source,
                "verdict": verdict,
                "fragile": fragile,
                "label": label(verdict, fragile),
                "distance_se": distance,
                "decided_by": None if record is None else record["statistic"],
                "regime": None if record is None else record.get("regime"),
                "regimes": {} if record is None else record.get("regimes", {}),
                "comparisons": [] if record is None else record.get("comparisons", []),
                "chapter": claim.chapter,
                "sections": [
                    {"title": title, "chapter": chapter, "label": target}
                    for title, chapter, target in claim.sections
                ],
                "evidence": evidence_items,
            }
        )
    return records


def markdown_table(records: list[dict[str, Any]]) -> str:
    """The ledger's claim table in MyST Markdown: each verdict as its badge
    (:func:`casekit.claims.report.badge`) and each claim linked to the sections holding its evidence
    (``{ref}`` roles, so the book build fails on a link that points nowhere)."""
    lines = [
        "| claim | verdict | decided with | in each regime | distance from threshold (SE) | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        distance = "exact" if r["distance_se"] is None else f"{r['distance_se']:.1f}"
        links = ", ".join(f"{{ref}}`{s['title']} <{s['label']}>`" for s in r["sections"])
        each = "; ".join(f"{regime}: {verdict}" for regime, verdict in r["regimes"].items())
        lines.append(
            f"| {r['id']} | {badge(r['verdict'], r['fragile'])} | {r['regime'] or ''} | {each} "
            f"| {distance} | {links} |"
        )
    return "\n".join(lines)


class Markdown:
    """A display object with MyST Markdown (rendered by the book) and plain text (a terminal)."""

    def __init__(self, text: str, plain: str) -> None:
        self.text, self.plain = text, plain

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/markdown": self.text, "text/plain": self.plain}


def power_table(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every comparison behind the headline verdicts, with its seeds, its power to detect a
    true difference of one margin and the seeds 80% power would need (one row each)."""
    return [
        {
            "claim": r["id"],
            "regime": c["regime"] or "-",
            "comparison": c["name"],
            "outcome": c["outcome"],
            "seeds": c["n"],
            "power": round(float(c["power"]), 2),
            "seeds for 80%": c["seeds_needed"],
        }
        for r in records
        for c in r["comparisons"]
    ]


def decision(record: dict[str, Any]) -> evidence.Decided:
    """A ledger record's verdict as a recorded decision (glued as a badge on the ledger page)."""
    distance = record["distance_se"]
    return evidence.decided(
        record["verdict"],
        record["decided_by"] or f"verdict on {record['id']}",
        float("inf") if distance is None else float(distance),
        record["fragile"],
        strict=True,
    )
