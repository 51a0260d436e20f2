"""The one per-step scoring loop: every step's SR, the bicubic baseline and NME (numpy).

Validation during training (`dic_tf.training.validation`) and evaluate.py's
model mode (`dic_tf.evaluation.model_scoring`) both score their batches with
`score_batch` and average them with `mean_scores`, so the two give the same
numbers for the same faces. No TensorFlow: the inputs are uint8 images and
landmark arrays, as a predictor (`dic_tf.inference.predictors.Prediction`)
returns them.
"""

import dataclasses

import numpy as np

from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.metrics.image_quality import psnr_y_batch, ssim_y_batch
from dic_tf.utils.resize import upscale_bicubic

# Inter-ocular NME is defined for these landmark layouts.
NME_KEYPOINTS = (68, 5)


@dataclasses.dataclass
class BatchScores:
    """Scores of B faces, T steps.

    Attributes:
        psnr: float64 `(T, B)` PSNR on Y (dB) of every step; `inf` for an exact SR.
        ssim: float64 `(T, B)` SSIM on Y of every step.
        nme: float64 `(T, B)` inter-ocular NME of every step's landmarks; NaN
            for a face without ground truth (or with neither 68 nor 5 points).
        bicubic: uint8 `(B, H, W, 3)`, the bicubic baseline.
        bicubic_psnr, bicubic_ssim: float64 `(B,)`.

    Example:
        scores = score_batch(prediction.sr, hr, lr)
        scores.psnr[-1]  # the final step's PSNR of every face
    """

    psnr: np.ndarray
    ssim: np.ndarray
    nme: np.ndarray
    bicubic: np.ndarray
    bicubic_psnr: np.ndarray
    bicubic_ssim: np.ndarray


def score_batch(sr_steps, hr, lr, landmarks_steps=None, gt_landmarks=None, scale=8,
                ssim_variant="official"):
    """Scores every step's SR of a batch, its bicubic baseline and its landmarks.

    Args:
        sr_steps: T uint8 `(B, H, W, 3)` SR images.
        hr: uint8 `(B, H, W, 3)` ground truth.
        lr: uint8 `(B, H / scale, W / scale, 3)`, upscaled by `scale` for the baseline
            (`dic_tf.utils.resize.upscale_bicubic`, Pillow's bicubic).
        landmarks_steps: optional T float `(B, K, 2)` `(x, y)` in SR pixels.
        gt_landmarks: optional B entries, each float `(K, 2)` in HR pixels or None.
        scale: SR factor and the border cropped before PSNR/SSIM.
        ssim_variant: "official" or "standard".

    Returns:
        `BatchScores`.

    Example:
        scores = score_batch(prediction.sr, hr, lr, prediction.landmarks, gt)
    """
    bicubic = np.stack([upscale_bicubic(x, scale) for x in lr])
    nme = np.full((len(sr_steps), len(hr)), np.nan)
    annotated = [] if gt_landmarks is None or landmarks_steps is None else [
        i for i, points in enumerate(gt_landmarks) if points is not None and len(points) in NME_KEYPOINTS
    ]
    if annotated:
        gt = np.stack([gt_landmarks[i] for i in annotated])
        for t, points in enumerate(landmarks_steps):
            nme[t, annotated] = landmark_metrics.nme_per_image(np.asarray(points)[annotated], gt)
    return BatchScores(
        psnr=np.stack([psnr_y_batch(sr, hr, border=scale) for sr in sr_steps]),
        ssim=np.stack([ssim_y_batch(sr, hr, border=scale, variant=ssim_variant) for sr in sr_steps]),
        nme=nme,
        bicubic=bicubic,
        bicubic_psnr=psnr_y_batch(bicubic, hr, border=scale),
        bicubic_ssim=ssim_y_batch(bicubic, hr, border=scale, variant=ssim_variant),
    )


def mean_scores(batches):
    """Means over every face of a list of `BatchScores`.

    Returns:
        {"psnr_steps", "ssim_steps": T floats, "nme_steps": T floats or None
        (no annotated face), "bicubic_psnr", "bicubic_ssim": floats,
        "num_images", "num_annotated": ints}. A PSNR mean is `inf` when a
        face's SR is exact.

    Example:
        means = mean_scores([score_batch(sr, hr, lr)])
        means["psnr_steps"][-1]  # the final step's mean PSNR
    """
    psnr = np.concatenate([b.psnr for b in batches], axis=1)
    ssim = np.concatenate([b.ssim for b in batches], axis=1)
    nme = np.concatenate([b.nme for b in batches], axis=1)
    annotated = ~np.isnan(nme[-1])
    return {
        "psnr_steps": [float(x) for x in psnr.mean(axis=1)],
        "ssim_steps": [float(x) for x in ssim.mean(axis=1)],
        "nme_steps": [float(step[annotated].mean()) for step in nme] if annotated.any() else None,
        "bicubic_psnr": float(np.concatenate([b.bicubic_psnr for b in batches]).mean()),
        "bicubic_ssim": float(np.concatenate([b.bicubic_ssim for b in batches]).mean()),
        "num_images": int(psnr.shape[1]),
        "num_annotated": int(annotated.sum()),
    }
