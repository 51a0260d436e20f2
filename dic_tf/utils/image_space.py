"""DIC's image space: RGB in [0, 1] minus the training mean, and back (numpy-level).

The network works on RGB in [0, 1] minus `RGB_MEAN` (`x / 255 - RGB_MEAN`
for 8-bit pixels); its SR outputs live in the same space. `to_model_space`
and `from_model_space` are the one definition of that conversion. They use
arithmetic operators only (plus `xp.clip`/`xp.round`), so they apply unchanged
to numpy arrays (numpy pipelines, metrics, evaluation), TensorFlow tensors
(`tf.data` maps) and Keras tensors on any backend; the Keras layer that owns
them is `dic_tf.layers.preprocessing.FaceImageConverter`. This module imports
neither TensorFlow nor Keras, so the numpy pipelines and the metrics stay light.
"""

import numpy as np

# RGB mean of the training faces; the network works on RGB in [0, 1] minus it.
RGB_MEAN = (0.509, 0.424, 0.378)

PIXEL_MAX = 255.0
VALUE_RANGES = ("pixels", "unit")


def check_value_range(value_range):
    """Raises ValueError unless `value_range` is one of `VALUE_RANGES`.

    Example:
        check_value_range("unit")  # passes; "uint8" raises ValueError
    """
    if value_range not in VALUE_RANGES:
        raise ValueError(f"Unknown value_range {value_range!r}; expected one of {VALUE_RANGES}.")


def to_model_space(images, value_range="pixels", mean=RGB_MEAN):
    """float32 RGB images -> DIC's input space.

    Args:
        images: float32 array or tensor `(..., 3)`, RGB in [0, 255]
            (`value_range="pixels"`) or in [0, 1] (`"unit"`).
        value_range: "pixels" or "unit".
        mean: per-channel RGB mean subtracted after scaling to [0, 1].

    Returns:
        float32 `(..., 3)`: `images / 255 - mean` ("pixels") or `images - mean`.

    Example:
        >>> to_model_space(np.full((1, 16, 16, 3), 255.0, np.float32))[0, 0, 0]
        array([0.491, 0.576, 0.622], dtype=float32)
    """
    check_value_range(value_range)
    if value_range == "pixels":
        images = images / PIXEL_MAX
    return images - np.asarray(mean, np.float32)


def from_model_space(images, value_range="pixels", mean=RGB_MEAN, xp=np):
    """DIC's image space -> RGB, clipped to the value range, as the authors' test code.

    "pixels" follows `get_current_visual` + `quantize`: add the mean back,
    multiply by 255, clamp to [0, 255] and round half to even, in float32.
    "unit" adds the mean back and clamps to [0, 1].

    Args:
        images: float32 array or tensor `(..., 3)` in the model space.
        value_range: "pixels" or "unit".
        mean: the per-channel RGB mean that was subtracted.
        xp: the namespace providing `clip` and `round` for `images`
            (`numpy`, or `keras.ops` for backend tensors).

    Returns:
        float32 `(..., 3)`: whole numbers in [0, 255] ("pixels") or values in [0, 1].

    Example:
        >>> from_model_space(np.zeros((1, 3), np.float32))
        array([[130., 108.,  96.]], dtype=float32)
    """
    check_value_range(value_range)
    images = images + np.asarray(mean, np.float32)
    if value_range == "pixels":
        return xp.round(xp.clip(images * PIXEL_MAX, 0.0, PIXEL_MAX))
    return xp.clip(images, 0.0, 1.0)


def pixels_to_model_space(images):
    """uint8 (or float) RGB numpy images in [0, 255] -> float32 model space.

    Example:
        >>> pixels_to_model_space(np.zeros((2, 16, 16, 3), np.uint8)).shape
        (2, 16, 16, 3)
    """
    return to_model_space(np.asarray(images, np.float32))
