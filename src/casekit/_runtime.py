"""Quiet, deterministic TensorFlow/Keras start-up shared by every casekit module.

TensorFlow's C++ runtime writes start-up lines (oneDNN notice, missing CUDA drivers)
straight to file descriptor 2 before its own log level applies. Jupyter kernels
forward that descriptor into notebook outputs, where the lines would change from
machine to machine and break nbval. Importing through :func:`keras_module` hides
those lines once, while every later warning still reaches stderr.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

# Silences TF's C++ INFO/WARNING logs after start-up (a reader can override it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# oneDNN's graph rewrites are off so runs do not depend on them; this does NOT make results
# the same on every CPU: TensorFlow's matrix multiply still goes through oneDNN's sgemm,
# generated at run time for the instruction set (ONEDNN_MAX_CPU_ISA caps it), and Eigen's
# blocking follows the cache sizes. Seeded runs are bit-identical on one machine only;
# across machines casekit.regression compares estimates statistically.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

#: The Keras backends casekit runs on. TensorFlow writes the stored outputs.
BACKENDS = ("tensorflow", "jax")


def check_backend(name: str) -> str:
    """``name`` if it is a supported backend that is installed; otherwise a one-line error."""
    import importlib.util

    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    if importlib.util.find_spec(name) is None:
        raise ValueError(
            f"backend {name!r} is not installed in this environment; install it "
            f"(pip install 'casekit[{name}]') or choose another of: {', '.join(BACKENDS)}"
        )
    return name


def installed_backends() -> list[str]:
    """The supported backends installed here, TensorFlow (the default) first."""
    import importlib.util

    return [name for name in BACKENDS if importlib.util.find_spec(name) is not None]


@contextlib.contextmanager
def _stderr_fd_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration of the block."""
    try:
        saved = os.dup(2)
    except OSError:  # no real descriptor 2 (some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def keras_module() -> Any:
    """Import Keras (and TensorFlow, when it is the backend) with start-up noise hidden.

    Typed ``Any``: Keras ships no type information.
    """
    import sys

    if "keras" not in sys.modules:
        import importlib.util

        with _stderr_fd_silenced():
            # On every backend Keras imports TensorFlow lazily when it is installed (its
            # serialization checks for tf.TensorShape); import it here, where its start-up
            # lines are hidden, rather than in the middle of a chapter's cell.
            if importlib.util.find_spec("tensorflow") is not None:
                import tensorflow  # noqa: F401
            import keras
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # TF's Python logger prints retracing notices, with memory addresses, when many
        # small models are built in one process (every grid does that); errors still show.
        tf.get_logger().setLevel("ERROR")
    return keras


def enable_determinism(seed: int) -> None:
    """Seed Python, NumPy and the backend, and make TensorFlow ops deterministic.

    Keras has no public switch for op determinism, so this is the one place casekit
    calls ``tf.config`` directly. On JAX, Keras draws every random number from seed
    generators whose state lives in the model's variables, and XLA's CPU kernels are
    deterministic, so seeding is all it takes (``tests/test_backends.py`` checks both).
    """
    keras = keras_module()
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
