"""Gaussian ground-truth landmark heatmaps, as the authors' `generate_gt`."""

import numpy as np


def gaussian_heatmaps(landmarks, size=32, stride=4.0, sigma=1.0):
    """One unnormalised Gaussian per landmark on a square grid.

    Heatmap pixel `(row i, col j)` sits at landmark coordinate
    `(x, y) = (j * stride, i * stride)`, and each map is
    `exp(-((j - x / stride)^2 + (i - y / stride)^2) / (2 sigma^2))`, computed in
    float64 like the authors and returned as float32.

    Args:
        landmarks: `[K, 2]` `(x, y)` in image pixels.
        size: heatmap side (the authors use `hr_size // 4`).
        stride: image pixels per heatmap pixel (`hr_size / size`).
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        float32 `[size, size, K]`.

    Example:
        gaussian_heatmaps(landmarks, 32, 4.0, 1.0).shape  # (32, 32, 68)
    """
    points = np.asarray(landmarks, dtype=np.float64) / stride
    grid = np.arange(size)
    dx2 = (grid[None, :] - points[:, 0:1]) ** 2
    dy2 = (grid[None, :] - points[:, 1:2]) ** 2
    d2 = dy2[:, :, None] + dx2[:, None, :]
    return np.exp(-d2 / 2.0 / sigma / sigma).transpose(1, 2, 0).astype(np.float32)
