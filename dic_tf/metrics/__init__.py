"""The official metrics: PSNR/SSIM on the Y channel and landmark errors (numpy).

* `image_quality`: PSNR and SSIM on Y, as the authors' MATLAB-style protocol;
* `landmarks`: heatmap peaks, NME and landmark errors;
* `scoring`: the one per-step scoring loop (every step, the bicubic baseline, NME)
  of validation and evaluate.py.
"""

from dic_tf.metrics.image_quality import (
    SCORING_BATCH_SIZE,
    SSIM_SIGMA,
    SSIM_VARIANTS,
    SSIM_WINDOW_SIZE,
    gaussian_window,
    normalized_to_uint8,
    psnr_y,
    psnr_y_batch,
    rgb_to_y,
    ssim_y,
    ssim_y_batch,
)

__all__ = [
    "SCORING_BATCH_SIZE",
    "SSIM_SIGMA",
    "SSIM_VARIANTS",
    "SSIM_WINDOW_SIZE",
    "gaussian_window",
    "normalized_to_uint8",
    "psnr_y",
    "psnr_y_batch",
    "rgb_to_y",
    "ssim_y",
    "ssim_y_batch",
]
