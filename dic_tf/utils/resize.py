"""Pillow's bicubic resize, the resampling of the official preparation (numpy and Pillow, no TensorFlow).

The authors make their HR and LR faces with Pillow's `Image.resize(...,
BICUBIC)` (Keys cubic with a = -0.5, antialiased when it shrinks). Every
Pillow bicubic resize of dic_tf goes through `resize_bicubic`: the official
crop and LR (`dic_tf.data.preparation`), the bicubic baseline of evaluate.py,
validation and the export report, predict.py's resizing of face crops, and the
photo pipeline's detection, alignment and paste-back (`dic_tf.photos`).

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


def upscale_bicubic(image, scale):
    """Pillow bicubic enlargement of uint8 `[H, W, C]` to `[scale * H, scale * W, C]` (the bicubic baseline).

    Example:
        >>> upscale_bicubic(np.zeros((16, 12, 3), np.uint8), 8).shape
        (128, 96, 3)
    """
    height, width = image.shape[:2]
    return resize_bicubic(image, (height * scale, width * scale))
