"""Adam in one pass over each variable: the optimizer of casekit's replicated training.

Keras's ``Adam`` (what ``optimizer="adam"`` compiles) updates a variable with about ten
element-wise operations: the two moment updates, the square root, the division and the
step. On JAX, XLA fuses them into one loop; on TensorFlow, with op determinism on (which
makes Keras refuse XLA), each one is a separate pass over memory, and on the replicated
first layer (784 x 64 weights per replica) those passes take a large share of a training
step. :class:`FusedAdam` computes the same update with TensorFlow's own fused kernel,
``tf.raw_ops.ResourceApplyAdam``: one pass, the same formula
(``tensorflow/core/kernels/training_ops.cc``: ``lr_t = lr * sqrt(1 - beta2^t) / (1 -
beta1^t)``, ``m += (g - m) * (1 - beta1)``, ``v += (g^2 - v) * (1 - beta2)``, ``var -= lr_t
* m / (sqrt(v) + epsilon)``, which is Keras's). Results differ from Keras's Adam by rounding
and by one constant: the kernel forms ``1 - beta`` in float32 where Keras uses a Python
float, about 1e-5 relative for ``beta_2`` (``tests/test_optimizers.py`` bounds the
difference). :func:`adam` picks it on TensorFlow and Keras's
Adam elsewhere.

The article's own models, and every single run, keep ``optimizer="adam"``: the fused
kernel is a speed lever of the replicated paths (:mod:`casekit.lab.replicas`) only.
"""

from __future__ import annotations

from typing import Any

from casekit._runtime import keras_module

#: Keras's Adam defaults, which ``optimizer="adam"`` uses.
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 0.001, 0.9, 0.999, 1e-7


def adam() -> Any:
    """Adam with Keras's defaults: :class:`FusedAdam` on TensorFlow, ``keras.optimizers.Adam``
    on the other backends (where the compiler fuses it already)."""
    keras = keras_module()
    if keras.backend.backend() == "tensorflow":
        return fused_adam_class()()
    return keras.optimizers.Adam(LEARNING_RATE, BETA_1, BETA_2, EPSILON)


def fused_adam_class() -> type:
    """:class:`FusedAdam`, defined once Keras and TensorFlow are imported."""
    global _FUSED
    if _FUSED is None:
        import tensorflow as tf

        keras = keras_module()
        ops = keras.ops
        Optimizer: Any = keras.optimizers.Optimizer

        class FusedAdam(Optimizer):
            """Keras's Adam (without AMSGrad) through one fused TensorFlow kernel per
            variable. TensorFlow backend, default distribution strategy only."""

            def __init__(
                self,
                learning_rate: float = LEARNING_RATE,
                beta_1: float = BETA_1,
                beta_2: float = BETA_2,
                epsilon: float = EPSILON,
                name: str = "fused_adam",
                **kwargs: Any,
            ) -> None:
                super().__init__(learning_rate=learning_rate, name=name, **kwargs)
                self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
                self.moments: dict[Any, tuple[Any, Any]] = {}

            def build(self, var_list: list[Any]) -> None:
                if self.built:
                    return
                super().build(var_list)
                firsts, seconds = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
                # Keras hands update_step the TensorFlow variable behind each Keras variable.
                self.moments = {
                    v.value.ref(): (m, s) for v, m, s in zip(var_list, firsts, seconds, strict=True)
                }

            def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
                first, second = self.moments[variable.ref()]
                dtype = variable.dtype
                step = ops.cast(self.iterations + 1, dtype)
                beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
                tf.raw_ops.ResourceApplyAdam(
                    var=variable.handle,
                    m=first.value.handle,
                    v=second.value.handle,
                    beta1_power=ops.power(beta_1, step),
                    beta2_power=ops.power(beta_2, step),
                    lr=ops.cast(learning_rate, dtype),
                    beta1=beta_1,
                    beta2=beta_2,
                    epsilon=ops.cast(self.epsilon, dtype),
                    grad=ops.cast(gradient, dtype),
                    use_locking=False,
                )

            def get_config(self) -> dict[str, Any]:
                return {
                    **super().get_config(),
                    "beta_1": self.beta_1,
                    "beta_2": self.beta_2,
                    "epsilon": self.epsilon,
                }

        _FUSED = FusedAdam
    fused: type = _FUSED
    return fused


_FUSED: Any = None
