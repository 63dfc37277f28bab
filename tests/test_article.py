from __future__ import annotations

from pathlib import Path

import pytest

from casekit.lab import article

#: A copy of the article kept with the tests, so they run in a clean clone.
SEED_ARTICLE = Path(__file__).resolve().parent / "data" / "seed-article.md"
#: Where the article lives beside a working checkout, when it does.
SHARED_ARTICLE = Path(__file__).resolve().parents[2] / "shared" / "seed-article.md"


@pytest.mark.skipif(not SHARED_ARTICLE.is_file(), reason="no shared copy of the article beside this checkout")
def test_the_kept_copy_is_the_article() -> None:
    assert SEED_ARTICLE.read_bytes() == SHARED_ARTICLE.read_bytes()


@pytest.mark.parametrize("number", [1, 2, 3])
def test_examples_are_verbatim_copies_of_the_article(number: int) -> None:
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    assert f"```python\n{article.EXAMPLES[number]}```" in text


def test_examples_hold_the_article_layers() -> None:
    assert "Dropout(0.5),  # Incorrect placement\n    BatchNormalization()," in article.EXAMPLE_1
    assert "BatchNormalization(),\n    Dropout(0.5), # Correct placement" in article.EXAMPLE_2
    assert "model_high_dropout = create_model(0.8)" in article.EXAMPLE_3
