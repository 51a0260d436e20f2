"""`FaceImageConverter`: the Keras layer that converts faces to DIC's image space and back.

In the spirit of keras-hub's `ImageConverter`: the model's input
normalisation as a layer, with `get_config`, usable on any backend. The
arithmetic is `dic_tf.utils.image_space` (the one definition, shared with the numpy
pipelines and the metrics).
"""

import keras
from keras import ops

from dic_tf.utils.image_space import RGB_MEAN, check_value_range, from_model_space, to_model_space


@keras.saving.register_keras_serializable(package="dic_tf")
class FaceImageConverter(keras.layers.Layer):
    """Converts RGB faces to DIC's input space (`call`) and SR outputs back (`invert`).

    The image converter of DIC, in the spirit of keras-hub's `ImageConverter`:
    the one place that knows the model's input normalisation. It has no
    weights; exported graphs that call it carry the conversion in-graph.

    Args:
        value_range: "pixels" (inputs in [0, 255], e.g. uint8) or "unit"
            (float inputs in [0, 1]); `invert` returns the same range.
        mean: per-channel RGB mean of the training faces.

    Shapes: `call`: [B, H, W, 3] in `value_range` -> float32 [B, H, W, 3] in
    the model space; `invert`: float32 [B, H', W', 3] in the model space ->
    float32 [B, H', W', 3] in `value_range`, clipped (and rounded for "pixels").

    Example:
        >>> import numpy as np
        >>> converter = FaceImageConverter(value_range="unit")
        >>> lr = converter(np.full((1, 16, 16, 3), 0.5, np.float32))
        >>> sr = converter.invert(model(lr)["sr"][-1])  # doctest: +SKIP
    """

    def __init__(self, value_range="pixels", mean=RGB_MEAN, **kwargs):
        super().__init__(**kwargs)
        check_value_range(value_range)
        self.value_range = value_range
        self.mean = tuple(float(m) for m in mean)

    def call(self, images):
        return to_model_space(ops.cast(images, "float32"), self.value_range, self.mean)

    def invert(self, images):
        """Model-space images -> RGB in `value_range` (see `from_model_space`)."""
        return from_model_space(ops.cast(images, "float32"), self.value_range, self.mean, xp=ops)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, mean=self.mean)
        return config
