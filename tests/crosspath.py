"""Trained numbers compared across two code paths, and how far they may legitimately differ.

Three pairs of code paths in casekit compute the same training:

- **replicas vs plain** ``fit``: the replicas of one wide model against separate plain-Keras
  runs with the same seeds (without dropout or shuffling nothing random differs);
- **alone vs beside others**: one replica trained alone against the same replica trained
  beside neighbours with other seeds (its own batch order, whatever its neighbours');
- **wide vs member**: a replica's metrics read from the wide model against the standalone
  model extracted from it by :func:`casekit.lab.replicas.member`.

Each pair sums in a different order (one batched product against several small ones), so
its floats differ by rounding, and training carries those differences forward. They also
depend on the CPU: oneDNN generates its matrix multiply for the instruction set, and Eigen
splits reductions by thread. A tolerance that only holds on one CPU would fail for the
next contributor, so each one here comes from the largest gap measured on five float paths
(this CPU's own, the ``make test`` cap one instruction-set level lower, one intra-op
thread, oneDNN capped at SSE4.1, and Keras on JAX), recorded by ``python tests/measure_float_paths.py``
and listed in ``tests/README.md``. Discrete metrics are compared in counts of digits, with
a stated allowance, never as a relative tolerance on a fraction.

A tolerance wide enough to pass everywhere must still fail on a real change, so every
comparison is paired with a **mutation** (another seed, another replica's batch order,
another replica's metrics) that must fail the same comparison by a wide margin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from casekit._runtime import enable_determinism, keras_module
from casekit.lab import data, models, replicas

# Each tolerance is the largest gap measured on the five float paths (tests/README.md has the
# table) times 20, rounded up to one significant figure; digits, being counts, get
# three times the largest count. Measured on an Intel Xeon (AVX-512); an earlier run on an
# AMD EPYC (AVX2) gave the same largest loss and digit gaps.
#: Largest relative difference of any recorded loss (per epoch; training and validation,
#: and the final test loss).
#: Measured: at most 6.4e-6; the smallest mutation moves a loss by 1.8e-3.
LOSS_RTOL = 2e-4
#: Largest absolute difference of any trained weight. Measured: at most 1.85e-4; the
#: smallest mutation moves a weight by 0.55.
WEIGHT_ATOL = 4e-3
#: Correctly classified digits that may differ, per epoch and split (of 300 training and
#: 1,000 validation or test digits): a rounding difference can move a digit that lies on a decision
#: boundary. Measured: at most 1; mutations move 4 to 82 (the loss catches the one with 4).
DIGIT_ALLOWANCE = 3
#: How far beyond its tolerance some number of a mutation must land.
MUTATION_FACTOR = 5.0


@dataclass(frozen=True)
class Gap:
    """How far apart two trainings ended: the largest difference of each kind."""

    loss: float = 0.0
    digits: int = 0
    weights: float = 0.0

    def __or__(self, other: Gap) -> Gap:
        return Gap(
            max(self.loss, other.loss), max(self.digits, other.digits), max(self.weights, other.weights)
        )

    def within(self) -> bool:
        """Inside the tolerances: the two paths computed the same training."""
        return self.loss <= LOSS_RTOL and self.digits <= DIGIT_ALLOWANCE and self.weights <= WEIGHT_ATOL

    def beyond(self) -> bool:
        """Fails :meth:`within` by a wide margin: some number lies :data:`MUTATION_FACTOR`
        times beyond its tolerance."""
        return (
            self.loss > MUTATION_FACTOR * LOSS_RTOL
            or self.digits > MUTATION_FACTOR * DIGIT_ALLOWANCE
            or self.weights > MUTATION_FACTOR * WEIGHT_ATOL
        )


def counts(dataset: data.Dataset) -> dict[str, int]:
    """Digits behind each accuracy a Keras history records, for :func:`history_gap`."""
    return {"accuracy": len(dataset.x_train), "val_accuracy": len(dataset.x_val)}


def history_gap(
    a: Mapping[str, Sequence[float]], b: Mapping[str, Sequence[float]], digits: Mapping[str, int]
) -> Gap:
    """Losses by relative difference, accuracies in digits (``digits`` per accuracy column)."""
    loss, moved = 0.0, 0
    for column in set(a) & set(b):
        x, y = np.asarray(a[column], dtype=float), np.asarray(b[column], dtype=float)
        if column in digits:
            moved = max(moved, int(np.max(np.abs(np.rint(x * digits[column]) - np.rint(y * digits[column])))))
        elif "loss" in column:
            loss = max(loss, float(np.max(np.abs(x - y) / np.abs(y))))
    return Gap(loss=loss, digits=moved)


def weight_gap(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> Gap:
    return Gap(weights=max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True)))


def plain_run(
    placement: tuple[str, ...], rate: float, seed: int, dataset: data.Dataset, epochs: int, shuffle: bool
) -> tuple[Any, dict[str, list[float]]]:
    """One seeded plain-Keras ``fit`` of ``placement``, validated on the validation digits."""
    keras = keras_module()
    keras.backend.clear_session()
    enable_determinism(seed)
    model = models.build(placement, rate=rate)
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=epochs,
        batch_size=32,
        shuffle=shuffle,
        validation_data=(dataset.x_val, dataset.y_val),
        verbose=0,
    ).history
    return model, history


def replicas_vs_plain(dataset: data.Dataset) -> tuple[Gap, Gap]:
    """No dropout, no shuffling: each replica of seeds 0-2 against its own plain run (the
    gap), and replica 0 against seed 1's plain run (the mutation: another seed)."""
    placement, seeds = ("dense", "bn", "relu"), (0, 1, 2)
    wide, frames = replicas.fit(
        placement, [replicas.Replica(0.0, s) for s in seeds], dataset, epochs=2, shuffle=False
    )
    return _against_plain_runs(placement, seeds, wide, frames, dataset)


