"""Validation during training: every step, the bicubic baseline and NME, as evaluate.py scores them.

`validate` turns the network's outputs into a `Prediction`
(`dic_tf.inference.predictors`) and scores each batch with
`dic_tf.metrics.scoring`, the loop of evaluate.py's model mode.
"""

import numpy as np

from dic_tf import metrics
from dic_tf.inference.predictors import prediction_from_outputs
from dic_tf.metrics import landmarks as landmark_ops
from dic_tf.metrics.scoring import NME_KEYPOINTS, mean_scores, score_batch
from dic_tf.report.image_record import ImageRecord


def validate(predict, batches, scale=8, ssim_variant="official", num_samples=4):
    """Scores a model on a validation set with the official protocol.

    Args:
        predict: callable LR [B, h, w, 3] (normalised) -> DIC output dict
            (`dic_tf.inference.InferenceFunction`).
        batches: iterable of dicts with numpy `lr`, `hr` (normalised) and
            `landmarks` [B, K, 2] (HR pixels).
        scale: SR factor (border cropped before the metrics).
        ssim_variant: 'official' or 'standard'.
        num_samples: images returned for the TensorBoard strips.

    Returns:
        (summary, samples): summary has `psnr`, `ssim` (final step),
        `psnr_steps`, `ssim_steps`, `bicubic_psnr`, `bicubic_ssim`, `nme`
        (final heatmap peaks vs ground truth; None unless 68 or 5 points) and
        `num_images`; samples are `report.ImageRecord`s of the first images,
        with landmarks of every step.

    Example:
        summary, samples = validate(InferenceFunction(model, 16), batches)
        summary["psnr_steps"]  # mean PSNR of every step
    """
    scores, samples = [], []
    for batch in batches:
        lr = np.asarray(batch["lr"])
        hr = metrics.normalized_to_uint8(np.asarray(batch["hr"]))
        lr_uint8 = metrics.normalized_to_uint8(lr)
        prediction = prediction_from_outputs(predict(lr))
        gt = np.asarray(batch["landmarks"])
        batch_scores = score_batch(prediction.sr, hr, lr_uint8, prediction.landmarks, gt,
                                   scale=scale, ssim_variant=ssim_variant)
        scores.append(batch_scores)
        for i in range(min(len(lr), num_samples - len(samples))):
            samples.append(
                ImageRecord(
                    name=f"val_{len(samples)}",
                    lr=lr_uint8[i],
                    hr=hr[i],
                    sr_steps=[s[i] for s in prediction.sr],
                    metrics=[
                        {"psnr": float(p[i]), "ssim": float(q[i])}
                        for p, q in zip(batch_scores.psnr, batch_scores.ssim)
                    ],
                    bicubic=batch_scores.bicubic[i],
                    bicubic_metrics={
                        "psnr": float(batch_scores.bicubic_psnr[i]),
                        "ssim": float(batch_scores.bicubic_ssim[i]),
                    },
                    landmarks=[p[i] for p in prediction.landmarks],
                    gt_landmarks=gt[i],
                )
            )
    means = mean_scores(scores)
    summary = {
        "psnr": means["psnr_steps"][-1],
        "ssim": means["ssim_steps"][-1],
        "psnr_steps": means["psnr_steps"],
        "ssim_steps": means["ssim_steps"],
        "bicubic_psnr": means["bicubic_psnr"],
        "bicubic_ssim": means["bicubic_ssim"],
        "nme": means["nme_steps"][-1] if means["nme_steps"] else None,
        "num_images": means["num_images"],
        "ssim_variant": ssim_variant,
    }
    return summary, samples


def validate_landmarks(predict, batches):
    """Scores a landmark network on HR faces: heatmap MSE and NME of its final heatmaps.

    The NME is evaluate.py's (`calc_nme`): arg-max peaks x stride against the
    ground-truth landmarks, normalised by the outer-eye-corner distance.

    Args:
        predict: callable HR [B, H, W, 3] (normalised) -> list of heatmaps
            [B, H/4, W/4, K] (steps or stacks; the last is scored for NME).
        batches: iterable of dicts with numpy `hr`, `heatmaps` and `landmarks`
            [B, K, 2] (HR pixels).

    Returns:
        (summary, samples): summary has `nme` (None unless 68 or 5 points),
        `heatmap_loss` (MSE summed over steps, mean over images) and
        `num_images`; samples is empty.
    """
    nme, losses, count = [], [], 0
    for batch in batches:
        steps = [np.asarray(h, np.float32) for h in predict(batch["hr"])]
        gt_heatmaps = np.asarray(batch["heatmaps"], np.float32)
        per_image = sum(np.mean(np.square(h - gt_heatmaps), axis=(1, 2, 3)) for h in steps)
        losses.append(per_image)
        count += len(per_image)
        gt = np.asarray(batch["landmarks"])
        if gt.shape[1] in NME_KEYPOINTS:
            points = landmark_ops.peaks_to_image(landmark_ops.heatmap_peaks(steps[-1]))
            nme.append(landmark_ops.nme_per_image(points, gt))
    summary = {
        "nme": float(np.concatenate(nme).mean()) if nme else None,
        "heatmap_loss": float(np.concatenate(losses).mean()),
        "num_images": count,
    }
    return summary, []
