"""Real-world degradations: the LR of a training face from its HR (numpy + OpenCV).

`make_lr(hr, scale)` is the paper's clean LR (Pillow bicubic, exactly
`preparation.make_lr`); `make_lr(hr, scale, RealDegradation(), rng)` draws
Real-ESRGAN's high-order degradation (Wang et al., ICCVW 2021,
`realesrgan_x4plus`), optionally in BSRGAN's shuffled order (Zhang et al.,
ICCV 2021), so that DIC learns the JPEG, blur, noise and unknown resamplers of
real photos. The order of operations, every field and its source are in
docs/degradation.md:

    first:  blur -> resize (HR * f) -> noise -> JPEG
    second: blur (p=0.8) -> resize (LR * f) -> noise
    final:  [resize to LR + sinc (p=0.8)] and JPEG, in a random order
    shuffled (p=shuffle_prob): the six blur/resize/noise operations in a random
            permutation, the first JPEG after the third, the final step last.
    clean (p=clean_prob, 0 by default): the clean bicubic LR instead.

Sizes are relative to the HR side `S`, so the operations can be permuted, and
never fall below `min_side`. Real-ESRGAN's lengths in HR pixels (blur sigma,
kernel size) are doubled and its cutoffs in radians per HR pixel halved, so
that they are the same in LR pixels at x8 as Real-ESRGAN's at x4; the final
sinc acts on the LR and keeps Real-ESRGAN's values.

Determinism: every draw comes from the `np.random.Generator` passed in (no
global state, safe on the parallel threads of tf.data's map); the input
pipelines pass `degradation_rng(seed, epoch, position)`, so a sample's LR
depends only on the data seed, the epoch and its position in the epoch.

Written here rather than taken from a library: the kernels (OpenCV has no
generalized-Gaussian, plateau or circular-sinc kernel generator, and none
drawing from a caller's generator; albumentations and BasicSR draw from the
global `random`/`np.random` state, which breaks the `(seed, step, index)`
determinism) and the Bessel J1 of the sinc kernel (a rational approximation,
so that SciPy is not a dependency). Filtering, resizing and JPEG are OpenCV's
(`cv2.filter2D` with reflected borders, `cv2.resize`, `cv2.imencode`).

Example:
    rng = degradation_rng(seed=0, epoch=0, position=5)
    lr = make_lr(hr, 8, RealDegradation(), rng)                 # uint8 [16, 16, 3]
    lr, record = degrade(hr, 8, RealDegradation.from_overrides("jpeg_range=40:90"), rng)
"""

import dataclasses
import math

import cv2
import numpy as np

from dic_tf.data import preparation

DEGRADATIONS = ("bicubic", "real")
KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_DIRECTIONS = ("up", "down", "keep")
RESIZE_MODES = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}
_GREY_WEIGHTS = np.array([0.2989, 0.587, 0.114], np.float32)  # torchvision's rgb_to_grayscale


def _probability(default):
    return dataclasses.field(default=default, metadata={
        "expected": "a probability in [0, 1]", "check": lambda p: 0 <= p <= 1})


def _choice(default, names):
    return dataclasses.field(default=default, metadata={
        "expected": f"{len(names)} probabilities {':'.join(names)} in [0, 1] summing to 1",
        "check": lambda p: len(p) == len(names) and all(0 <= x <= 1 for x in p) and abs(sum(p) - 1) <= 1e-6})


def _range(default, expected, check):
    return dataclasses.field(default=default, metadata={
        "expected": f"lo:hi with {expected}", "check": lambda r: len(r) == 2 and r[0] <= r[1] and check(*r)})


def _kernel_range(default):
    return _range(default, "odd sizes 1 <= lo <= hi", lambda lo, hi: lo >= 1 and lo % 2 == 1 and hi % 2 == 1)


def _positive(default):
    return _range(default, "0 < lo <= hi", lambda lo, hi: lo > 0)


def _non_negative(default):
    return _range(default, "0 <= lo <= hi", lambda lo, hi: lo >= 0)


def _resize_range(default):
    return _range(default, "0 < lo <= 1 <= hi", lambda lo, hi: 0 < lo <= 1 <= hi)


def _cutoff_range(default):
    return _range(default, "0 < lo <= hi <= pi", lambda lo, hi: 0 < lo and hi <= math.pi)


def _jpeg_range(default):
    return _range(default, "JPEG qualities 1 <= lo <= hi <= 100", lambda lo, hi: 1 <= lo and hi <= 100)


def _integer(default, minimum):
    return dataclasses.field(default=default, metadata={
        "expected": f"an integer >= {minimum}", "check": lambda n: n >= minimum})


