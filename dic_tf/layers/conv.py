"""Convolution and deconvolution blocks with PyTorch's padding semantics.

DIC's blocks are `Conv2d`/`ConvTranspose2d` with an explicit zero padding `p`
followed by an optional activation. A convolution pads `p` pixels on every side
and then runs 'valid'; a transposed convolution runs 'valid' and crops `p`
pixels from every side, i.e. its output size is `(n - 1) * s + k - 2 p`.
"""

import keras
from keras import layers


def torch_default_initializers():
    """PyTorch's default Conv2d initialisation, U(+-1/sqrt(fan_in)) for the kernel.

    Keras computes fan-in of a Conv2DTranspose kernel (kh, kw, out, in) as
    kh * kw * out, as PyTorch does for ConvTranspose2d.
    """
    kernel = keras.initializers.VarianceScaling(
        scale=1.0 / 3.0, mode="fan_in", distribution="uniform"
    )
    return kernel, keras.initializers.Zeros()


def make_activation(activation, name):
    """Activation layer of a block: 'prelu' (one shared slope), 'lrelu', 'relu' or None."""
    if activation is None:
        return None
    if activation == "prelu":
        return layers.PReLU(
            alpha_initializer=keras.initializers.Constant(0.2),
            shared_axes=[1, 2, 3],
            name=f"{name}_prelu",
        )
    if activation == "lrelu":
        return layers.LeakyReLU(negative_slope=0.2, name=f"{name}_lrelu")
    if activation == "relu":
        return layers.ReLU(name=f"{name}_relu")
    raise ValueError(
        f"Unknown activation {activation!r}; expected 'prelu', 'lrelu', 'relu' or None."
    )


class ConvBlock(layers.Layer):
    """`Conv2d(k, stride, padding)` + activation, as the authors' `ConvBlock`.

    Args:
        filters: output channels.
        kernel_size: square kernel size k.
        strides: stride s.
        padding: zero padding p on every side; default `(k - 1) // 2`.
        activation: 'prelu', 'lrelu', 'relu' or None.
        groups: grouped convolution with contiguous channel groups.

    Shapes: [B, H, W, C_in] -> [B, (H + 2p - k) // s + 1, ..., filters].
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
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = (kernel_size - 1) // 2 if padding is None else padding
        self.activation = activation
        self.groups = groups
        same = strides == 1 and kernel_size % 2 == 1 and self.padding == kernel_size // 2
        self.pad = None
        if not same and self.padding:
            self.pad = layers.ZeroPadding2D(self.padding, name="pad")
        kernel_init, bias_init = torch_default_initializers()
        self.conv = layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same" if same else "valid",
            groups=groups,
            kernel_initializer=kernel_init,
            bias_initializer=bias_init,
            name="conv",
        )
        self.act = make_activation(activation, "act")

    def call(self, inputs):
        x = inputs if self.pad is None else self.pad(inputs)
        x = self.conv(x)
        return x if self.act is None else self.act(x)

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


class DeconvBlock(layers.Layer):
    """`ConvTranspose2d(k, stride, padding)` + activation (the up-projection).

    Args:
        filters: output channels.
        kernel_size: square kernel size k.
        strides: stride s.
        padding: PyTorch padding p, cropped from every side of the output.
        activation: 'prelu', 'lrelu', 'relu' or None.

    Shapes: [B, H, W, C_in] -> [B, (H - 1) s + k - 2p, (W - 1) s + k - 2p, filters].
    """

    def __init__(self, filters, kernel_size, strides, padding, activation="prelu", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.activation = activation
        kernel_init, bias_init = torch_default_initializers()
        self.deconv = layers.Conv2DTranspose(
            filters,
            kernel_size,
            strides=strides,
            padding="valid",
            kernel_initializer=kernel_init,
            bias_initializer=bias_init,
            name="deconv",
        )
        self.crop = layers.Cropping2D(padding, name="crop") if padding else None
        self.act = make_activation(activation, "act")

    def call(self, inputs):
        x = self.deconv(inputs)
        if self.crop is not None:
            x = self.crop(x)
        return x if self.act is None else self.act(x)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            activation=self.activation,
        )
        return config
