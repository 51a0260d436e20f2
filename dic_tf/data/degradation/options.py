"""`RealDegradation`: every range and probability of the high-order degradation, checked.

The fields and their defaults are documented in docs/degradation.md; a
field's metadata holds what it expects (`expected`, for the one-line error)
and its check. `from_overrides` parses train.py's `--degradation_params`,
`to_dict` / `from_dict` are what checkpoints and run.json store, and
`resolve` turns a `--degradation` name into None (the clean bicubic LR) or
a `RealDegradation`. No numpy or OpenCV here.

Example:
    config = RealDegradation.from_overrides("jpeg_range=40:90")
    resolve("real")  # RealDegradation()
"""

import dataclasses
import math

DEGRADATIONS = ("bicubic", "real")
KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_DIRECTIONS = ("up", "down", "keep")
RESIZE_MODES = ("area", "bilinear", "bicubic")
# The fields of one degradation round; the second round's are named `name + "2"`.
ROUND_FIELDS = ("kernel_prob", "sinc_prob", "blur_sigma", "betag_range", "betap_range", "resize_prob",
                "resize_range", "gaussian_noise_prob", "noise_range", "poisson_scale_range", "gray_noise_prob")


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
    resize_mode_prob: tuple = _choice((1 / 3, 1 / 3, 1 / 3), RESIZE_MODES)
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


def round_fields(config, second):
    """`{first-round field name: value}` of the first or the second round (`name2`) of `config`.

    Example:
        round_fields(RealDegradation(), second=True)["blur_sigma"]  # (0.4, 3.0)
    """
    return {name: getattr(config, name + "2" if second else name) for name in ROUND_FIELDS}
