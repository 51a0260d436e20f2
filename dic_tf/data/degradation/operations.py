"""The operations of the degradation and the draw that chains them: `degrade`, `make_lr`.

Filtering, resizing and JPEG are OpenCV's (`cv2.filter2D` with reflected
borders, `cv2.resize`, `cv2.imencode`); noise and every draw come from the
`np.random.Generator` passed in (no global state, safe on the parallel
threads of tf.data's map). Images between the operations are float32
`[H, W, 3]` in [0, 1].

Example:
    rng = degradation_rng(seed=0, epoch=0, position=5)
    lr = make_lr(hr, 8, RealDegradation(), rng)                 # uint8 [16, 16, 3]
    lr, record = degrade(hr, 8, RealDegradation(), degradation_rng(0, 0, 5))
"""

import math

import cv2
import numpy as np

from dic_tf.data import preparation
from dic_tf.data.degradation import kernels, options
from dic_tf.data.degradation.options import RESIZE_DIRECTIONS, RESIZE_MODES, round_fields

_INTERPOLATIONS = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
_GREY_WEIGHTS = np.array([0.2989, 0.587, 0.114], np.float32)  # torchvision's rgb_to_grayscale


def blur(image, kernel):
    """Filters float32 `[H, W, 3]` with `kernel` (reflected borders, as Real-ESRGAN's filter2D)."""
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def resize(image, side, mode):
    """Resizes float32 `[H, W, 3]` to `[side, side, 3]` with a mode of `RESIZE_MODES` (OpenCV's)."""
    return cv2.resize(image, (side, side), interpolation=_INTERPOLATIONS[mode])


def add_gaussian_noise(image, sigma, gray, rng):
    """Adds N(0, (sigma / 255)^2) noise (the same on every channel if `gray`) to [0, 1] float32, clipped."""
    shape = image.shape[:2] + (1,) if gray else image.shape
    noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma / 255)
    return np.clip(image + noise, 0, 1)


def add_poisson_noise(image, scale, gray, rng):
    """Adds Real-ESRGAN's Poisson noise, `scale` x (Poisson(x n) / n - x), to [0, 1] float32, clipped.

    `x` is the image rounded to 8 bits (its grey level if `gray`) and `n` its
    number of distinct values rounded up to a power of 2.
    """
    source = image @ _GREY_WEIGHTS[:, None] if gray else image
    source = np.clip(np.round(source * 255), 0, 255) / 255
    levels = 2 ** math.ceil(math.log2(len(np.unique(source))))
    noise = (rng.poisson(source * levels) / levels - source).astype(np.float32)
    return np.clip(image + noise * np.float32(scale), 0, 1)


def encode_jpeg(image, quality):
    """JPEG bytes of uint8 RGB `[H, W, 3]` at `quality` (OpenCV, 4:2:0 chroma)."""
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"JPEG encoding of a {image.shape} image failed")
    return data.tobytes()


def jpeg(image, quality):
    """JPEG-compresses [0, 1] float32 `[H, W, 3]` at `quality` (clipped and rounded to 8 bits first)."""
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    decoded = cv2.imdecode(np.frombuffer(encode_jpeg(pixels, quality), np.uint8), cv2.IMREAD_COLOR)
    return decoded[..., ::-1].astype(np.float32) / 255


def _draw_mode(rng, config):
    probabilities = np.asarray(config.resize_mode_prob)
    return RESIZE_MODES[rng.choice(len(RESIZE_MODES), p=probabilities / probabilities.sum())]


def _draw_factor(rng, probabilities, factor_range):
    probabilities = np.asarray(probabilities)
    direction = RESIZE_DIRECTIONS[rng.choice(3, p=probabilities / probabilities.sum())]
    lo, hi = factor_range
    factor = rng.uniform(1, hi) if direction == "up" else rng.uniform(lo, 1) if direction == "down" else 1.0
    return direction, factor


def _round_operations(config, side, lr_side, second):
    """The blur, resize and noise of one degradation round, as `(image, rng) -> (image, records)`."""
    c, r, name = config, round_fields(config, second), "second" if second else "first"

    def blur_op(image, rng):
        if second and not rng.random() < c.second_blur_prob:
            return image, []
        kernel, parameters = kernels.random_kernel(rng, c, second)
        return blur(image, kernel), [{"op": "blur", "round": name, **parameters, "kernel": kernel}]

    def resize_op(image, rng):
        direction, factor = _draw_factor(rng, r["resize_prob"], r["resize_range"])
        target = max(c.min_side, int((lr_side if second else side) * factor))
        mode = _draw_mode(rng, c)
        return resize(image, target, mode), [{"op": "resize", "round": name, "direction": direction,
                                               "factor": factor, "mode": mode, "size": target}]

    def noise_op(image, rng):
        gaussian = rng.random() < r["gaussian_noise_prob"]
        amount = rng.uniform(*r["noise_range" if gaussian else "poisson_scale_range"])
        gray = bool(rng.random() < r["gray_noise_prob"])
        if gaussian:
            return add_gaussian_noise(image, amount, gray, rng), [
                {"op": "noise", "round": name, "kind": "gaussian", "sigma": amount, "gray": gray}]
        return add_poisson_noise(image, amount, gray, rng), [
            {"op": "noise", "round": name, "kind": "poisson", "scale": amount, "gray": gray}]

    return [blur_op, resize_op, noise_op]


