"""Convolution and deconvolution blocks with PyTorch's padding semantics.

DIC's blocks are `Conv2d`/`ConvTranspose2d` with an explicit zero padding `p`
followed by an optional activation. A convolution pads `p` pixels on every side
and then runs 'valid'; a transposed convolution runs 'valid' and crops `p`
pixels from every side, i.e. its output size is `(n - 1) * s + k - 2 p`.
"""

import keras
import numpy as np
from keras import layers, ops

from dic_tf.layers.activations import build_activation, make_activation
from dic_tf.layers.initializers import torch_default_initializers
from dic_tf.layers.resize import pixel_shuffle
from dic_tf.utils import backend


def is_shape_list(shape):
    """Whether `shape` is a list of shapes (a layer called on a list of tensors).

    Example:
        is_shape_list([(1, 8, 8, 4), (1, 8, 8, 2)])  # True; (1, 8, 8, 4) -> False
    """
    return bool(shape) and isinstance(shape[0], (list, tuple))


def concatenated_shape(shapes):
    """The shape of the channel (last-axis) concatenation of tensors of `shapes`.

    Example:
        concatenated_shape([(1, 8, 8, 4), (1, 8, 8, 2)])  # (1, 8, 8, 6)
    """
    return (*shapes[0][:-1], sum(shape[-1] for shape in shapes))


