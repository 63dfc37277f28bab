"""Where a chapter ran: device and library versions, for the notebook header and the
execution report. Only stable facts are printed (no host names, no clock times)."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from casekit._runtime import keras_module

LIBRARIES = ("tensorflow", "keras", "numpy", "casekit")


def keras() -> Any:
    """The ``keras`` module, imported (with TensorFlow) with the C++ start-up lines hidden.

    Chapters that use ``keras`` or ``tensorflow`` directly call this before importing them,
    so the import happens once, quietly, and their later ``import`` lines are no-ops.
    """
    return keras_module()


def device() -> str:
    """``"CPU"`` or the accelerator's name as the Keras backend reports it."""
    keras = keras_module()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return f"GPU ({details.get('device_name', 'unknown')})"
        return "CPU"
    if backend == "jax":
        import jax

        first = jax.devices()[0]
        return "CPU" if first.platform == "cpu" else f"{first.platform.upper()} ({first.device_kind})"
    return "CPU"


def versions(backend: str = "tensorflow") -> dict[str, str]:
    """Python (major.minor) and the pinned libraries that decide the numbers (JAX's too
    when it is the backend)."""
    found = {"python": ".".join(platform.python_version_tuple()[:2])}
    for name in LIBRARIES + (("jax", "jaxlib") if backend == "jax" else ()):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def summary() -> str:
    """One line: device, backend and versions."""
    backend = keras_module().backend.backend()
    parts = [f"{name} {version}" for name, version in versions(backend).items()]
    return f"Device: {device()} | backend: {backend} | " + " | ".join(parts)
