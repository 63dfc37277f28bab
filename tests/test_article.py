from __future__ import annotations

from pathlib import Path

import pytest

from casekit import article

SEED_ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "seed-article.md"


@pytest.mark.skipif(not SEED_ARTICLE.is_file(), reason="the seed article is not beside this checkout")
@pytest.mark.parametrize("number", [1, 2, 3])
def test_examples_are_verbatim_copies_of_the_article(number: int) -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    assert f"```python\n{article.EXAMPLES[number]}```" in text


def test_examples_hold_the_article_layers() -> None:
    assert "Dropout(0.5),  # Incorrect placement\n    BatchNormalization()," in article.EXAMPLE_1
    assert "BatchNormalization(),\n    Dropout(0.5), # Correct placement" in article.EXAMPLE_2
    assert "model_high_dropout = create_model(0.8)" in article.EXAMPLE_3
