"""Seeded, deterministic training of configs x seeds, returning tidy DataFrames.

One run = clear the Keras session, seed everything (:func:`casekit._runtime.enable_determinism`),
build a fresh model, ``fit`` with the validation split as Keras's validation data (the
per-epoch ``val_*`` columns), then evaluate train, validation and test in inference mode.
A grid repeats that for every config and seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from casekit._runtime import enable_determinism, keras_module
from casekit.lab import replicas
from casekit.lab.data import Dataset

#: Batch size for inference-mode evaluation only (results do not depend on it).
EVAL_BATCH_SIZE = replicas.EVAL_BATCH_SIZE
#: Training batches run per call into the compiled step. A pure speed lever: the same
#: batches, masks and updates in the same order (tests/test_training.py checks that the
#: history is identical to one step per call); about 25% faster on 2 CPU cores.
STEPS_PER_EXECUTION = 32

ModelFactory = Callable[[], Any]
#: A probe measures a trained model: scalars go to ``final``, DataFrames to ``tables``.
Probe = Callable[[Any, Dataset], Mapping[str, Any]]


@dataclass(frozen=True)
class Results:
    """Per-epoch ``history``, per-run ``final`` metrics and probe ``tables``, all tidy."""

    history: pd.DataFrame  # config, seed, epoch, loss, accuracy, val_loss, val_accuracy (validation split)
    final: pd.DataFrame  # config, seed, train_/val_/test_ loss and accuracy, probe scalars
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the whole grid (volatile: never printed in chapters)


def evaluate(model: Any, dataset: Dataset) -> dict[str, float]:
    """Inference-mode loss and accuracy on the train, validation (``val_``) and test splits."""
    out: dict[str, float] = {}
    for split, x, y in (
        ("train", dataset.x_train, dataset.y_train),
        ("val", dataset.x_val, dataset.y_val),
        ("test", dataset.x_test, dataset.y_test),
    ):
        loss, accuracy = model.evaluate(x, y, batch_size=EVAL_BATCH_SIZE, verbose=0)
        out[f"{split}_loss"] = float(loss)
        out[f"{split}_accuracy"] = float(accuracy)
    return out


def fit(
    build: ModelFactory,
    dataset: Dataset,
    *,
    seed: int,
    epochs: int,
    batch_size: int = 32,
    steps_per_execution: int = STEPS_PER_EXECUTION,
) -> tuple[Any, pd.DataFrame]:
    """Train one freshly built model with a fixed seed; return it and its per-epoch history.

    Validation (the validation split, inference mode) runs in one batch per epoch and training
    runs ``steps_per_execution`` batches per compiled call: both change speed, not results.
    """
    keras = keras_module()
    keras.backend.clear_session()
    enable_determinism(seed)
    model = build()
    model.steps_per_execution = steps_per_execution
    history = model.fit(
        dataset.x_train,
        dataset.y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(dataset.x_val, dataset.y_val),
        validation_batch_size=EVAL_BATCH_SIZE,
        shuffle=True,
        verbose=0,
    )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return model, frame


class _Progress:
    """A one-line progress display in a notebook, updated in place.

    Its last state ("Trained 20 of 20 runs.") holds no times or rates, so stored outputs
    stay stable; outside a Jupyter kernel it shows nothing.
    """

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.handle = total, 0, None
        if enabled:
            try:
                from IPython import get_ipython
                from IPython.display import display
            except ImportError:
                return
            shell = get_ipython()
            if shell is not None and getattr(shell, "kernel", None) is not None:
                self.handle = display(self._text("Training"), display_id=True)

    def _text(self, verb: str) -> Any:
        from IPython.display import Pretty

        return Pretty(f"{verb} {self.done} of {self.total} runs.")

    def step(self, label: str) -> None:
        self.done += 1
        if self.handle is not None:
            finished = self.done == self.total
            self.handle.update(self._text("Trained" if finished else f"Training ({label}):"))


def _check_grid(configs: Mapping[str, Any], seeds: Any, kind: str) -> None:
    if not configs:
        raise ValueError(f"configs must name at least one {kind}")
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    repeated = sorted({seed for seed in seeds if list(seeds).count(seed) > 1})
    if repeated:
        raise ValueError(f"seeds must be distinct; {repeated} repeated")


def _add_probe(
    row: dict[str, Any], tables: dict[str, list[pd.DataFrame]], measured: Mapping[str, Any]
) -> None:
    """Scalars from a probe become columns of ``row``; DataFrames go to ``tables``."""
    for key, value in measured.items():
        if isinstance(value, pd.DataFrame):
            tables.setdefault(key, []).append(value.assign(config=row["config"], seed=row["seed"]))
        else:
            row[key] = value


def run_grid(
    configs: Mapping[str, ModelFactory],
    dataset: Dataset,
    *,
    seeds: tuple[int, ...] | list[int],
    epochs: int,
    batch_size: int = 32,
    probe: Probe | None = None,
    progress: bool = True,
) -> Results:
    """Train every config with every seed; collect history, final metrics and probe output.

    In a notebook, ``progress`` shows a line updated after every run.
    """
    _check_grid(configs, seeds, "model factory")
    tracker = _Progress(len(configs) * len(seeds), progress)
    started = time.perf_counter()
    histories, finals = [], []
    tables: dict[str, list[pd.DataFrame]] = {}
    for config, build in configs.items():
        for seed in seeds:
            model, history = fit(build, dataset, seed=seed, epochs=epochs, batch_size=batch_size)
            history.insert(0, "seed", seed)
            history.insert(0, "config", config)
            histories.append(history)
            row: dict[str, Any] = {"config": config, "seed": seed, **evaluate(model, dataset)}
            _add_probe(row, tables, probe(model, dataset) if probe else {})
            finals.append(row)
            tracker.step(f"{config}, seed {seed}")
    return Results(
        history=pd.concat(histories, ignore_index=True),
        final=pd.DataFrame(finals),
        tables={k: pd.concat(v, ignore_index=True) for k, v in tables.items()},
        seconds=time.perf_counter() - started,
    )


#: The settings columns of every run of :func:`run_replicated` (see :func:`settings_of`).
SETTINGS = ("placement", "depth", "rate", "width")


def settings_of(spec: Any) -> dict[str, Any]:
    """The settings of a :class:`casekit.lab.models.Spec` as result columns: the placement as
    text (``"dense_relu → dropout → bn"``), its depth (hidden Dense layers), the dropout
    rate (0 for a placement without Dropout) and the hidden width."""
    placement = tuple(spec.placement)
    values = (
        " → ".join(placement),
        sum(name.startswith("dense") for name in placement),
        float(spec.rate) if any(n.startswith("dropout") for n in placement) else 0.0,
        int(spec.width),
    )
    return dict(zip(SETTINGS, values, strict=True))


def run_replicated(
    configs: Mapping[str, Any],
    dataset: Dataset,
    *,
    seeds: tuple[int, ...] | list[int],
    epochs: int,
    batch_size: int = 32,
    probe: Probe | None = None,
    progress: bool = True,
) -> Results:
    """:func:`run_grid` for configs given as :class:`casekit.lab.models.Spec`, trained as replicas.

    Configs that share a placement and width train together in one wide model
    (:mod:`casekit.lab.replicas`), every seed a replica; results have the same columns as
    :func:`run_grid`, plus the settings each run was trained with (:func:`settings_of`):
    ``placement``, ``depth``, ``rate`` and ``width``, so a chapter selects and groups runs
    by their settings, never by parsing a config's name. Every run reads the training
    data in its own seed's order (:func:`casekit.lab.replicas.batch_orders`), so the seeds
    vary the data order as well as the initial weights and the masks.
    """
    _check_grid(configs, seeds, "model spec")
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, spec in configs.items():
        groups.setdefault((tuple(spec.placement), spec.width), []).append(name)

    def fit_group(names: list[str]) -> tuple[list[tuple[str, int]], Any, list[pd.DataFrame]]:
        spec = configs[names[0]]
        members = [replicas.Replica(configs[name].rate, seed) for name in names for seed in seeds]
        wide, frames = replicas.fit(
            spec.placement, members, dataset, epochs=epochs, batch_size=batch_size, width=spec.width
        )
        return [(name, seed) for name in names for seed in seeds], wide, frames

    columns = {name: settings_of(spec) for name, spec in configs.items()}
    return _run_groups(list(groups.values()), fit_group, columns, configs, seeds, dataset, probe, progress)


#: Runs trained side by side in one stacked model by :func:`run_stacked`: beyond about ten,
#: a step's work no longer shrinks per run, and the compiled graph keeps growing.
STACK_SIZE = 10


def run_stacked(
    configs: Mapping[str, ModelFactory],
    dataset: Dataset,
    *,
    seeds: tuple[int, ...] | list[int],
    epochs: int,
    batch_size: int = 32,
    probe: Probe | None = None,
    progress: bool = True,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> Results:
    """:func:`run_grid`, with the runs trained :data:`STACK_SIZE` at a time side by side
    (:func:`casekit.lab.replicas.fit_stacked`): each run is the model its factory builds
    under its seed, reading the training data in its own seed's order
    (:func:`casekit.lab.replicas.batch_orders`). ``settings`` (config name -> columns) adds
    each run's settings as columns of ``history`` and ``final``, after ``config`` and
    ``seed``."""
    _check_grid(configs, seeds, "model factory")
    runs = [(config, seed) for config in configs for seed in seeds]
    chunks = [runs[i : i + STACK_SIZE] for i in range(0, len(runs), STACK_SIZE)]

    def fit_chunk(chunk: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], Any, list[pd.DataFrame]]:
        wide, frames = replicas.fit_stacked(
            [configs[config] for config, _ in chunk],
            [seed for _, seed in chunk],
            dataset,
            epochs=epochs,
            batch_size=batch_size,
        )
        return chunk, wide, frames

    columns = {name: dict((settings or {}).get(name, {})) for name in configs}
    return _run_groups(chunks, fit_chunk, columns, configs, seeds, dataset, probe, progress)


def _run_groups(
    groups: list[Any],
    fit_group: Callable[[Any], tuple[list[tuple[str, int]], Any, list[pd.DataFrame]]],
    columns: Mapping[str, Mapping[str, Any]],
    configs: Mapping[str, Any],
    seeds: tuple[int, ...] | list[int],
    dataset: Dataset,
    probe: Probe | None,
    progress: bool,
) -> Results:
    """Train each group side by side (``fit_group`` returns its runs' ``(config, seed)``
    keys, the wide model and their histories), evaluate and probe every run, and collect
    :class:`Results` in config-major order, each run's ``columns`` after config and seed."""
    tracker = _Progress(len(configs) * len(seeds), progress)
    started = time.perf_counter()
    histories: dict[tuple[str, int], pd.DataFrame] = {}
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    tables: dict[str, list[pd.DataFrame]] = {}
    for group in groups:
        keys, wide, frames = fit_group(group)
        metrics = replicas.evaluate(wide, dataset)
        for index, ((config, seed), history) in enumerate(zip(keys, frames, strict=True)):
            histories[(config, seed)] = history
            row: dict[str, Any] = {"config": config, "seed": seed, **columns[config], **metrics[index]}
            _add_probe(row, tables, probe(replicas.member(wide, index), dataset) if probe else {})
            rows[(config, seed)] = row
            tracker.step(f"{config}, seed {seed}")
    order = [(config, seed) for config in configs for seed in seeds]
    history_frames = []
    for config, seed in order:
        frame = histories[(config, seed)].copy()
        for position, (key, value) in enumerate(columns[config].items()):
            frame.insert(position, key, value)
        frame.insert(0, "seed", seed)
        frame.insert(0, "config", config)
        history_frames.append(frame)
    return Results(
        history=pd.concat(history_frames, ignore_index=True),
        final=pd.DataFrame([rows[key] for key in order]),
        tables={k: pd.concat(v, ignore_index=True) for k, v in tables.items()},
        seconds=time.perf_counter() - started,
    )
