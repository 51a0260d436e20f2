"""Resampling helpers with PyTorch's exact semantics, valid for dynamic shapes.

`keras.ops.image.resize` needs static output sizes on TensorFlow and has no
`align_corners=True` mode, so the two resamplings DIC needs are written as
gathers plus linear interpolation along each spatial axis. A static length's
source positions are numpy constants (the same float32 arithmetic), so a traced
step holds three constants per resampled axis instead of a dozen ops.
"""

import numpy as np
from keras import ops


def _source_coordinates(in_size, factor, align_corners):
    """Source sample positions of an integer upsampling along one axis.

    Args:
        in_size: int (static: numpy results) or scalar int tensor, the input length.
        factor: int, the upsampling factor.
        align_corners: bool, PyTorch's `align_corners`.

    Returns:
        (lower, upper, weight): int32 indices [out] into the input and the
        float32 weight [out] of `upper`.
    """
    if isinstance(in_size, int):  # numpy float32: the same arithmetic, as constants
        out_idx = np.arange(in_size * factor).astype(np.float32)
        lower, upper, weight = _positions(np, out_idx, np.float32(in_size), factor, align_corners)
        return lower.astype(np.int32), upper.astype(np.int32), weight
    out_idx = ops.cast(ops.arange(in_size * factor), "float32")
    lower, upper, weight = _positions(ops, out_idx, ops.cast(in_size, "float32"), factor, align_corners)
    return ops.cast(lower, "int32"), ops.cast(upper, "int32"), weight


def _positions(xp, out_idx, in_size, factor, align_corners):
    """PyTorch's source positions in float32 with `xp` = numpy or keras.ops: (lower, upper, weight)."""
    if align_corners:
        src = out_idx * ((in_size - 1.0) / xp.maximum(in_size * factor - 1.0, 1.0))
    else:
        src = xp.maximum((out_idx + 0.5) / factor - 0.5, 0.0)
    lower = xp.minimum(xp.floor(src), in_size - 1.0)
    upper = xp.minimum(lower + 1.0, in_size - 1.0)
    return lower, upper, src - lower


def _upsample_axis(x, axis, factor, align_corners):
    in_size = x.shape[axis] if x.shape[axis] is not None else ops.shape(x)[axis]
    lower, upper, weight = _source_coordinates(in_size, factor, align_corners)
    shape = [1, 1, 1, 1]
    shape[axis] = -1
    weight = ops.cast(ops.reshape(weight, shape), x.dtype)
    x_lower = ops.take(x, lower, axis=axis)
    x_upper = ops.take(x, upper, axis=axis)
    return x_lower + (x_upper - x_lower) * weight


def bilinear_upsample(x, factor, align_corners):
    """Bilinear upsampling by an integer factor, as `F.interpolate` (no antialias).

    Args:
        x: tensor [B, H, W, C].
        factor: int upsampling factor.
        align_corners: bool, PyTorch's `align_corners` flag.

    Returns:
        Tensor [B, H * factor, W * factor, C].

    Example:
        y = bilinear_upsample(np.zeros((1, 16, 16, 3), "float32"), 8, align_corners=False)  # (1, 128, 128, 3)
    """
    x = _upsample_axis(x, 1, factor, align_corners)
    return _upsample_axis(x, 2, factor, align_corners)


def pixel_shuffle(x, block_size):
    """Depth-to-space with TensorFlow's channel order `(i * r + j) * C + c`.

    PyTorch's `PixelShuffle` orders channels `c * r * r + i * r + j`; the weight
    converter permutes the producing convolution's filters so both agree.

    Args:
        x: tensor [B, H, W, C * r * r].
        block_size: int r.

    Returns:
        Tensor [B, H * r, W * r, C].

    Example:
        y = pixel_shuffle(np.zeros((1, 16, 16, 12), "float32"), 2)  # (1, 32, 32, 3)
    """
    shape = ops.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    channels = x.shape[-1] // (block_size * block_size)
    x = ops.reshape(x, (batch, height, width, block_size, block_size, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (batch, height * block_size, width * block_size, channels))
