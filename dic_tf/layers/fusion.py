"""The attentive fusion module: landmark heatmaps -> 5 facial-component attention."""

import numpy as np
from keras import layers, ops

from dic_tf.layers.conv import ConvBlock

COMPONENT_NAMES = ("left_eye", "right_eye", "nose", "mouth", "contour")

# Landmark indices of each component, in COMPONENT_NAMES order.
_COMPONENTS_68 = (
    range(36, 42),
    range(42, 48),
    range(27, 36),
    range(48, 68),
    range(0, 27),
)
# Helen's 194 points, with the authors' (end-exclusive) index ranges.
_COMPONENTS_194 = (
    list(range(134, 153)) + list(range(174, 193)),
    list(range(114, 133)) + list(range(154, 173)),
    range(41, 57),
    range(58, 113),
    range(0, 40),
)

# Heatmaps are divided by their spatial maximum, which is clamped from below.
HEATMAP_MAX_FLOOR = 0.05


def component_matrix(num_keypoints):
    """0/1 matrix [num_keypoints, 5] summing landmark heatmaps into components.

    Example:
        component_matrix(68).shape  # (68, 5)
    """
    groups = {68: _COMPONENTS_68, 194: _COMPONENTS_194}.get(num_keypoints)
    if groups is None:
        raise ValueError(
            f"Cannot merge {num_keypoints} landmark heatmaps into facial components: "
            "expected 68 (iBUG) or 194 (Helen) heatmaps."
        )
    matrix = np.zeros((num_keypoints, len(groups)), dtype="float32")
    for component, indices in enumerate(groups):
        matrix[list(indices), component] = 1.0
    return matrix


def merge_heatmaps(heatmaps):
    """Merges landmark heatmaps into the 5 component maps fed to the fusion.

    Each heatmap is divided by its spatial maximum (at least 0.05), then the
    heatmaps of each component are summed.

    Args:
        heatmaps: tensor [B, H, W, K] with K in {68, 194}.

    Returns:
        Tensor [B, H, W, 5]: left eye, right eye, nose, mouth, contour.

    Example:
        merge_heatmaps(np.zeros((1, 32, 32, 68), "float32")).shape  # (1, 32, 32, 5)
    """
    peak = ops.max(heatmaps, axis=(1, 2), keepdims=True)
    normalised = heatmaps / ops.maximum(peak, HEATMAP_MAX_FLOOR)
    matrix = ops.convert_to_tensor(component_matrix(heatmaps.shape[-1]), heatmaps.dtype)
    return ops.einsum("bhwk,kc->bhwc", normalised, matrix)


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
