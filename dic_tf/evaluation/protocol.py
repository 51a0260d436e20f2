"""The metric protocol stored under "protocol" in `results.json`."""

import os

from dic_tf import metrics

DETECTION_SOURCES = ("sr", "bicubic", "hr")
"""Faces the landmark detector is run on, in the order of `results.json`."""

SSIM_NOTES = {
    "official": (
        "As the authors' calc_metrics: the uint8 Y image is multiplied by 255, which "
        "wraps around, so SSIM is computed on 256 - Y; reproduces the published numbers."
    ),
    "standard": "Textbook SSIM on Y; differs from the official value from about the 6th decimal.",
}


def protocol(scale=8, ssim_variant="official"):
    """Describes the metric protocol (stored in `results.json`).

    Example:
        protocol(8, "official")["border"]  # 8
    """
    if ssim_variant not in metrics.SSIM_VARIANTS:
        raise ValueError(
            f"Unknown SSIM variant {ssim_variant!r}; expected one of {metrics.SSIM_VARIANTS}."
        )
    return {
        "y_channel": "BT.601",
        "y_formula": "round((65.481 R + 128.553 G + 24.966 B) / 255 + 16) on uint8 RGB",
        "border": scale,
        "psnr_peak": 255,
        "ssim": ssim_variant,
        "ssim_note": SSIM_NOTES[ssim_variant],
        "ssim_window": f"Gaussian {metrics.SSIM_WINDOW_SIZE}x{metrics.SSIM_WINDOW_SIZE}, "
        f"sigma {metrics.SSIM_SIGMA}, valid region",
        "average": "arithmetic mean over images",
        "infinite_psnr": "identical images have infinite PSNR, written as null",
    }


def lr_source(lr_dir=None, degradation="bicubic", seed=None, params=None, saved_lr_dir=None):
    """Where model mode's LR faces came from: the "lr_source" entry of the protocol.

    Args:
        lr_dir: the paired LR folder (`--lr_dir`), if the LR was read.
        degradation: otherwise the degradation that made the LR from the HR:
            "bicubic" (the official preparation) or "real".
        seed: the degradation's seed (not for "bicubic").
        params: the degradation's full parameters (`RealDegradation.to_dict()`).
        saved_lr_dir: the folder the scored LR faces were written to, if any.

    Returns:
        {"kind": "lr_dir", "lr_dir"} | {"kind": "bicubic"} | {"kind":
        "degradation", "degradation", "seed", "params"}, plus "saved_lr_dir"
        (absolute paths).

    Example:
        lr_source(degradation="real", seed=3, params=RealDegradation().to_dict())["seed"]  # 3
    """
    if lr_dir:
        source = {"kind": "lr_dir", "lr_dir": os.path.abspath(lr_dir)}
    elif degradation == "bicubic":
        source = {"kind": "bicubic"}
    else:
        source = {"kind": "degradation", "degradation": degradation, "seed": seed,
                  "params": dict(params or {})}
    if saved_lr_dir:
        source["saved_lr_dir"] = os.path.abspath(saved_lr_dir)
    return source


def lr_text(source, scale=8):
    """One line describing an `lr_source` (the protocol's "lr" entry).

    Example:
        lr_text({"kind": "bicubic"}, 8)  # "official preparation: Pillow bicubic downscaling of HR by 8"
    """
    if source["kind"] == "lr_dir":
        return "read from --lr_dir"
    if source["kind"] == "bicubic":
        return f"official preparation: Pillow bicubic downscaling of HR by {scale}"
    return (
        f"degradation {source['degradation']!r} of HR down by {scale}, seed "
        f"{source['seed']}: dic_tf.data.degradation.make_lr with the parameters under "
        "lr_source, drawing from np.random.default_rng([seed, crc32(UTF-8 HR file name)])"
    )


def with_lr_source(spec, source, scale=8):
    """A copy of a model protocol whose "lr" entry describes `source`, stored as "lr_source".

    Example:
        with_lr_source(model_protocol(8), lr_source(degradation="real", seed=3, params={}))
    """
    spec = dict(spec)
    spec["lr"] = lr_text(source, scale)
    spec["lr_source"] = source
    return spec


def model_protocol(scale=8, ssim_variant="official", lr_given=False):
    """`protocol()` plus how model mode makes its inputs and landmark numbers.

    `with_lr_source` completes it with the exact LR source.

    Example:
        model_protocol(8, lr_given=True)["lr"]  # "read from --lr_dir"
    """
    spec = protocol(scale, ssim_variant)
    spec.update(
        lr=lr_text({"kind": "lr_dir" if lr_given else "bicubic"}, scale),
        bicubic=f"Pillow bicubic upscaling of the LR by {scale}",
        steps="every step's SR measured like the final one (the last step is the output)",
        nme="calc_nme: arg-max peaks of the model's heatmaps x stride, mean point error / "
        "|gt[37] - gt[46]| (0-based), averaged over annotated images",
        landmark_detection="eval_landmark: stacked-hourglass detector on the faces, peaks "
        "refined towards the second-highest cell, per-image RMSE / face width, outer "
        "eye width and eye distance",
        timing="wall time of the model call per batch divided by its faces (a short last "
        "batch is padded to the batch size); the first batch includes tracing",
    )
    return spec
