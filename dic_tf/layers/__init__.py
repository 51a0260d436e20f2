"""Keras 3 layers of DIC, named after the paper and written with `keras.ops`."""

from dic_tf.layers.conv import ConvBlock, DeconvBlock
from dic_tf.layers.feedback import AttentiveFeedbackBlock, FeedbackBlock
from dic_tf.layers.fusion import AttentiveFusion, GroupedResidualBlock, merge_heatmaps
from dic_tf.layers.hourglass import (
    FeedbackHourglass,
    Hourglass,
    Linear1x1,
    ResidualBlock,
    StackedHourglass,
)
from dic_tf.layers.resize import bilinear_upsample, pixel_shuffle

__all__ = [
    "AttentiveFeedbackBlock",
    "AttentiveFusion",
    "ConvBlock",
    "DeconvBlock",
    "FeedbackBlock",
    "FeedbackHourglass",
    "GroupedResidualBlock",
    "Hourglass",
    "Linear1x1",
    "ResidualBlock",
    "StackedHourglass",
    "bilinear_upsample",
    "merge_heatmaps",
    "pixel_shuffle",
]
