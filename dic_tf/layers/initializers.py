"""PyTorch's default weight initialisation, drawn with numpy on every backend.

DIC's convolutions start as PyTorch's `Conv2d`/`ConvTranspose2d`/`Linear` do:
kernels from U(+-1/sqrt(fan_in)) with PyTorch's fan-in, zero biases.
"""

import math

import keras
import numpy as np


def numpy_generator(seed):
    """numpy's generator for `seed`; None draws from numpy's global state, which
    `keras.utils.set_random_seed` seeds.

    Example:
        values = numpy_generator(None).normal(0.0, 0.1, size=(3, 3, 8, 8))
    """
    return np.random.default_rng(seed) if seed is not None else np.random


def pytorch_fan_in(kernel_shape):
    """PyTorch's fan-in of a kernel: the product of all dimensions but the last.

    That is `C_in / groups * k * k` for a `ConvBlock` kernel `(k, k, C_in /
    groups, filters)`, `filters * k * k` for a `DeconvBlock` kernel `(k, k,
    filters, C_in)` (PyTorch reads dimension 1 of a ConvTranspose2d weight) and
    `in` for a Dense kernel `(in, out)`.

    Example:
        pytorch_fan_in((3, 3, 16, 48))  # 144 = 3 * 3 * 16
    """
    return math.prod(kernel_shape[:-1])


@keras.saving.register_keras_serializable(package="dic_tf")
class TorchUniform(keras.initializers.Initializer):
    """PyTorch's default Conv2d/Linear kernel init: U(+-1/sqrt(fan_in)).

    fan_in is `pytorch_fan_in(shape)`. The draws are numpy's, on every backend: a backend draw compiles one XLA
    program per kernel shape on JAX (18 s of a tiny DIC's build).

    Args:
        seed: int seed; None draws from numpy's global state.

    Example:
        kernel = TorchUniform()((3, 3, 16, 48))  # numpy, |values| <= 1 / sqrt(144)
    """

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        limit = 1.0 / math.sqrt(pytorch_fan_in(shape))
        values = numpy_generator(self.seed).uniform(-limit, limit, size=shape)
        return values.astype(keras.backend.standardize_dtype(dtype or "float32"))

    def get_config(self):
        return {"seed": self.seed}


def torch_default_initializers():
    """PyTorch's default Conv2d initialisation: `TorchUniform` kernel, zero bias.

    Example:
        kernel_init, bias_init = torch_default_initializers()
    """
    return TorchUniform(), keras.initializers.Zeros()
