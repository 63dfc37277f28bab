"""Quiet, deterministic TensorFlow/Keras start-up shared by every casekit module.

Importing casekit changes nothing in the reader's session: no environment variable, no
file descriptor, no Keras or TensorFlow setting. What the book's own runs need is set in
one visible place, :func:`setup_book_session`, which the runner applies to the kernels it
starts and each chapter calls in its setup cell, before Keras or TensorFlow is imported.

TensorFlow's C++ runtime writes start-up lines (oneDNN notice, missing CUDA drivers)
straight to file descriptor 2 before its own log level applies. Jupyter kernels
forward that descriptor into notebook outputs, where the lines would change from
machine to machine and break nbval. Importing through :func:`keras_module` hides
those lines while the import runs; descriptor 2 is restored right after it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

#: The environment the book's runs use, applied by :func:`setup_book_session` where a
#: variable is unset (a value the reader set is kept). Each is read once, when TensorFlow or
#: Keras is imported, so it must be in place before that import.
BOOK_SESSION_ENV: Mapping[str, str] = MappingProxyType(
    {
        # TensorFlow's C++ INFO and WARNING lines would differ between machines in the stored
        # outputs; errors still show.
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # oneDNN's graph rewrites off, so runs do not depend on them. This does NOT make results
        # the same on every CPU: TensorFlow's matrix multiply still goes through oneDNN's sgemm,
        # generated at run time for the instruction set (ONEDNN_MAX_CPU_ISA caps it), and Eigen's
        # blocking follows the cache sizes. Seeded runs are bit-identical on one machine only;
        # across machines casekit.testing.regression compares estimates statistically.
        "TF_ENABLE_ONEDNN_OPTS": "0",
        # The backend that writes the stored outputs.
        "KERAS_BACKEND": "tensorflow",
    }
)


def book_session_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) with :data:`BOOK_SESSION_ENV` filled in where unset:
    the environment for a process that runs the book (a chapter's kernel, a test's child)."""
    current = os.environ if environ is None else environ
    return {**BOOK_SESSION_ENV, **current}


def setup_book_session() -> dict[str, str]:
    """Set the book's environment (:data:`BOOK_SESSION_ENV`) in this process, where unset.

    Call it before Keras or TensorFlow is imported: both read these variables once, at
    import. Returns the variables it set (empty when every one was already set, as on a
    second call). A reader who skips it keeps their session as it is, with oneDNN's
    default kernels and TensorFlow's log lines; the book's numbers then move within the
    tolerance that :mod:`casekit.testing.regression` states for another floating-point path.

    A variable set after the library that reads it was imported cannot take effect in
    this process (it still reaches the processes this one starts): that is reported with
    a ``RuntimeWarning`` naming the variables and the fix.
    """
    import sys
    import warnings

    missing = {name: value for name, value in BOOK_SESSION_ENV.items() if name not in os.environ}
    late = [name for name in missing if _READ_BY[name] in sys.modules]
    os.environ.update(missing)
    if late:
        warnings.warn(
            f"setup_book_session() ran after {' and '.join(sorted({_READ_BY[n] for n in late}))} "
            f"was imported, so {', '.join(late)} cannot take effect in this session; restart the "
            "runtime and run the chapter from the top",
            RuntimeWarning,
            stacklevel=2,
        )
    return missing


#: The library that reads each variable of :data:`BOOK_SESSION_ENV` when it is imported.
_READ_BY = {
    "TF_CPP_MIN_LOG_LEVEL": "tensorflow",
    "TF_ENABLE_ONEDNN_OPTS": "tensorflow",
    "KERAS_BACKEND": "keras",
}


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