def pads_like_same(sides, kernel_size, strides, padding):
    """Whether 'same' padding gives the windows of PyTorch's padding p on every side.

    'same' pads `total = (ceil(n / s) - 1) s + k - n` zeros, `total // 2` before;
    the windows are PyTorch's when that is p and both give `ceil(n / s)`
    outputs. The convolution then pads inside its kernel, without a padded copy
    of the input (and its gradient, a crop) in the graph.

    Args:
        sides: the input's static (H, W); None entries never match.
        kernel_size, strides, padding: k, s and PyTorch's p.

    Example:
        pads_like_same((256, 256), 12, 8, 2)  # True: the x8 down-projection
        pads_like_same((128, 128), 7, 2, 3)  # False: 'same' pads 2 before, not 3
    """
    for n in sides:
        if n is None:
            return False
        outputs = -(-n // strides)
        total = max((outputs - 1) * strides + kernel_size - n, 0)
        if total // 2 != padding or (n + 2 * padding - kernel_size) // strides + 1 != outputs:
            return False
    return True


@keras.saving.register_keras_serializable(package="dic_tf")
class ConvBlock(layers.Layer):
    """`Conv2d(k, stride, padding, groups)` + activation, as the authors' `ConvBlock`.

    The kernel has Keras' grouped layout `(k, k, C_in / groups, filters)` with
    contiguous channel groups. A grouped convolution runs as one convolution
    per group (TensorFlow's native grouped convolution is ~100x slower on CPU).

    Called on a list of tensors (groups=1 only), it convolves their channel
    concatenation without making it: the sum of each part's convolution with
    its slice of the kernel. The backward pass then keeps only the parts, which
    the caller keeps anyway, instead of the concatenated map (the feedback
    block's HR transitions: 1.1 GiB less at the x8 training step at batch 2
    without remat, docs/performance_log.md). Equal to the concatenated call up to
    float32 summation order.

    Args:
        filters: output channels.
        kernel_size: square kernel size k.
        strides: stride s.
        padding: zero padding p on every side; default `(k - 1) // 2`.
        activation: 'prelu', 'lrelu', 'relu' or None.
        groups: grouped convolution with contiguous channel groups.

    Shapes: [B, H, W, C_in] (or a list of [B, H, W, C_i] with sum C_i = C_in)
    -> [B, (H + 2p - k) // s + 1, ..., filters].

    Example:
        block = ConvBlock(48, 3)
        y = block(np.zeros((1, 16, 16, 3), "float32"))  # (1, 16, 16, 48)
        parts = [np.zeros((1, 16, 16, 48), "float32")] * 2
        z = ConvBlock(48, 1)(parts)  # = conv of their 96-channel concatenation
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding=None,
        activation="prelu",
        groups=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if filters % groups:
            raise ValueError(f"ConvBlock: filters={filters} is not divisible by groups={groups}.")
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = (kernel_size - 1) // 2 if padding is None else padding
        self.activation = activation
        self.groups = groups
        self.act = make_activation(activation, "act")

    def build(self, input_shape):
        if is_shape_list(input_shape):
            if self.groups != 1:
                raise ValueError(
                    f"ConvBlock {self.name}: a list of inputs needs groups=1, not {self.groups}."
                )
            input_shape = concatenated_shape(input_shape)
        channels = input_shape[-1]
        if channels % self.groups:
            raise ValueError(
                f"ConvBlock {self.name}: {channels} input channels are not divisible by "
                f"groups={self.groups}."
            )
        kernel_init, bias_init = torch_default_initializers()
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, channels // self.groups, self.filters), initializer=kernel_init
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=bias_init)
        build_activation(self, input_shape)

    def _convolve(self, x, kernel):
        same = pads_like_same(x.shape[1:3], self.kernel_size, self.strides, self.padding)
        if not same and self.padding:
            p = self.padding
            x = ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        padding = "same" if same else "valid"
        if self.groups == 1:
            return ops.conv(x, kernel, self.strides, padding=padding)
        inputs = ops.split(x, self.groups, axis=-1)
        kernels = ops.split(kernel, self.groups, axis=-1)
        return ops.concatenate(
            [ops.conv(i, k, self.strides, padding=padding) for i, k in zip(inputs, kernels)], axis=-1
        )

    def _convolve_concatenation(self, parts):
        total, start = None, 0
        for part in parts:
            channels = part.shape[-1]
            y = self._convolve(part, self.kernel[:, :, start : start + channels, :])
            total = y if total is None else total + y
            start += channels
        return total

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            x = self._convolve_concatenation(inputs)
        else:
            x = self._convolve(inputs, self.kernel)
        x = x + self.bias
        return x if self.act is None else self.act(x)

    def compute_output_shape(self, input_shape):
        if is_shape_list(input_shape):
            input_shape = concatenated_shape(input_shape)

        def side(n):
            if n is None:
                return None
            return (n + 2 * self.padding - self.kernel_size) // self.strides + 1

        return (input_shape[0], side(input_shape[1]), side(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=self.activation,
            groups=self.groups,
        )
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class DeconvBlock(layers.Layer):
    """`ConvTranspose2d(k, stride, padding)` + activation (the up-projection).

    The kernel is stored as Keras' Conv2DTranspose kernel `(k, k, filters,
    in)`. The transposed convolution can run as an exactly equivalent
    sub-pixel convolution: output phase `r` of input position `q` only sees the
    `M = ceil(k / s)` inputs `q - M + 1 .. q`, so an `M x M` convolution to
    `s * s * filters` channels followed by depth-to-space and a crop of `p`
    gives the same sums, as one dense convolution instead of a scatter. That
    is faster where the backend lowers `conv_transpose` to a zero-dilated
    convolution (XLA on CPU: 3.8x for the x8 up-projection's forward and
    backward) and slower on TensorFlow's CPU kernels (docs/performance_log.md), so
    'auto' picks 'transpose' on TensorFlow and 'subpixel' elsewhere.

    Args:
        filters: output channels.
        kernel_size: square kernel size k.
        strides: stride s.
        padding: PyTorch padding p, cropped from every side of the output.
        activation: 'prelu', 'lrelu', 'relu' or None.
        implementation: 'auto' (default), 'subpixel' or 'transpose'
            (`ops.conv_transpose`).

    Shapes: [B, H, W, C_in] -> [B, (H - 1) s + k - 2p, (W - 1) s + k - 2p, filters].

    Example:
        up = DeconvBlock(48, 12, 8, 2)
        y = up(np.zeros((1, 16, 16, 48), "float32"))  # (1, 128, 128, 48)
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides,
        padding,
        activation="prelu",
        implementation="auto",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if implementation not in ("auto", "subpixel", "transpose"):
            raise ValueError(
                f"DeconvBlock implementation {implementation!r}; expected 'auto', 'subpixel' or "
                "'transpose'."
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.activation = activation
        self.implementation = implementation
        self.act = make_activation(activation, "act")
        self.taps = -(-kernel_size // strides)
        # Sub-pixel tap table: phase r of window position a reads kernel index
        # r + s * (M - 1 - a), or the appended zero row when that is >= k.
        index = np.arange(strides)[None, :] + strides * (self.taps - 1 - np.arange(self.taps))[:, None]
        self._subpixel_index = np.where(index < kernel_size, index, kernel_size).astype("int32")

    def build(self, input_shape):
        kernel_init, bias_init = torch_default_initializers()
        k = self.kernel_size
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, self.filters, input_shape[-1]), initializer=kernel_init
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=bias_init)
        build_activation(self, input_shape)

    def _subpixel_kernel(self):
        """[M, M, C_in, s * s * filters] with channels ordered (r_h, r_w, filters)."""
        kernel = ops.pad(self.kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
        index = self._subpixel_index
        kernel = ops.take(kernel, index.reshape(-1), axis=0)
        kernel = ops.take(kernel, index.reshape(-1), axis=1)
        m, s = self.taps, self.strides
        kernel = ops.reshape(kernel, (m, s, m, s, self.filters, -1))
        kernel = ops.transpose(kernel, (0, 2, 5, 1, 3, 4))
        return ops.reshape(kernel, (m, m, -1, s * s * self.filters))

    def resolved_implementation(self):
        """'subpixel' or 'transpose': what 'auto' means on the current backend."""
        if self.implementation != "auto":
            return self.implementation
        return "transpose" if backend.name() == "tensorflow" else "subpixel"

    def _transposed(self, inputs):
        """The transposed convolution, cropped by p on every side."""
        k, s, p = self.kernel_size, self.strides, self.padding
        if self.resolved_implementation() == "transpose":
            if k - s == 2 * p:
                # 'same' crops (k - s) / 2 inside the kernel: no full-size map and crop.
                return ops.conv_transpose(inputs, self.kernel, s, padding="same")
            x = ops.conv_transpose(inputs, self.kernel, s, padding="valid")
        else:
            m = self.taps
            x = ops.pad(inputs, ((0, 0), (m - 1, m - 1), (m - 1, m - 1), (0, 0)))
            x = pixel_shuffle(ops.conv(x, self._subpixel_kernel(), padding="valid"), s)
        shape = ops.shape(inputs)
        out_h = (shape[1] - 1) * s + k - 2 * p
        out_w = (shape[2] - 1) * s + k - 2 * p
        return ops.slice(x, (0, p, p, 0), (shape[0], out_h, out_w, self.filters))

    def call(self, inputs):
        x = self._transposed(inputs)
        x = x + self.bias
        return x if self.act is None else self.act(x)

    def compute_output_shape(self, input_shape):
        def side(n):
            return None if n is None else (n - 1) * self.strides + self.kernel_size - 2 * self.padding

        return (input_shape[0], side(input_shape[1]), side(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=self.activation,
            implementation=self.implementation,
        )
        return config
