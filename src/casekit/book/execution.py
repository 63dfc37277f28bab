"""The execution report: how each rendered chapter was produced, read from the notebooks.

``casekit build`` writes it as a page of the book, so the rendered HTML always says which
profile, how many seeds and epochs, how long, and on what device and library versions the
numbers on every page came from.

The settings are read from what the notebook records, never from what it prints: the
parameters papermill ran it with (``metadata.papermill.parameters``) over the defaults
of its ``parameters`` cell, resolved by :func:`casekit.profiles.resolve` exactly as the
chapter resolves them, so a change in how :class:`~casekit.profiles.Settings` displays
itself cannot change the report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casekit import profiles
from casekit.book import benchmarks
from casekit.claims.ledger import read_notebook

_DEVICE = re.compile(r"^Device: .*$", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    """What one executed chapter says about its own run."""

    chapter: str
    title: str
    profile: str
    seeds: str
    epochs: str
    seconds: float | None
    environment: str


def run_settings(notebook: Path) -> profiles.Settings | None:
    """The settings a papermill run of ``notebook`` resolved: the parameters papermill
    recorded in the notebook's metadata over the defaults of its ``parameters`` cell,
    through :func:`casekit.profiles.resolve`. ``None`` for a notebook papermill did not run.
    """
    content = read_notebook(notebook)
    run = content.get("metadata", {}).get("papermill")
    if not isinstance(run, dict):
        return None
    declared = profiles.declared_parameters(content["cells"], notebook.name)
    given = {**declared, **(run.get("parameters") or {})}
    try:
        return profiles.resolve(**given)
    except ValueError as error:
        raise ValueError(f"{notebook.name}: recorded parameters do not resolve: {error}") from None


def read_run(notebook: Path) -> Run:
    """Read a papermill-executed chapter: its duration and settings from its metadata and
    parameters (:func:`run_settings`), and the environment line it printed (the stored
    chapters record their device and library versions nowhere else)."""
    content = read_notebook(notebook)
    cells = content["cells"]
    title = "".join(cells[0]["source"]).splitlines()[0].lstrip("# ").strip() if cells else notebook.stem
    text = "".join(
        "".join(output.get("text", ""))
        for cell in cells
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    settings = run_settings(notebook)
    device = _DEVICE.search(text)
    duration = content.get("metadata", {}).get("papermill", {}).get("duration")
    return Run(
        chapter=notebook.stem,
        title=title,
        profile=settings.profile if settings else "?",
        seeds=str(len(settings.seeds)) if settings else "?",
        epochs=str(settings.epochs) if settings else "?",
        seconds=float(duration) if duration is not None else None,
        environment=device.group(0).removeprefix("Device: ").replace(" | ", "; ")
        if device
        else "not recorded",
    )


def benchmark_markdown(results: dict[str, Any], *, on_gpu: bool = False) -> list[str]:
    """The ``casekit bench`` section of the report (from ``book/benchmark.json``): one
    table per backend, measured one after the other on one machine, and their ratios
    (``on_gpu``: the GPU run's benchmark, a subsection of the GPU section)."""
    runs = benchmarks.runs_of(results)
    lines = (
        ["### `casekit bench` on the GPU", "", f"On {runs[0]['images']:,} images, on the same machine."]
        if on_gpu
        else [
            "## Training speed (`make bench`)",
            "",
            f"Measured with `make bench` on the machine that produced the stored chapters, on "
            f"{runs[0]['images']:,} images, every backend one after the other in one run.",
        ]
    )
    for run in runs:
        epoch, sweep, peak = run["epoch"], run["sweep"], run["matmul_peak_gflops"]
        lines += [
            "",
            f"**Keras on {run['backend']}** ({run.get('device', 'CPU')}; float32 "
            f"matrix-multiply peak {peak:.0f} GFLOP/s):",
            "",
            "| measurement | plain `model.fit` | casekit | ratio | share of matmul peak (plain / casekit) |",
            "|---|---|---|---|---|",
        ]
        for batch, row in epoch.items():
            same = "identical weights" if row["identical_weights"] else "weights differ"
            shares = f"{row['plain_gflops'] / peak:.1%} / {row['casekit_gflops'] / peak:.1%}"
            lines.append(
                f"| one epoch, batch {batch} ({same}) | {row['plain_s']:.2f} s | {row['casekit_s']:.2f} s "
                f"| {row['ratio']:.2f}x | {shares} |"
            )
        lines.append(
            f"| sweep, {len(sweep['rates'])} rates x {sweep['seeds']} seeds, {sweep['epochs']} epoch | "
            f"{sweep['plain_s']:.1f} s | {sweep['casekit_s']:.1f} s | {sweep['ratio']:.2f}x "
            f"| {sweep['plain_gflops'] / peak:.1%} / {sweep['casekit_gflops'] / peak:.1%} |"
        )
        if "anatomy" in run:
            lines += ["", "Where one replicated step goes:", ""]
            lines += [f"- {line}" for line in benchmarks.anatomy_lines(run["anatomy"])]
    if len(runs) > 1:
        lines += [
            "",
            "Backends compared:",
            "",
            *(f"- {line.strip()}" for line in benchmarks.comparison(runs)),
        ]
    return ["", *lines, ""]


def gpu_markdown(results: dict[str, Any] | None) -> list[str]:
    """The GPU section of the report (from ``book/benchmark-gpu.json``, written from a run
    on a GPU machine), or a plain "not measured" when no such run is recorded."""
    lines = ["## On a GPU", ""]
    if results is None:
        return ["", *lines, "Not measured: no run of casekit on a GPU is recorded for this book.", ""]
    lines += [
        f"Measured on {results['device']} with Keras on {results['backend']} "
        f"({results['versions']}), in one session on that machine.",
        "",
        "| chapter | profile | seeds | epochs | training images | run time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["chapters"]:
        lines.append(
            f"| {row['chapter']} | {row['profile']} | {row['seeds']} | {row['epochs']} "
            f"| {row['images']:,} | {row['seconds']:.0f} |"
        )
    if results.get("note"):
        lines += ["", results["note"]]
    epoch = benchmarks.runs_of(results["bench"])[0]["epoch"]
    if {"32", "128"} <= epoch.keys():
        steps = epoch["32"]["casekit_s"] / epoch["128"]["casekit_s"]
        lines += [
            "",
            f"An epoch at batch 128 has a quarter of the steps of one at batch 32 and the same "
            f"arithmetic, and ran {steps:.1f}x faster: on this GPU a step of the book's small "
            "MLP costs its dispatch, not its arithmetic.",
        ]
    return ["", *lines, *benchmark_markdown(results["bench"], on_gpu=True)]


def report_markdown(notebooks: Sequence[Path], benchmark: Path | None = None) -> str:
    """The execution-report page in MyST Markdown (with the benchmark, when one was saved)."""
    runs = [read_run(path) for path in notebooks]
    total = sum(run.seconds or 0.0 for run in runs)
    lines = [
        "# Execution report",
        "",
        "How the chapters on these pages were executed (papermill, `casekit run`), read from",
        "the notebooks themselves when the book was built. Run times are wall-clock seconds",
        "for the whole chapter, kernel start included.",
        "",
        "| chapter | profile | seeds | epochs | run time (s) | device |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        seconds = f"{run.seconds:.0f}" if run.seconds is not None else "n/a"
        device = "; ".join(run.environment.split("; ")[:2])  # device and backend
        lines.append(
            f"| [{run.title}](chapters/{run.chapter}.ipynb) | {run.profile} | {run.seeds} | {run.epochs} "
            f"| {seconds} | {device} |"
        )
    versions = sorted({"; ".join(run.environment.split("; ")[2:]) for run in runs})
    lines += ["", f"All chapters together: {total:.0f} s.", ""]
    if len(versions) == 1:
        lines += [f"Library versions, the same for every chapter: {versions[0]}.", ""]
    else:
        lines += ["Library versions differ between chapters:", "", *(f"- {v}" for v in versions), ""]
    if benchmark is not None and benchmark.is_file():
        lines += benchmark_markdown(json.loads(benchmark.read_text(encoding="utf-8")))
    if benchmark is not None:
        gpu = benchmark.with_name("benchmark-gpu.json")
        lines += gpu_markdown(json.loads(gpu.read_text(encoding="utf-8")) if gpu.is_file() else None)
    return "\n".join(lines)
