"""The activations of DIC's blocks: PReLU and LeakyReLU with lean hand-written gradients.

Both give Keras' values; their backward passes keep less (PReLU) or leave the
convolution before them free to fuse (LeakyReLU). `make_activation` picks a
block's activation by name.
"""

import math

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="dic_tf")
class PReLU(layers.PReLU):
    """`keras.layers.PReLU` computed as one select, `where(x >= 0, x, alpha * x)`,
    with a hand-written gradient.

    Same values as Keras' `relu(x) - alpha * relu(-x)` (max abs difference 0)
    and the same weight; its backward pass keeps the input and a boolean mask
    instead of two float maps: 1.0 GiB less at the x8 training step at batch 2
    (docs/performance_log.md). The gradient is the one automatic differentiation
    gives the select, `where(x >= 0, g, alpha * g)` for the input and the sum of
    `g * min(x, 0)` for the slope, in five elementwise passes instead of six,
    without the broadcast of a scalar zero that TensorFlow's select gradient
    makes in two of them (`tests/test_layers.py` compares both). The gradient at exactly x = 0 is 1
    (Keras': 0).

    Example:
        act = PReLU(shared_axes=[1, 2, 3])
        y = act(np.array([[[[-1.0, 2.0]]]], "float32"))  # [[[[-0.25, 2.0]]]]
    """

    def call(self, inputs):
        alpha = ops.cast(self.alpha, inputs.dtype)
        if math.prod(self.alpha.shape) == 1:
            # A scalar multiplies in TensorFlow's fast path, not the broadcasting one.
            alpha = ops.reshape(alpha, ())
        return prelu(inputs, alpha)


@ops.custom_gradient
def prelu(x, alpha):
    """`where(x >= 0, x, alpha * x)` and its gradient in five elementwise passes.

    Args:
        x: the input, [B, ...].
        alpha: the slope: a scalar, or x's shape without its batch axis, with 1
            on the shared axes.

    Returns:
        The activation, x's shape and dtype.

    Example:
        y = prelu(np.array([[-1.0, 2.0]], "float32"), np.float32(0.25))  # [[-0.25, 2.0]]
    """

    positive = x >= 0

    def grad(*args, upstream=None):
        upstream = args[0] if upstream is None else upstream
        input_grad = ops.where(positive, upstream, alpha * upstream)
        slope_terms = upstream * ops.minimum(x, 0)
        if len(alpha.shape) == 0:
            return input_grad, ops.sum(slope_terms)
        shared_axes = [0] + [axis + 1 for axis, size in enumerate(alpha.shape) if size == 1]
        return input_grad, ops.reshape(ops.sum(slope_terms, axis=shared_axes), alpha.shape)

    return ops.where(positive, x, alpha * x), grad


@keras.saving.register_keras_serializable(package="dic_tf")
class LeakyReLU(layers.LeakyReLU):
    """`keras.layers.LeakyReLU` whose gradient reads its output, not its input.

    The same values and gradients (a slope >= 0 keeps the sign; at exactly 0
    the gradient is the slope on every backend, as TensorFlow's; JAX's own
    `leaky_relu` gives 1 there). TensorFlow's
    `LeakyReluGrad` reads the pre-activation, the sum that Grappler's remapper
    fuses into the convolution before it: the remapper then fails on the whole
    training graph ("remapper failed: ... LeakyReluGrad exist for missing node")
    and keeps none of its fusions. Reading the output, like `ReluGrad`, leaves
    the pre-activation free to fuse (`tests/test_layers.py`).

    Example:
        act = LeakyReLU(negative_slope=0.2)
        y = act(np.array([[-1.0, 2.0]], "float32"))  # [[-0.2, 2.0]]
    """

    def call(self, inputs):
        return leaky_relu(inputs, self.negative_slope)


def leaky_relu(x, negative_slope):
    """`keras.ops.leaky_relu` with its gradient computed from the output.

    Args:
        x: the input, any shape.
        negative_slope: the slope below 0, >= 0.

    Returns:
        The activation, x's shape and dtype.

    Example:
        y = leaky_relu(np.array([-1.0, 2.0], "float32"), 0.2)  # [-0.2, 2.0]
    """

    @ops.custom_gradient
    def activation(x):
        y = ops.leaky_relu(x, negative_slope)

        def grad(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            return ops.where(y > 0, upstream, negative_slope * upstream)

        return y, grad

    return activation(x)


def make_activation(activation, name):
    """Activation layer of a block: 'prelu' (one shared slope), 'lrelu', 'relu' or None.

    Example:
        act = make_activation("prelu", "conv1")  # PReLU, one slope of 0.2
    """
    if activation is None:
        return None
    if activation == "prelu":
        return PReLU(
            alpha_initializer=keras.initializers.Constant(0.2),
            shared_axes=[1, 2, 3],
            name=f"{name}_prelu",
        )
    if activation == "lrelu":
        return LeakyReLU(negative_slope=0.2, name=f"{name}_lrelu")
    if activation == "relu":
        return layers.ReLU(name=f"{name}_relu")
    raise ValueError(
        f"Unknown activation {activation!r}; expected 'prelu', 'lrelu', 'relu' or None."
    )


def build_activation(block, input_shape):
    """Builds `block.act` in `block.build`, so its weights (PReLU's slope) exist
    before the first call, e.g. when a `.keras` file is reloaded.

    Example:
        build_activation(self, input_shape)  # in a block's build()
    """
    if block.act is not None:
        block.act.build(block.compute_output_shape(input_shape))
