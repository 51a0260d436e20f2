"""The stacked-hourglass landmark detector used to evaluate SR faces."""

import keras
from keras import ops

from dic_tf.layers import StackedHourglass


@keras.saving.register_keras_serializable(package="dic_tf")
class StackedHourglassModel(keras.Model):
    """Stacked hourglass (BatchNorm, 'mean' connections) as a Keras model.

    Inputs: faces [B, H, W, 3] (normalised space), H and W multiples of 64.
    Returns: the last stack's heatmaps [B, H/4, W/4, num_keypoints].
    """

    def __init__(self, num_features=256, num_stacks=4, num_keypoints=68, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.num_stacks = num_stacks
        self.num_keypoints = num_keypoints
        self.network = StackedHourglass(num_features, num_stacks, num_keypoints, name="hg")

    def call(self, images, training=None):
        return self.network(images, training=training)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_features=self.num_features,
            num_stacks=self.num_stacks,
            num_keypoints=self.num_keypoints,
        )
        return config


def build_stacked_hourglass(num_features=256, num_stacks=4, num_keypoints=68, image_size=128):
    """Builds the evaluator with weights created."""
    model = StackedHourglassModel(num_features, num_stacks, num_keypoints)
    model(ops.zeros((1, image_size, image_size, 3)))
    return model
