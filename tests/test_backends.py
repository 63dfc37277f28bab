"""casekit on both Keras backends: TensorFlow (the stored outputs) and JAX.

The backend is chosen by ``KERAS_BACKEND`` or ``casekit run --backend``; an unknown or
uninstalled one is a one-line error before any kernel starts. On JAX, seeded runs are
bit-identical and the replica fast path follows the single runs, as on TensorFlow; every
chapter runs on JAX in ``tests/test_full_profile.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from helpers import ROOT, casekit

from casekit import _runtime
from casekit.claims import ledger


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--backend", "torch"], {}, "casekit: error: unknown backend 'torch'; allowed: tensorflow, jax\n"),
        ([], {"KERAS_BACKEND": "cntk"}, "casekit: error: unknown backend 'cntk'; allowed: tensorflow, jax\n"),
        (
            ["--backend", "jax", "--update"],
            {},
            "casekit: error: --update stores TensorFlow outputs only; got backend 'jax'\n",
        ),
    ],
)
def test_a_bad_backend_is_a_one_line_error_before_any_kernel(
    args: list[str], env: dict[str, str], message: str
) -> None:
    result = casekit("run", "--only", "00", *args, env=env)
    assert result.returncode == 2 and result.stderr == message and "executing" not in result.stdout


def test_an_uninstalled_backend_is_named_with_the_way_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"^backend 'jax' is not installed .*pip install 'casekit\[jax\]'"):
        _runtime.check_backend("jax")


@pytest.mark.slow
def test_seeded_runs_and_replicas_behave_the_same_on_jax() -> None:
    """The determinism and replica-equivalence tests, and the benchmark's JAX kernels, re-run
    with Keras on JAX."""
    tests = [
        "tests/test_training.py::test_same_seed_gives_identical_runs",
        "tests/test_training.py::test_different_seeds_give_different_runs",
        "tests/test_training.py::test_steps_per_execution_changes_speed_not_results",
        "tests/test_replicas.py::test_replicas_start_from_the_single_run_weights",
        "tests/test_replicas.py::test_without_randomness_replicas_follow_the_single_run_trajectories",
        "tests/test_mechanics.py",
        "tests/test_environment.py",
        "tests/test_bench.py::test_step_anatomy_times_a_step_and_its_kernels",
        "tests/test_bench.py::test_the_timed_matrix_products_are_the_first_layers_weight_gradient",
        "tests/test_bench.py::test_the_timed_optimizer_step_is_an_adam_step",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_a_chapter_compared_with_itself_agrees_everywhere() -> None:
    from casekit.tools import backends

    chapters = ROOT / "chapters"
    table = backends.compare_chapters(chapters, chapters, ["01-dropout-before-batchnorm", "03-dropout-rate"])
    assert len(table) > 40 and set(table["rule"]) == {"agree"}
    assert {"estimate", "decision"} <= set(table["kind"])


def test_the_backend_page_shows_both_backends_and_their_verdicts() -> None:
    """The stored page: every exact check agrees across backends; only mask draws differ."""
    from casekit.claims import evidence

    notebook = json.loads((ROOT / "chapters" / "06-backends.ipynb").read_text())
    tables = [
        record
        for cell in notebook["cells"]
        for record in evidence.records_in(cell.get("outputs", []))
        if record["kind"] == "table"
    ]
    checks = tables[0]
    assert checks["columns"] == ["tensorflow", "jax", "same"]
    rows = dict(zip(checks["index"], checks["cells"], strict=True))
    exact = {
        name: row
        for name, row in rows.items()
        if row[0]["type"] == "literal" and row[0]["text"] in ("True", "False")
    }
    assert len(exact) >= 15 and all(row[2]["text"] == "True" for row in exact.values())
    assert rows["seeded Dropout(0.5, seed=7): first 16 kept units"][2]["text"] == "False"
    glued = ledger.glued_values(ROOT / "chapters" / "06-backends.ipynb")
    stored = {
        **ledger.glued_values(ROOT / "chapters" / "01-dropout-before-batchnorm.ipynb"),
        **ledger.glued_values(ROOT / "chapters" / "02-ordering.ipynb"),
        **ledger.glued_values(ROOT / "chapters" / "03-dropout-rate.ipynb"),
    }
    reference = {
        **ledger.glued_decisions(ROOT / "chapters" / "01-dropout-before-batchnorm.ipynb"),
        **ledger.glued_decisions(ROOT / "chapters" / "02-ordering.ipynb"),
        **ledger.glued_decisions(ROOT / "chapters" / "03-dropout-rate.ipynb"),
    }
    moved = []
    for claim in ("C2", "C4", "C5"):
        if glued[f"jax_{claim}"] != stored[f"verdict_{claim}"]:
            # only a verdict within run-to-run noise of its threshold may move
            assert reference[f"verdict_{claim}"].fragile, claim
            moved.append(claim)
    # the answer box says what happened, in the words of readings.verdict_agreement
    if moved:
        assert glued["jax_agreement"].startswith(f"reach the same verdicts, except {' and '.join(moved)}")
    else:
        assert glued["jax_agreement"] == "reach the same verdicts"


def test_verdict_agreement_words() -> None:
    from casekit.claims import readings

    def table(*rules: str) -> pd.DataFrame:
        return pd.DataFrame(
            {"value": [f"verdict_C{i}" for i in (2, 4, 5)] + ["c1_mean_ratio"], "rule": [*rules, "differ"]}
        )

    claims = ["C2", "C4", "C5"]
    assert readings.verdict_agreement(table("agree", "agree", "agree"), claims) == "reach the same verdicts"
    moved = readings.verdict_agreement(table("agree", "fragile decision moved", "agree"), claims)
    assert moved.startswith("reach the same verdicts, except C4, which moved: ")
    differ = readings.verdict_agreement(table("differ", "agree", "fragile decision moved"), claims)
    assert differ == "do not reach the same verdicts: C2 differs beyond the run-to-run noise"
    with pytest.raises(ValueError, match="no verdict to compare for C6"):
        readings.verdict_agreement(table("agree", "agree", "agree"), [*claims, "C6"])