def stacked_vs_plain(dataset: data.Dataset) -> tuple[Gap, Gap]:
    """:func:`casekit.lab.replicas.fit_stacked` without dropout or shuffling: each stacked
    run of seeds 0-2 against its own plain run (the gap: the same model, only Adam's fused
    kernel rounds differently), and run 0 against seed 1's plain run (the mutation)."""
    placement, seeds = ("dense", "bn", "relu"), (0, 1, 2)
    wide, frames = replicas.fit_stacked(
        [lambda: models.build(placement, rate=0.0)] * len(seeds), seeds, dataset, epochs=2, shuffle=False
    )
    return _against_plain_runs(placement, seeds, wide, frames, dataset)


def _against_plain_runs(
    placement: tuple[str, ...], seeds: tuple[int, ...], wide: Any, frames: list[Any], dataset: data.Dataset
) -> tuple[Gap, Gap]:
    """Each of ``wide``'s runs (two epochs, no dropout, no shuffling) against the plain run
    of its seed (the gap), and run 0 against the next seed's plain run (the mutation)."""
    gap, plain = Gap(), []
    for index, seed in enumerate(seeds):
        model, history = plain_run(placement, 0.0, seed, dataset, epochs=2, shuffle=False)
        plain.append((model, history))
        frame = {column: list(frames[index][column]) for column in history}
        gap |= history_gap(frame, history, counts(dataset))
        gap |= weight_gap(replicas.member(wide, index).get_weights(), model.get_weights())
    frame = {column: list(frames[0][column]) for column in plain[1][1]}
    mutant = history_gap(frame, plain[1][1], counts(dataset)) | weight_gap(
        replicas.member(wide, 0).get_weights(), plain[1][0].get_weights()
    )
    return gap, mutant


def alone_vs_beside_others(dataset: data.Dataset) -> tuple[Gap, Gap]:
    """Without dropout only the batch order is random: replica seed 5 alone against seed 5
    beside seeds 0 and 9 (the gap), and against its neighbour seed 0, whose batch order
    differs (the mutation)."""
    placement = ("dense", "bn", "relu")
    alone, alone_history = replicas.fit(placement, [replicas.Replica(0.0, 5)], dataset, epochs=2)
    group = [replicas.Replica(0.0, s) for s in (0, 5, 9)]
    wide, histories = replicas.fit(placement, group, dataset, epochs=2)
    solo = {column: list(alone_history[0][column]) for column in alone_history[0].columns}

    def versus(index: int) -> Gap:
        beside = {column: list(histories[index][column]) for column in alone_history[0].columns}
        return history_gap(beside, solo, counts(dataset)) | weight_gap(
            replicas.member(wide, index).get_weights(), replicas.member(alone, 0).get_weights()
        )

    return versus(1), versus(0)


def wide_vs_member(dataset: data.Dataset) -> tuple[Gap, Gap]:
    """Example 1 at rate 0.5, two replicas, one epoch: replica 1's test loss and accuracy
    from the wide model against its extracted member (the gap), and against replica 0's
    metrics (the mutation: another replica's weights)."""
    wide, _ = replicas.fit(
        models.EXAMPLE_1, [replicas.Replica(0.5, 0), replicas.Replica(0.5, 1)], dataset, epochs=1
    )
    metrics = replicas.evaluate(wide, dataset)
    loss, accuracy = replicas.member(wide, 1).evaluate(dataset.x_test, dataset.y_test, verbose=0)
    member = {"val_loss": [loss], "val_accuracy": [accuracy]}

    def versus(index: int) -> Gap:
        shown = {"val_loss": [metrics[index]["test_loss"]], "val_accuracy": [metrics[index]["test_accuracy"]]}
        return history_gap(shown, member, {"val_accuracy": len(dataset.x_test)})

    return versus(1), versus(0)


#: Every cross-path comparison, by the name tests/README.md and the measurement script use.
COMPARISONS = {
    "replicas vs plain fit": replicas_vs_plain,
    "stacked vs plain fit": stacked_vs_plain,
    "alone vs beside others": alone_vs_beside_others,
    "wide vs member": wide_vs_member,
}
