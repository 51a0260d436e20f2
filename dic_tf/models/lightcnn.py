"""LightCNN-9: DICGAN's discriminator and the trunk used for its feature loss."""

import keras
from keras import layers, ops

from dic_tf.layers.conv_blocks import ConvBlock
from dic_tf.layers.initializers import torch_default_initializers
from dic_tf.models.symbolic_build import SymbolicBuild


@keras.saving.register_keras_serializable(package="dic_tf")
class MaxFeatureMap(layers.Layer):
    """Max-feature-map: a convolution (or dense) to 2C outputs, max of the halves.

    Args:
        filters: output channels C.
        kernel_size: square kernel, or None for a dense layer.

    Shapes: [..., C_in] -> [..., C].

    Example:
        mfm = MaxFeatureMap(48, 5)
        y = mfm(np.zeros((1, 128, 128, 1), "float32"))  # 48 channels
    """

    def __init__(self, filters, kernel_size=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        if kernel_size is None:
            kernel_init, bias_init = torch_default_initializers()
            self.filter = layers.Dense(
                2 * filters, kernel_initializer=kernel_init, bias_initializer=bias_init,
                name="filter",
            )
        else:
            self.filter = ConvBlock(2 * filters, kernel_size, activation=None, name="filter")

    def call(self, inputs):
        x = self.filter(inputs)
        return ops.maximum(x[..., : self.filters], x[..., self.filters :])

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size)
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class MFMGroup(layers.Layer):
    """1x1 max-feature-map keeping the channels, then a k x k max-feature-map.

    Example:
        group = MFMGroup(48, 96)
        y = group(np.zeros((1, 32, 32, 48), "float32"))  # 96 channels
    """

    def __init__(self, in_filters, filters, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.in_filters = in_filters
        self.filters = filters
        self.kernel_size = kernel_size
        self.conv_a = MaxFeatureMap(in_filters, 1, name="conv_a")
        self.conv = MaxFeatureMap(filters, kernel_size, name="conv")

    def call(self, inputs):
        return self.conv(self.conv_a(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(
            in_filters=self.in_filters, filters=self.filters, kernel_size=self.kernel_size
        )
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class LightCNNTrunk(layers.Layer):
    """LightCNN-9 convolutional trunk: [B, 128, 128, 3] -> [B, 8, 8, 128].

    Max-pooling uses PyTorch's `ceil_mode=True` ('same' padding of a 2x2/2 pool).

    Example:
        trunk = LightCNNTrunk()  # the shared convolutions of both LightCNN-9 heads
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mfm0 = MaxFeatureMap(48, 5, name="mfm0")
        self.group1 = MFMGroup(48, 96, name="group1")
        self.group2 = MFMGroup(96, 192, name="group2")
        self.group3 = MFMGroup(192, 128, name="group3")
        self.group4 = MFMGroup(128, 128, name="group4")
        self.pool = layers.MaxPooling2D(2, 2, padding="same", name="pool")

    def call(self, inputs):
        x = self.pool(self.mfm0(inputs))
        x = self.pool(self.group1(x))
        x = self.pool(self.group2(x))
        return self.pool(self.group4(self.group3(x)))


@keras.saving.register_keras_serializable(package="dic_tf")
class LightCNNFeatures(SymbolicBuild, keras.Model):
    """LightCNN-9 trunk as the feature extractor of DICGAN's feature loss.

    Inputs [B, 128, 128, 3] -> features [B, 8, 8, 128].

    Example:
        features = build_lightcnn("features")  # the perceptual-loss features
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trunk = LightCNNTrunk(name="trunk")

    def call(self, images):
        return self.trunk(images)


@keras.saving.register_keras_serializable(package="dic_tf")
class LightCNNDiscriminator(SymbolicBuild, keras.Model):
    """LightCNN-9 with a one-logit head: DICGAN's discriminator.

    Inputs [B, 128, 128, 3] -> logits [B, 1]. The flatten is NHWC; the weight
    converter permutes PyTorch's NCHW-ordered dense weights accordingly.

    Example:
        discriminator = build_lightcnn("discriminator")  # DICGAN's discriminator
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trunk = LightCNNTrunk(name="trunk")
        self.flatten = layers.Flatten(name="flatten")
        self.fc = MaxFeatureMap(256, name="fc")
        kernel_init, bias_init = torch_default_initializers()
        self.logit = layers.Dense(
            1, kernel_initializer=kernel_init, bias_initializer=bias_init, name="logit"
        )

    def call(self, images):
        x = self.fc(self.flatten(self.trunk(images)))
        return self.logit(ops.leaky_relu(x, negative_slope=0.2))


def build_lightcnn(kind):
    """Builds 'discriminator' or 'features' with weights created for 128x128 faces.

    Example:
        discriminator = build_lightcnn("discriminator")  # or "features"
    """
    models = {"discriminator": LightCNNDiscriminator, "features": LightCNNFeatures}
    if kind not in models:
        raise ValueError(f"Unknown LightCNN kind {kind!r}; expected one of {sorted(models)}.")
    model = models[kind]()
    model.build((1, 128, 128, 3))  # one symbolic pass: no op run, no JAX op compiled
    return model
