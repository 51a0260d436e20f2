"""The metric protocol stored under "protocol" in `results.json`."""

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


def model_protocol(scale=8, ssim_variant="official", lr_given=False):
    """`protocol()` plus how model mode makes its inputs and landmark numbers.

    Example:
        model_protocol(8, lr_given=True)["lr"]  # "read from --lr_dir"
    """
    spec = protocol(scale, ssim_variant)
    spec.update(
        lr="read from --lr_dir" if lr_given else
        f"official preparation: Pillow bicubic downscaling of HR by {scale}",
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
