"""The attentive fusion module: SR features weighted by facial-component attention."""

import keras
from keras import layers, ops

from dic_tf.layers.conv_blocks import ConvBlock


@keras.saving.register_keras_serializable(package="dic_tf")
class GroupedResidualBlock(layers.Layer):
    """x + conv3x3(lrelu(conv3x3(x))) with both convolutions grouped per component.

    Args:
        channels: channels C of the input and output.
        groups: number of channel groups (facial components).

    Shapes: [B, H, W, C] -> [B, H, W, C].

    Example:
        block = GroupedResidualBlock(240, 5)
        y = block(np.zeros((1, 16, 16, 240), "float32"))  # same shape
    """

    def __init__(self, channels, groups, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.groups = groups
        self.conv0 = ConvBlock(channels, 3, activation="lrelu", groups=groups, name="conv0")
        self.conv1 = ConvBlock(channels, 3, activation=None, groups=groups, name="conv1")

    def call(self, inputs):
        return inputs + self.conv1(self.conv0(inputs))

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, groups=self.groups)
        return config


@keras.saving.register_keras_serializable(package="dic_tf")
class AttentiveFusion(layers.Layer):
    """Attentive fusion: per-component features weighted by softmax attention.

    The features are expanded to one group of `num_features` channels per
    component, refined by grouped residual blocks, multiplied by the softmax
    over components of the component maps and summed over components.

    Args:
        num_features: channels F of the SR features.
        num_blocks: grouped residual blocks.
        num_components: facial components (5).

    Call args:
        features: [B, H, W, F].
        components: [B, H, W, num_components] merged heatmaps.

    Returns:
        [B, H, W, F].

    Example:
        fusion = AttentiveFusion(48, 7)
        y = fusion(np.zeros((1, 16, 16, 48), "float32"), np.zeros((1, 16, 16, 5), "float32"))
    """

    def __init__(self, num_features, num_blocks, num_components=5, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.num_blocks = num_blocks
        self.num_components = num_components
        width = num_features * num_components
        self.conv_in = ConvBlock(width, 1, activation="lrelu", name="conv_in")
        self.res_blocks = [
            GroupedResidualBlock(width, num_components, name=f"res_block_{i}") for i in range(num_blocks)
        ]

    def call(self, features, components):
        x = self.conv_in(features)
        for block in self.res_blocks:
            x = block(x)
        shape = ops.shape(x)
        x = ops.reshape(
            x, (shape[0], shape[1], shape[2], self.num_components, self.num_features)
        )
        attention = ops.softmax(components, axis=-1)
        return ops.sum(x * ops.expand_dims(attention, -1), axis=-2)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_features=self.num_features,
            num_blocks=self.num_blocks,
            num_components=self.num_components,
        )
        return config