def degrade(hr, scale, config, rng):
    """Draws and applies the high-order degradation; returns the LR and what was applied.

    Args:
        hr: uint8 `[S, S, 3]` with `S` divisible by `scale`.
        scale: HR / LR side ratio.
        config: `RealDegradation`.
        rng: `np.random.Generator`, the only source of randomness.

    Returns:
        `(lr, record)`: uint8 `[S / scale, S / scale, 3]`, and a list with a
        dict per applied operation in order: `op` (blur, resize, noise, jpeg,
        sinc), `round` (first, second, final) and its drawn parameters (blur:
        `kernel_type`, `size`, `sigma_x`, `sigma_y`, `theta`, `beta` or
        `cutoff`, and the `kernel`; resize: `direction`, `factor`, `mode`,
        `size`; noise: `kind`, `sigma` or `scale`, `gray`; jpeg: `quality`).
        A sample that keeps the clean LR (`clean_prob`) has the record
        `[{"op": "bicubic", "round": "clean"}]` and the bytes of
        `preparation.make_lr`; its degradation is still drawn (and dropped).

    Example:
        lr, record = degrade(hr, 8, RealDegradation(), np.random.default_rng(0))
        [r["op"] for r in record]  # e.g. ['blur', 'resize', 'noise', 'jpeg', 'blur', ...]
    """
    side = hr.shape[0]
    if hr.shape != (side, side, 3) or side % scale:
        raise ValueError(f"degrade: hr has shape {hr.shape}, expected square [S, S, 3] with S divisible by {scale}")
    c, lr_side = config, side // scale
    operations = _round_operations(c, side, lr_side, False) + _round_operations(c, side, lr_side, True)
    if rng.random() < c.shuffle_prob:
        operations = [operations[i] for i in rng.permutation(len(operations))]

    def jpeg_op(name, quality_range):
        def apply(image, rng):
            quality = int(rng.integers(quality_range[0], quality_range[1] + 1))
            return jpeg(image, quality), [{"op": "jpeg", "round": name, "quality": quality}]
        return apply

    def resize_sinc_op(image, rng):
        mode = _draw_mode(rng, c)
        image, records = resize(image, lr_side, mode), [{"op": "resize", "round": "final", "mode": mode,
                                                         "size": lr_side}]
        if rng.random() < c.final_sinc_prob:
            kernel, parameters = kernels.final_sinc_kernel(rng, c)
            image = blur(image, kernel)
            records.append({"op": "sinc", "round": "final", **parameters, "kernel": kernel})
        return image, records

    final = [resize_sinc_op, jpeg_op("final", c.jpeg_range2)]
    if not rng.random() < c.final_resize_first_prob:
        final.reverse()
    image, record = hr.astype(np.float32) / 255, []
    for operation in operations[:3] + [jpeg_op("first", c.jpeg_range)] + operations[3:] + final:
        image, applied = operation(image, rng)
        record.extend(applied)
    # The clean-LR coin comes last, so that the degraded samples of a mixture are exactly those of clean_prob=0.
    if c.clean_prob and rng.random() < c.clean_prob:
        return preparation.make_lr(hr, scale), [{"op": "bicubic", "round": "clean"}]
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8), record


def degradation_rng(seed, epoch, position):
    """The degradation generator of the sample at `position` of `epoch` (apart from `sample.sample_rng`).

    Example:
        rng = degradation_rng(seed=0, epoch=1, position=5)
    """
    return np.random.default_rng([seed, epoch, position, 2])


def make_lr(hr, scale=preparation.SCALE, degradation=None, rng=None):
    """The LR of an HR face: `preparation.make_lr` (bicubic), or a drawn real-world degradation.

    Args:
        hr: uint8 `[S, S, 3]`.
        scale: HR / LR side ratio.
        degradation: None, "bicubic", "real" or a `RealDegradation`.
        rng: `np.random.Generator`, required with a real degradation.

    Returns:
        uint8 `[S / scale, S / scale, 3]`.

    Example:
        lr = make_lr(hr, 8, RealDegradation(), degradation_rng(0, 0, 5))
    """
    degradation = options.resolve(degradation)
    if degradation is None:
        return preparation.make_lr(hr, scale)
    return degrade(hr, scale, degradation, rng)[0]
