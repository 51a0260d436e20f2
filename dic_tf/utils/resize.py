"""Pillow's bicubic resize, the resampling of the official preparation (numpy and Pillow, no TensorFlow).

The authors make their HR and LR faces with Pillow's `Image.resize(...,
BICUBIC)` (Keys cubic with a = -0.5, antialiased when it shrinks). Every
Pillow bicubic resize of dic_tf goes through `resize_bicubic`: the official
crop and LR (`dic_tf.data.preparation`), the bicubic baseline of evaluate.py,
validation and the export report, predict.py's resizing of face crops, and the
photo pipeline's detection, alignment and paste-back (`dic_tf.photos`).
`resize_with` offers Pillow's other resamplers, for measuring how a model
copes with downsampling it was not trained on (`dic_tf.photos.measurement`).

Example:
    lr = resize_bicubic(hr, 16)             # uint8 [16, 16, 3]
    baseline = upscale_bicubic(lr, 8)       # uint8 [128, 128, 3]
"""

import numpy as np
from PIL import Image


def resize_bicubic(image, size, box=None):
    """Pillow bicubic resize of a uint8 image.

    Args:
        image: uint8 `[H, W, C]` (or `[H, W]`).
        size: side of a square output, or `(height, width)`.
        box: optional source region `(left, upper, right, lower)` in pixels
            (fractions allowed), as Pillow's `Image.resize(box=...)`; default
            the whole image.

    Returns:
        uint8 `[height, width, C]` (a new, writable array).

    Example:
        >>> resize_bicubic(np.zeros((128, 128, 3), np.uint8), 16).shape
        (16, 16, 3)
        >>> resize_bicubic(np.zeros((10, 20, 3), np.uint8), (5, 8)).shape
        (5, 8, 3)
    """
    height, width = (size, size) if np.ndim(size) == 0 else size
    resized = Image.fromarray(np.ascontiguousarray(image)).resize((int(width), int(height)), Image.BICUBIC, box=box)
    return np.array(resized)


RESAMPLERS = {
    "bicubic": Image.BICUBIC,
    "bilinear": Image.BILINEAR,
    "lanczos": Image.LANCZOS,
    "area": Image.BOX,
}
"""Pillow resamplers by name; "area" is Pillow's BOX (the mean of the covered pixels when shrinking)."""


def resize_with(image, size, resampler):
    """Pillow resize of a uint8 image with one of `RESAMPLERS`.

    Args:
        image: uint8 `[H, W, C]` (or `[H, W]`).
        size: side of a square output, or `(height, width)`.
        resampler: a key of `RESAMPLERS`.

    Returns:
        uint8 `[height, width, C]`.

    Example:
        >>> resize_with(np.zeros((64, 64, 3), np.uint8), 16, "area").shape
        (16, 16, 3)
    """
    if resampler not in RESAMPLERS:
        raise ValueError(f"resampler={resampler!r}: expected one of {', '.join(RESAMPLERS)}.")
    height, width = (size, size) if np.ndim(size) == 0 else size
    resized = Image.fromarray(np.ascontiguousarray(image)).resize((int(width), int(height)), RESAMPLERS[resampler])
    return np.array(resized)


def upscale_bicubic(image, scale):
    """Pillow bicubic enlargement of uint8 `[H, W, C]` to `[scale * H, scale * W, C]` (the bicubic baseline).

    Example:
        >>> upscale_bicubic(np.zeros((16, 12, 3), np.uint8), 8).shape
        (128, 96, 3)
    """
    height, width = image.shape[:2]
    return resize_bicubic(image, (height * scale, width * scale))
