"""Keras 3 layers of DIC, named after the paper and written with `keras.ops`.

One job a module: `initializers` (PyTorch's default init), `activations`
(PReLU, LeakyReLU), `conv_blocks` (convolution and deconvolution blocks),
`feedback` (the SR branch's feedback blocks), `components` (landmark heatmaps to
facial components), `fusion` (the attentive fusion), `hourglass` (the landmark
networks), `resize` (PyTorch's resamplings) and `preprocessing` (the image
converter). Every layer is registered serializable (`package="dic_tf"`).
"""

from dic_tf.layers.activations import LeakyReLU, PReLU
from dic_tf.layers.components import merge_heatmaps
from dic_tf.layers.conv_blocks import ConvBlock, DeconvBlock
from dic_tf.layers.feedback import AttentiveFeedbackBlock, FeedbackBlock
from dic_tf.layers.fusion import AttentiveFusion, GroupedResidualBlock
from dic_tf.layers.hourglass import (
    FeedbackHourglass,
    Hourglass,
    HourglassStem,
    Linear1x1,
    ResidualBlock,
    StackedHourglass,
)
from dic_tf.layers.initializers import TorchUniform
from dic_tf.layers.preprocessing import FaceImageConverter
from dic_tf.layers.resize import bilinear_upsample, pixel_shuffle

__all__ = [
    "AttentiveFeedbackBlock",
    "AttentiveFusion",
    "ConvBlock",
    "DeconvBlock",
    "FaceImageConverter",
    "FeedbackBlock",
    "FeedbackHourglass",
    "GroupedResidualBlock",
    "Hourglass",
    "HourglassStem",
    "LeakyReLU",
    "Linear1x1",
    "PReLU",
    "ResidualBlock",
    "StackedHourglass",
    "TorchUniform",
    "bilinear_upsample",
    "merge_heatmaps",
    "pixel_shuffle",
]