@dataclasses.dataclass(frozen=True)
class RealDegradation:
    """Every range and probability of the high-order degradation (docs/degradation.md).

    Defaults are Real-ESRGAN's `realesrgan_x4plus` options with the blur of
    the first two rounds scaled to x8 (sigma and kernel size x2, sinc cutoffs
    / 2), plus BSRGAN's shuffle (`shuffle_prob`), the `min_side` clamp and a
    mixture with the clean bicubic LR (`clean_prob`, 0 by default).
    Ranges are `(lo, hi)` drawn uniformly (kernel sizes: the odd sizes in
    between; JPEG: the integer qualities); choices are probability tuples in
    the order of `KERNEL_TYPES`, `RESIZE_DIRECTIONS` and `RESIZE_MODES`.

    Example:
        RealDegradation(jpeg_range=(40, 90))  # refuses out-of-range values with a ValueError
    """

    # The first degradation (blur always, lengths in HR pixels).
    kernel_range: tuple = _kernel_range((13, 41))
    kernel_prob: tuple = _choice((0.45, 0.25, 0.12, 0.03, 0.12, 0.03), KERNEL_TYPES)
    sinc_prob: float = _probability(0.1)
    blur_sigma: tuple = _positive((0.4, 6.0))
    betag_range: tuple = _positive((0.5, 4.0))
    betap_range: tuple = _positive((1.0, 2.0))
    resize_prob: tuple = _choice((0.2, 0.7, 0.1), RESIZE_DIRECTIONS)
    resize_range: tuple = _resize_range((0.15, 1.5))
    gaussian_noise_prob: float = _probability(0.5)
    noise_range: tuple = _non_negative((1.0, 30.0))
    poisson_scale_range: tuple = _non_negative((0.05, 3.0))
    gray_noise_prob: float = _probability(0.4)
    jpeg_range: tuple = _jpeg_range((30, 95))
    # The second degradation (its resize is relative to the LR side).
    second_blur_prob: float = _probability(0.8)
    kernel_prob2: tuple = _choice((0.45, 0.25, 0.12, 0.03, 0.12, 0.03), KERNEL_TYPES)
    sinc_prob2: float = _probability(0.1)
    blur_sigma2: tuple = _positive((0.4, 3.0))
    betag_range2: tuple = _positive((0.5, 4.0))
    betap_range2: tuple = _positive((1.0, 2.0))
    resize_prob2: tuple = _choice((0.3, 0.4, 0.3), RESIZE_DIRECTIONS)
    resize_range2: tuple = _resize_range((0.3, 1.2))
    gaussian_noise_prob2: float = _probability(0.5)
    noise_range2: tuple = _non_negative((1.0, 25.0))
    poisson_scale_range2: tuple = _non_negative((0.05, 2.5))
    gray_noise_prob2: float = _probability(0.4)
    jpeg_range2: tuple = _jpeg_range((30, 95))
    # Shared by both rounds.
    rotation_range: tuple = _range((-math.pi, math.pi), "lo <= hi", lambda lo, hi: True)
    sinc_cutoff_range: tuple = _cutoff_range((math.pi / 6, math.pi / 2))
    sinc_cutoff_range_large: tuple = _cutoff_range((math.pi / 10, math.pi / 2))
    sinc_large_kernel: int = _integer(25, 1)
    resize_mode_prob: tuple = _choice((1 / 3, 1 / 3, 1 / 3), tuple(RESIZE_MODES))
    # The final step (on the LR).
    final_sinc_prob: float = _probability(0.8)
    final_sinc_kernel_range: tuple = _kernel_range((7, 21))
    final_sinc_cutoff_range: tuple = _cutoff_range((math.pi / 3, math.pi))
    final_resize_first_prob: float = _probability(0.5)
    # BSRGAN's shuffled order, and the smallest intermediate side (ours).
    shuffle_prob: float = _probability(0.5)
    min_side: int = _integer(4, 1)
    # The share of samples that keep the clean bicubic LR (ours; 0: every sample degraded).
    clean_prob: float = _probability(0.0)

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not _valid(field, value):
                raise ValueError(f"{field.name}={_format(value)}: expected {field.metadata['expected']}.")

    @classmethod
    def from_overrides(cls, text):
        """The defaults with `name=value` overrides (ranges `lo:hi`, choices `a:b:c`).

        Raises:
            ValueError: an unknown field or a bad value, in one line naming it.

        Example:
            RealDegradation.from_overrides("jpeg_range=40:90,gaussian_noise_prob=0.3")
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        overrides = {}
        for item in filter(None, (part.strip() for part in (text or "").split(","))):
            name, _, value = (s.strip() for s in item.partition("="))
            if name not in fields:
                raise ValueError(f"unknown field {name!r} in {item!r}; expected name=value with one of "
                                 f"(docs/degradation.md): {', '.join(fields)}.")
            default = fields[name].default
            kind = type(default[0] if isinstance(default, tuple) else default)
            try:
                parts = tuple(_parse(kind, v) for v in value.split(":"))
            except ValueError:
                parts = None
            parsed = parts if isinstance(default, tuple) or parts is None or len(parts) > 1 else parts[0]
            if parts is None or not _valid(fields[name], parsed):
                raise ValueError(f"{name}={value}: expected {fields[name].metadata['expected']}.")
            overrides[name] = parsed
        return cls(**overrides)

    def to_dict(self):
        """The fields as JSON values (tuples as lists), for run.json."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values):
        """The degradation `to_dict` stored; fields it lacks (added since) take their defaults.

        A field's default is the behaviour before the field existed (e.g.
        `clean_prob=0`), so a checkpoint written before it resumes unchanged.

        Raises:
            ValueError: an unknown field or a bad value, in one line naming it.

        Example:
            RealDegradation.from_dict({"jpeg_range": [40, 90]})  # the defaults, JPEG 40-90
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown degradation field(s) {', '.join(unknown)}; expected some of: "
                             f"{', '.join(sorted(names))}.")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _parse(kind, text):
    value = int(text) if kind is int else float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _valid(field, value):
    try:
        return bool(field.metadata["check"](value))
    except TypeError:  # a tuple where a number is expected, or the reverse
        return False


def _format(value):
    return ":".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


def degradation_rng(seed, epoch, position):
    """The degradation generator of the sample at `position` of `epoch` (apart from `sample.sample_rng`).

    Example:
        rng = degradation_rng(seed=0, epoch=1, position=5)
    """
    return np.random.default_rng([seed, epoch, position, 2])


def resolve(degradation):
    """None for the clean bicubic LR (None or "bicubic"), else a `RealDegradation` ("real" = defaults).

    Example:
        resolve("real")  # RealDegradation()
    """
    if degradation is None or isinstance(degradation, RealDegradation):
        return degradation
    if degradation not in DEGRADATIONS:
        raise ValueError(f"degradation={degradation!r}: expected one of {DEGRADATIONS} or a RealDegradation.")
    return RealDegradation() if degradation == "real" else None


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
    degradation = resolve(degradation)
    if degradation is None:
        return preparation.make_lr(hr, scale)
    return degrade(hr, scale, degradation, rng)[0]


# ------------------------------------------------------------------ kernels


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


_ROUND_FIELDS = ("kernel_prob", "sinc_prob", "blur_sigma", "betag_range", "betap_range", "resize_prob",
                 "resize_range", "gaussian_noise_prob", "noise_range", "poisson_scale_range", "gray_noise_prob")


def _round_fields(config, second):
    """`{first-round field name: value}` of the first or the second round (`name2`)."""
    return {name: getattr(config, name + "2" if second else name) for name in _ROUND_FIELDS}


def random_kernel(rng, config, second=False):
    """Draws a blur kernel of the first (or second) degradation; returns `(kernel, parameters)`."""
    c, r = config, _round_fields(config, second)
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


# ---------------------------------------------------------------- operations


def blur(image, kernel):
    """Filters float32 `[H, W, 3]` with `kernel` (reflected borders, as Real-ESRGAN's filter2D)."""
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def resize(image, side, mode):
    """Resizes float32 `[H, W, 3]` to `[side, side, 3]` with a mode of `RESIZE_MODES`."""
    return cv2.resize(image, (side, side), interpolation=RESIZE_MODES[mode])


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


# ---------------------------------------------------------------- pipeline


def _draw_mode(rng, config):
    probabilities = np.asarray(config.resize_mode_prob)
    return tuple(RESIZE_MODES)[rng.choice(len(RESIZE_MODES), p=probabilities / probabilities.sum())]


def _draw_factor(rng, probabilities, factor_range):
    probabilities = np.asarray(probabilities)
    direction = RESIZE_DIRECTIONS[rng.choice(3, p=probabilities / probabilities.sum())]
    lo, hi = factor_range
    factor = rng.uniform(1, hi) if direction == "up" else rng.uniform(lo, 1) if direction == "down" else 1.0
    return direction, factor


def _round_operations(config, side, lr_side, second):
    """The blur, resize and noise of one degradation round, as `(image, rng) -> (image, records)`."""
    c, r, name = config, _round_fields(config, second), "second" if second else "first"

    def blur_op(image, rng):
        if second and not rng.random() < c.second_blur_prob:
            return image, []
        kernel, parameters = random_kernel(rng, c, second)
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
            size = _odd_size(rng, c.final_sinc_kernel_range)
            cutoff = rng.uniform(*c.final_sinc_cutoff_range)
            kernel = circular_lowpass_kernel(cutoff, size)
            image = blur(image, kernel)
            records.append({"op": "sinc", "round": "final", "size": size, "cutoff": cutoff, "kernel": kernel})
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
