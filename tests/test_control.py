"""The positive-control rule: the smallest share of wrong labels where dropout's validation
gain lies above the margin."""

from __future__ import annotations

import pandas as pd
import pytest

from casekit.claims import control
from casekit.lab import data


def _final(gain: float) -> pd.DataFrame:
    jitter = [0.0, 0.001, -0.001, 0.002, 0.0]
    rows = [{"config": control.NONE, "seed": s, "val_accuracy": 0.80 + j} for s, j in enumerate(jitter)]
    rows += [
        {"config": control.DROPOUT, "seed": s, "val_accuracy": 0.80 + gain + j / 2}
        for s, j in enumerate(jitter)
    ]
    return pd.DataFrame(rows)


def test_the_smallest_share_with_a_gain_above_the_margin_is_chosen() -> None:
    gains = {
        0.4: control.gain(_final(0.17), 0.4),
        0.0: control.gain(_final(0.0), 0.0),
        0.2: control.gain(_final(0.09), 0.2),
    }
    assert [gains[s].outcome for s in (0.0, 0.2, 0.4)] == ["equivalent", "above", "above"]
    assert control.choose(gains) == 0.2


def test_no_share_is_chosen_when_dropout_never_helps_by_the_margin() -> None:
    gains = {0.0: control.gain(_final(0.0), 0.0), 0.2: control.gain(_final(0.004), 0.2)}
    assert control.choose(gains) is None


@pytest.mark.slow
def test_the_pilot_trains_both_models_at_every_share(tiny: data.Dataset) -> None:
    found = control.pilot(tiny, [0.0, 0.5], 0.5, seeds=(0, 1), epochs=1, batch_size=32)
    assert set(found.gains) == {0.0, 0.5} and found.gains[0.5].estimate.n == 2
    assert found.table().record()["index"] == ["0%", "50%"]
