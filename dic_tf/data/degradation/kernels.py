"""The blur kernels of the degradation, drawn from a caller's `np.random.Generator`.

Real-ESRGAN's kernels (Wang et al., ICCVW 2021): (generalized) Gaussian and
plateau kernels, isotropic or rotated anisotropic, and the circular sinc
low-pass, whose Bessel J1 is a rational approximation (SciPy is not a
dependency). OpenCV has no generalized-Gaussian, plateau or circular-sinc
kernel generator, and BasicSR draws from the global `random` state.

Example:
    kernel, parameters = random_kernel(np.random.default_rng(0), RealDegradation())
    kernel.shape  # (size, size), float64 summing to 1
"""

import math

import numpy as np

from dic_tf.data.degradation.options import KERNEL_TYPES, round_fields


def bessel_j1(x):
    """The Bessel function J1 (rational approximations, |error| < 1e-7; Numerical Recipes' bessj1).

    Example:
        bessel_j1(np.array([1.0]))  # [0.44005059]
    """
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    y = x * x
    small = x * (72362614232.0 + y * (-7895059235.0 + y * (242396853.1 + y * (
        -2972611.439 + y * (15704.48260 + y * -30.16036606))))) / (
        144725228442.0 + y * (2300535178.0 + y * (18583304.74 + y * (
            99447.43394 + y * (376.9991397 + y)))))
    z = 8.0 / np.maximum(ax, 8.0)
    y = z * z
    shifted = ax - 2.356194491
    p = 1.0 + y * (0.183105e-2 + y * (-0.3516396496e-4 + y * (0.2457520174e-5 + y * -0.240337019e-6)))
    q = 0.04687499995 + y * (-0.2002690873e-3 + y * (0.8449199096e-5 + y * (
        -0.88228987e-6 + y * 0.105787412e-6)))
    large = np.sqrt(0.636619772 / np.maximum(ax, 8.0)) * (np.cos(shifted) * p - z * np.sin(shifted) * q)
    return np.where(ax < 8.0, small, np.sign(x) * large)


def _grid(size):
    offsets = np.arange(size, dtype=np.float64) - size // 2
    return np.meshgrid(offsets, offsets)


def bivariate_kernel(size, sigma_x, sigma_y, theta, beta=1.0, plateau=False):
    """Real-ESRGAN's (generalized) Gaussian or plateau kernel, normalised to sum 1.

    With `q = d^T inv(R diag(sigma_x^2, sigma_y^2) R^T) d` at the offset `d`
    from the centre (`R` the rotation by `theta`): `exp(-q^beta / 2)`
    (beta = 1: the Gaussian), or the plateau `1 / (1 + q^beta)`.

    Returns:
        float64 `[size, size]`.

    Example:
        bivariate_kernel(21, 2.0, 1.0, 0.5)  # an anisotropic Gaussian
    """
    xx, yy = _grid(size)
    cos, sin = math.cos(theta), math.sin(theta)
    u = xx * cos + yy * sin  # coordinates along the rotated axes
    v = -xx * sin + yy * cos
    q = (u / sigma_x) ** 2 + (v / sigma_y) ** 2
    kernel = 1 / (1 + q**beta) if plateau else np.exp(-0.5 * q**beta)
    return kernel / kernel.sum()


def circular_lowpass_kernel(cutoff, size):
    """The 2-D sinc kernel `cutoff J1(cutoff r) / (2 pi r)`, normalised to sum 1.

    Args:
        cutoff: cutoff frequency in radians per pixel (pi: Nyquist).
        size: odd kernel side.

    Returns:
        float64 `[size, size]`.

    Example:
        circular_lowpass_kernel(np.pi / 3, 13)
    """
    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    safe = np.where(r == 0, 1.0, r)
    kernel = np.where(r == 0, cutoff**2 / (4 * np.pi), cutoff * bessel_j1(cutoff * safe) / (2 * np.pi * safe))
    return kernel / kernel.sum()


def _split_beta(rng, beta_range):
    """Real-ESRGAN's beta: below or above 1 with probability 1/2 each."""
    lo, hi = beta_range
    one = min(max(1.0, lo), hi)
    return rng.uniform(lo, one) if rng.random() < 0.5 else rng.uniform(one, hi)


def _odd_size(rng, size_range):
    lo, hi = size_range
    return int(lo + 2 * rng.integers(0, (hi - lo) // 2 + 1))


def random_kernel(rng, config, second=False):
    """Draws a blur kernel of the first (or second) degradation; returns `(kernel, parameters)`."""
    c, r = config, round_fields(config, second)
    size = _odd_size(rng, c.kernel_range)
    if rng.random() < r["sinc_prob"]:
        cutoff = rng.uniform(*(c.sinc_cutoff_range if size < c.sinc_large_kernel else c.sinc_cutoff_range_large))
        return circular_lowpass_kernel(cutoff, size), {"kernel_type": "sinc", "size": size, "cutoff": cutoff}
    probabilities = np.asarray(r["kernel_prob"])
    kernel_type = KERNEL_TYPES[rng.choice(len(KERNEL_TYPES), p=probabilities / probabilities.sum())]
    sigma_range = r["blur_sigma"]
    sigma_x = sigma_y = rng.uniform(*sigma_range)
    theta, beta = 0.0, 1.0
    if kernel_type.endswith("aniso"):
        sigma_y, theta = rng.uniform(*sigma_range), rng.uniform(*c.rotation_range)
    if kernel_type.startswith("generalized"):
        beta = _split_beta(rng, r["betag_range"])
    elif kernel_type.startswith("plateau"):
        beta = _split_beta(rng, r["betap_range"])
    kernel = bivariate_kernel(size, sigma_x, sigma_y, theta, beta, kernel_type.startswith("plateau"))
    return kernel, {"kernel_type": kernel_type, "size": size, "sigma_x": sigma_x, "sigma_y": sigma_y,
                    "theta": theta, "beta": beta}


def final_sinc_kernel(rng, config):
    """Draws the sinc kernel of the final step (on the LR); returns `(kernel, {"size", "cutoff"})`."""
    size = _odd_size(rng, config.final_sinc_kernel_range)
    cutoff = rng.uniform(*config.final_sinc_cutoff_range)
    return circular_lowpass_kernel(cutoff, size), {"size": size, "cutoff": cutoff}
