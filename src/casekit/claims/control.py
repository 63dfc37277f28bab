"""The positive control: a regime where dropout measurably helps, chosen on validation data.

A claim about where dropout goes can only be tested where dropout itself matters. On the
clean digits the article's model barely needs it; with a share of the *training* labels
replaced by wrong digits, a model without dropout memorizes them and one with dropout
resists. :func:`pilot` trains Example 2 and the same model without Dropout at each share
and reads the gain on the **validation** split; :func:`choose` applies the rule fixed in
advance: the smallest share whose gain lies above the accuracy margin
(:data:`casekit.claims.rules.ACCURACY`), or none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from casekit.claims import evidence, report, rules
from casekit.lab import models, stats, training
from casekit.lab.data import Dataset

DROPOUT, NONE = "Example 2", "no Dropout"


@dataclass(frozen=True)
class Pilot:
    """The validation gain of dropout at each share of wrong training labels."""

    gains: dict[float, rules.Comparison]
    accuracy: dict[float, stats.Estimate]  # Example 2's validation accuracy

    @property
    def chosen(self) -> float | None:
        return choose(self.gains)

    def choice(self, *, percent: bool = False) -> evidence.Decided:
        """The chosen share (``"0.2"``, or ``"20%"`` with ``percent``; ``"none"`` when no share
        qualifies), as a decision as fragile as the nearest gain behind it."""
        chosen = self.chosen
        if chosen is None:
            text = "none"
        else:
            text = f"{chosen:.0%}" if percent else f"{chosen:g}"
        return rules.combined("the share of wrong labels the pilot chose", text, list(self.gains.values()))

    def table(self) -> evidence.Table:
        rows = [
            {
                "wrong training labels": f"{share:.0%}",
                "Example 2, validation accuracy": report.format_estimate(
                    self.accuracy[share], "val_accuracy"
                ),
                "gain over no Dropout": gain.shown(),
                "outcome": gain.decided(),
            }
            for share, gain in self.gains.items()
        ]
        return report.table(pd.DataFrame(rows).set_index("wrong training labels"))


def choose(gains: Mapping[float, rules.Comparison]) -> float | None:
    """The smallest share whose gain lies above the margin; ``None`` when no share's does."""
    return next((share for share in sorted(gains) if gains[share].outcome == "above"), None)


def gain(final: pd.DataFrame, share: float) -> rules.Comparison:
    """Example 2 minus no Dropout, validation accuracy paired by seed, against the margin."""
    difference = stats.paired_difference(final, "val_accuracy", DROPOUT, NONE)
    return rules.compare(f"{share:.0%} wrong labels", difference, rules.ACCURACY)


def pilot(
    dataset: Dataset,
    shares: Sequence[float],
    rate: float,
    *,
    seeds: tuple[int, ...] | list[int],
    epochs: int,
    batch_size: int,
) -> Pilot:
    """Train Example 2 at ``rate`` and the same model without Dropout with each share of the
    training labels made wrong, and read dropout's gain on the validation split."""
    specs = {DROPOUT: models.Spec(models.EXAMPLE_2, rate), NONE: models.Spec(("dense", "bn", "relu"))}
    gains, accuracy = {}, {}
    for share in shares:
        final = training.run_replicated(
            specs, dataset.with_label_noise(share), seeds=seeds, epochs=epochs, batch_size=batch_size
        ).final
        gains[share] = gain(final, share)
        accuracy[share] = stats.estimate(final, "val_accuracy", config=DROPOUT)
    return Pilot(gains, accuracy)
