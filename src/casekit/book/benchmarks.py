"""Reading a saved benchmark (``book/benchmark.json``, written by ``casekit bench``): the
per-backend runs, how the backends compare, and the printed text. The execution report
shows the same figures, so this lives with the book; :mod:`casekit.tools.bench` measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def render(results: dict[str, Any]) -> str:
    """The benchmark as printed text: one block per backend, then how they compare."""
    runs = runs_of(results)
    blocks = [_render_run(run) for run in runs]
    if len(runs) > 1:
        blocks.append("\n".join(["backends compared (same machine, same session):", *comparison(runs)]))
    return "\n\n".join(blocks)


def runs_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-backend measurements of a saved benchmark (one backend's, or several)."""
    runs: list[dict[str, Any]] = results.get("runs", [results])
    return runs


def comparison(runs: Sequence[dict[str, Any]]) -> list[str]:
    """How many times faster each backend is than the first (TensorFlow, the default)."""
    base = runs[0]
    lines = []
    for run in runs[1:]:
        epoch = run["epoch"]["32"]["casekit_s"]
        lines.append(
            f"  {run['backend']} vs {base['backend']}: one epoch at batch 32 "
            f"{base['epoch']['32']['casekit_s'] / epoch:.2f}x, "
            f"sweep {base['sweep']['casekit_s'] / run['sweep']['casekit_s']:.2f}x faster"
        )
    return lines


def _render_run(results: dict[str, Any]) -> str:
    peak = results["matmul_peak_gflops"]
    lines = [
        f"casekit bench: Example 2 on {results['images']:,} images (offline digits tiled; timing only), "
        f"backend {results['backend']}, device {results.get('device', 'CPU')}",
        f"matrix-multiply peak (float32, 2048^3): {peak:.0f} GFLOP/s",
        "",
        "(a) seconds per epoch, after one compiling epoch (2 epochs timed)",
    ]
    for batch, row in results["epoch"].items():
        lines.append(
            f"  batch {batch:>3}: plain fit {row['plain_s']:.2f} s, casekit {row['casekit_s']:.2f} s, "
            f"ratio {row['ratio']:.2f}x, identical weights: {row['identical_weights']}"
        )
    sweep = results["sweep"]
    lines += [
        "",
        f"(b) sweep of {len(sweep['rates'])} rates x {sweep['seeds']} seeds, "
        f"{sweep['epochs']} epoch(s) each, batch 32",
        f"  sequential plain fit {sweep['plain_s']:.1f} s, casekit replicas {sweep['casekit_s']:.1f} s, "
        f"ratio {sweep['ratio']:.2f}x",
        "",
        "(c) achieved GFLOP/s (training FLOPs = 3 x forward) and share of the matmul peak",
    ]
    for batch, row in results["epoch"].items():
        lines.append(
            f"  epoch, batch {batch:>3}: plain {row['plain_gflops']:.1f} ({row['plain_gflops'] / peak:.1%}), "
            f"casekit {row['casekit_gflops']:.1f} ({row['casekit_gflops'] / peak:.1%})"
        )
    lines.append(
        f"  sweep:          plain {sweep['plain_gflops']:.1f} ({sweep['plain_gflops'] / peak:.1%}), "
        f"casekit {sweep['casekit_gflops']:.1f} ({sweep['casekit_gflops'] / peak:.1%})"
    )
    if "anatomy" in results:  # benchmarks saved before it was measured lack it
        first, *rest = anatomy_lines(results["anatomy"])
        lines += ["", f"(d) {first}", *(f"  {line}" for line in rest)]
    return "\n".join(lines)


def anatomy_lines(anatomy: dict[str, Any]) -> list[str]:
    """Where one replicated training step's time goes (:func:`casekit.tools.bench.step_anatomy`),
    in three lines."""
    step = anatomy["step_ms"]
    kernels = anatomy["matmul_ms"] + anatomy["adam_ms"]
    return [
        f"one step of the sweep's wide model ({anatomy['replicas']} replicas, batch "
        f"{anatomy['batch']}, {anatomy['parameters']:,} weights), steady state: {step:.2f} ms",
        f"alone: the first layer's matrix products (gather, forward, weight gradient) "
        f"{anatomy['matmul_ms']:.2f} ms; Adam's update {anatomy['adam_ms']:.2f} ms",
        f"together {kernels:.2f} ms, {kernels / step:.0%} of the step; everything else "
        f"{step - kernels:.2f} ms",
    ]
