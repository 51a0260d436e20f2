"""PSNR and SSIM under the official DIC test protocol.

The authors' test code (`code/utils/util.py`, `calc_metrics`) evaluates:

1. the Y channel of ITU-R BT.601 computed from uint8 RGB,
   `Y = (65.481 R + 128.553 G + 24.966 B) / 255 + 16`, rounded to uint8;
2. after cropping `border` (= the scale factor, 8) pixels on every side;
3. PSNR with a peak of 255;
4. SSIM with an 11x11 Gaussian window (sigma 1.5), `C1 = (0.01 * 255)^2`,
   `C2 = (0.03 * 255)^2`, averaged over the 'valid' region.

A quirk: the official code multiplies the uint8 Y image by 255 before both
metrics. In uint8 arithmetic `Y * 255 = -Y (mod 256)`, so the official metrics
are computed on `(256 - Y) % 256` instead of `Y`. PSNR is invariant to that
(it only sees differences), SSIM is not: its constants make it depend on the
mean intensity. `ssim_y(..., variant="official")` reproduces the published
numbers, `variant="standard"` is the textbook SSIM on Y.

Everything here works on numpy arrays; batch functions are vectorised over images.
"""

import numpy as np

from dic_tf.utils.image_space import RGB_MEAN, from_model_space

BT601_Y_WEIGHTS = (65.481, 128.553, 24.966)
SSIM_VARIANTS = ("official", "standard")
SSIM_WINDOW_SIZE = 11
SSIM_SIGMA = 1.5
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2
SCORING_BATCH_SIZE = 16
"""Faces per forward pass when a model is scored: evaluate.py's default and validation inside
train.py. oneDNN's float32 convolutions round differently at different batch sizes (the SR of
the same face moves by up to ~3e-7), so both score at this one size (what remains is TensorFlow's
rounding, which varies between calls and between model instances: docs/performance_log.md)."""


