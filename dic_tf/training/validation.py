"""Validation during training: the official PSNR/SSIM of every step and of bicubic."""

import numpy as np

from dic_tf import metrics
from dic_tf.data.preparation import resize_bicubic
from dic_tf.metrics import landmarks as landmark_ops
from dic_tf.report.image_record import ImageRecord

# Inter-ocular NME is defined for these landmark layouts.
NME_KEYPOINTS = (68, 5)


def validate(predict, batches, scale=8, ssim_variant="official", num_samples=4):
    """Scores a model on a validation set with the official protocol.

    Args:
        predict: callable LR [B, h, w, 3] (normalised) -> DIC output dict.
        batches: iterable of dicts with numpy `lr`, `hr` (normalised) and
            `landmarks` [B, K, 2] (HR pixels).
        scale: SR factor (border cropped before the metrics).
        ssim_variant: 'official' or 'standard'.
        num_samples: images returned for the TensorBoard strips.

    Returns:
        (summary, samples): summary has `psnr`, `ssim` (final step),
        `psnr_steps`, `ssim_steps`, `bicubic_psnr`, `bicubic_ssim`, `nme`
        (final heatmap peaks vs ground truth; None unless 68 points) and
        `num_images`; samples are `report.ImageRecord`s of the first images,
        with landmarks of every step.
    """
    psnr_steps, ssim_steps, bicubic_psnr, bicubic_ssim, nme = [], [], [], [], []
    samples = []
    for batch in batches:
        lr = np.asarray(batch["lr"])
        hr = metrics.normalized_to_uint8(np.asarray(batch["hr"]))
        lr_uint8 = metrics.normalized_to_uint8(lr)
        outputs = predict(lr)
        sr_steps = [metrics.normalized_to_uint8(np.asarray(s, np.float32)) for s in outputs["sr"]]
        bicubic = np.stack([resize_bicubic(x, hr.shape[1]) for x in lr_uint8])
        psnr_steps.append([metrics.psnr_y_batch(s, hr, scale) for s in sr_steps])
        ssim_steps.append([metrics.ssim_y_batch(s, hr, scale, ssim_variant) for s in sr_steps])
        bicubic_psnr.append(metrics.psnr_y_batch(bicubic, hr, scale))
        bicubic_ssim.append(metrics.ssim_y_batch(bicubic, hr, scale, ssim_variant))
        step_landmarks = [
            landmark_ops.peaks_to_image(landmark_ops.heatmap_peaks(np.asarray(h, np.float32)))
            for h in outputs["heatmaps"]
        ]
        gt = np.asarray(batch["landmarks"])
        if gt.shape[1] in NME_KEYPOINTS:
            nme.append(landmark_ops.nme_per_image(step_landmarks[-1], gt))
        for i in range(min(len(lr), num_samples - len(samples))):
            samples.append(
                ImageRecord(
                    name=f"val_{len(samples)}",
                    lr=lr_uint8[i],
                    hr=hr[i],
                    sr_steps=[s[i] for s in sr_steps],
                    metrics=[
                        {"psnr": float(p[i]), "ssim": float(q[i])}
                        for p, q in zip(psnr_steps[-1], ssim_steps[-1])
                    ],
                    bicubic=bicubic[i],
                    bicubic_metrics={
                        "psnr": float(bicubic_psnr[-1][i]),
                        "ssim": float(bicubic_ssim[-1][i]),
                    },
                    landmarks=[p[i] for p in step_landmarks],
                    gt_landmarks=gt[i],
                )
            )
    psnr = np.concatenate(psnr_steps, axis=1)
    ssim = np.concatenate(ssim_steps, axis=1)
    summary = {
        "psnr": float(psnr[-1].mean()),
        "ssim": float(ssim[-1].mean()),
        "psnr_steps": [float(x) for x in psnr.mean(axis=1)],
        "ssim_steps": [float(x) for x in ssim.mean(axis=1)],
        "bicubic_psnr": float(np.concatenate(bicubic_psnr).mean()),
        "bicubic_ssim": float(np.concatenate(bicubic_ssim).mean()),
        "nme": float(np.concatenate(nme).mean()) if nme else None,
        "num_images": int(psnr.shape[1]),
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