def rgb_to_y(images):
    """BT.601 luma of uint8 RGB images, rounded to uint8 (MATLAB `rgb2ycbcr`).

    Args:
        images: uint8 array `(..., H, W, 3)`.

    Returns:
        uint8 array `(..., H, W)`.

    Example:
        y = rgb_to_y(np.zeros((128, 128, 3), np.uint8))  # uint8 (128, 128), all 16
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"rgb_to_y expects uint8 RGB images, got dtype {images.dtype}.")
    if images.ndim < 3 or images.shape[-1] != 3:
        raise ValueError(
            f"rgb_to_y expects RGB images of shape (..., H, W, 3), got {images.shape}."
        )
    y = images.astype(np.float64) @ np.asarray(BT601_Y_WEIGHTS) / 255.0 + 16.0
    return np.round(y).astype(np.uint8)


def normalized_to_uint8(images, mean=RGB_MEAN):
    """Converts model outputs back to uint8 RGB exactly as the authors' test code.

    The network works on RGB in [0, 1] minus the dataset mean. The official
    `get_current_visual` + `quantize` add the mean back, multiply by 255,
    clamp to [0, 255] and round half to even, all in float32
    (`dic_tf.utils.image_space.from_model_space`).

    Args:
        images: float array `(..., H, W, 3)` in the mean-subtracted space.
        mean: the per-channel RGB mean that was subtracted.

    Returns:
        uint8 array `(..., H, W, 3)`.

    Example:
        >>> normalized_to_uint8(np.zeros((1, 2, 2, 3), np.float32))[0, 0, 0]
        array([130, 108,  96], dtype=uint8)
    """
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(
            f"normalized_to_uint8 expects float images, got dtype {images.dtype}."
        )
    if images.ndim < 3 or images.shape[-1] != 3:
        raise ValueError(
            "normalized_to_uint8 expects RGB images of shape (..., H, W, 3), got "
            f"{images.shape}."
        )
    return from_model_space(images.astype(np.float32), "pixels", mean).astype(np.uint8)


def psnr_y(sr, hr, border=8):
    """Official PSNR (dB) on Y of one uint8 RGB pair; `inf` for identical images.

    Args:
        sr: uint8 array `(H, W, 3)`, the super-resolved image.
        hr: uint8 array `(H, W, 3)`, the ground truth.
        border: pixels cropped on every side before measuring (the scale).

    Returns:
        Python float.

    Example:
        psnr_y(sr, hr, border=8)  # dB; inf for identical images
    """
    sr, hr = _as_single(sr, hr, "psnr_y")
    return float(psnr_y_batch(sr[None], hr[None], border=border)[0])


def ssim_y(sr, hr, border=8, variant="official"):
    """SSIM on Y of one uint8 RGB pair.

    Args:
        sr: uint8 array `(H, W, 3)`, the super-resolved image.
        hr: uint8 array `(H, W, 3)`, the ground truth.
        border: pixels cropped on every side before measuring (the scale).
        variant: "official" (on `256 - Y`, reproduces the published numbers)
            or "standard" (textbook SSIM on Y).

    Returns:
        Python float.

    Example:
        ssim_y(sr, hr, border=8, variant="official")
    """
    sr, hr = _as_single(sr, hr, "ssim_y")
    return float(ssim_y_batch(sr[None], hr[None], border=border, variant=variant)[0])


def psnr_y_batch(sr, hr, border=8):
    """Official PSNR (dB) on Y for a batch of uint8 RGB pairs.

    Args:
        sr: uint8 array `(N, H, W, 3)`.
        hr: uint8 array `(N, H, W, 3)`.
        border: pixels cropped on every side.

    Returns:
        float64 array `(N,)`; `inf` where a pair is identical.

    Example:
        psnr_y_batch(sr_batch, hr_batch)  # float64 (N,)
    """
    y_sr, y_hr = _cropped_y_pair(sr, hr, border, "psnr_y_batch")
    mse = np.mean((y_sr - y_hr) ** 2, axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 20.0 * np.log10(255.0 / np.sqrt(mse))


def ssim_y_batch(sr, hr, border=8, variant="official"):
    """SSIM on Y for a batch of uint8 RGB pairs (see `ssim_y`).

    Args:
        sr: uint8 array `(N, H, W, 3)`.
        hr: uint8 array `(N, H, W, 3)`.
        border: pixels cropped on every side.
        variant: "official" or "standard".

    Returns:
        float64 array `(N,)`.

    Example:
        ssim_y_batch(sr_batch, hr_batch)  # float64 (N,)
    """
    if variant not in SSIM_VARIANTS:
        raise ValueError(f"Unknown SSIM variant {variant!r}; expected one of {SSIM_VARIANTS}.")
    y_sr, y_hr = _cropped_y_pair(sr, hr, border, "ssim_y_batch")
    if min(y_sr.shape[1:]) < SSIM_WINDOW_SIZE:
        raise ValueError(
            f"ssim_y_batch: the cropped Y images are {y_sr.shape[1:]}, smaller than the "
            f"{SSIM_WINDOW_SIZE}x{SSIM_WINDOW_SIZE} SSIM window (border={border})."
        )
    if variant == "official":
        y_sr = np.mod(256.0 - y_sr, 256.0)
        y_hr = np.mod(256.0 - y_hr, 256.0)
    return _ssim_valid(y_sr, y_hr)


def gaussian_window(size=SSIM_WINDOW_SIZE, sigma=SSIM_SIGMA):
    """Normalised 1-D Gaussian taps (as `cv2.getGaussianKernel(size, sigma)`).

    Returns:
        float64 array `(size,)` summing to 1.

    Example:
        gaussian_window().shape  # (11, 11), sums to 1
    """
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    taps = np.exp(-(x**2) / (2.0 * sigma**2))
    return taps / taps.sum()


def _filter_valid(images, taps):
    """Separable 'valid' correlation of `(N, H, W)` images with `taps` on both axes."""
    windows = np.lib.stride_tricks.sliding_window_view(images, taps.size, axis=2)
    rows = windows @ taps
    windows = np.lib.stride_tricks.sliding_window_view(rows, taps.size, axis=1)
    return windows @ taps


def _ssim_valid(a, b):
    """Mean SSIM map over the 'valid' region of float64 `(N, H, W)` images."""
    taps = gaussian_window()
    mu_a = _filter_valid(a, taps)
    mu_b = _filter_valid(b, taps)
    var_a = _filter_valid(a * a, taps) - mu_a**2
    var_b = _filter_valid(b * b, taps) - mu_b**2
    cov = _filter_valid(a * b, taps) - mu_a * mu_b
    ssim_map = ((2.0 * mu_a * mu_b + _C1) * (2.0 * cov + _C2)) / (
        (mu_a**2 + mu_b**2 + _C1) * (var_a + var_b + _C2)
    )
    return ssim_map.mean(axis=(1, 2))


def _as_single(sr, hr, name):
    """Checks that `sr` and `hr` are single `(H, W, 3)` images; returns arrays."""
    sr = np.asarray(sr)
    hr = np.asarray(hr)
    for label, image in (("sr", sr), ("hr", hr)):
        if image.ndim != 3:
            raise ValueError(
                f"{name} expects one (H, W, 3) image for `{label}`, got shape "
                f"{image.shape}; use {name}_batch for batches."
            )
    return sr, hr


def _cropped_y_pair(sr, hr, border, name):
    """Validates a batch pair and returns the cropped float64 Y images `(N, h, w)`."""
    sr = np.asarray(sr)
    hr = np.asarray(hr)
    for label, image in (("sr", sr), ("hr", hr)):
        if image.dtype != np.uint8:
            raise TypeError(
                f"{name}: `{label}` must be uint8 RGB, got dtype {image.dtype} "
                f"(shape {image.shape}); convert model outputs with normalized_to_uint8."
            )
        if image.ndim != 4 or image.shape[-1] != 3:
            raise ValueError(
                f"{name}: `{label}` must have shape (N, H, W, 3), got {image.shape}."
            )
    if sr.shape != hr.shape:
        raise ValueError(f"{name}: sr shape {sr.shape} does not match hr shape {hr.shape}.")
    height, width = sr.shape[1:3]
    if border < 0 or 2 * border >= min(height, width):
        raise ValueError(
            f"{name}: border={border} is invalid for {height}x{width} images "
            "(need 0 <= 2 * border < min(H, W))."
        )
    crop = (slice(None), slice(border, height - border), slice(border, width - border))
    return (
        rgb_to_y(sr)[crop].astype(np.float64),
        rgb_to_y(hr)[crop].astype(np.float64),
    )
