"""Model mode's measurements: every step, the bicubic baseline, NME and run time.

`evaluate_model` runs a predictor on a test set, writes every step's SR image
and returns the `results.json` entries (completed by
`dic_tf.evaluation.model_mode.run_model_mode`):

    {
      "images": {hr file name: {
          "psnr", "ssim": final step, "steps": [{"psnr", "ssim", "sr_file", "nme"?}],
          "bicubic": {"psnr", "ssim"}, "sr_file", "lr_file"|null, "time_s",
          "nme"?: final-step NME, "landmark_detection"?: {"sr"|"bicubic"|"hr":
          {"width", "eye_outer_width", "eye_dist"}}}},
      "average": {"psnr", "ssim", "steps": [{"psnr", "ssim", "nme"?}],
                  "bicubic": {"psnr", "ssim"}, "nme"?, "landmark_detection"?},
      "protocol": {... as folder mode, "lr", "bicubic", "nme"?, ...},
      "timing": {...}, "num_images", "num_steps"
    }

SR files are `sr/<stem>.png` (final step) and `steps/step_<t>/<stem>.png`
(every step, 1-based), relative to the output folder.
"""

import time

import numpy as np
from PIL import Image
from tqdm import tqdm

from dic_tf import metrics
from dic_tf.evaluation.image_files import file_stem, write_png
from dic_tf.evaluation.landmark_detector import detection_errors
from dic_tf.evaluation.predictors import Prediction
from dic_tf.evaluation.protocol import model_protocol
from dic_tf.evaluation.results_file import json_float
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.report.image_record import ImageRecord

SR_DIR = "sr"
STEPS_DIR = "steps"


def upscale_bicubic(lr, scale=8):
    """The bicubic baseline: Pillow bicubic upscaling of uint8 `(h, w, 3)` by `scale`.

    Example:
        upscale_bicubic(np.zeros((16, 16, 3), np.uint8)).shape  # (128, 128, 3)
    """
    height, width = lr.shape[:2]
    size = (width * scale, height * scale)
    return np.asarray(Image.fromarray(lr).resize(size, Image.Resampling.BICUBIC))


def evaluate_model(predictor, test_set, output_dir, scale=8, ssim_variant="official",
                   batch_size=metrics.SCORING_BATCH_SIZE, detector=None, progress=True):
    """Runs the model on the test set, writes the SR images and measures them.

    Args:
        predictor: callable uint8 `(B, h, w, 3)` LR -> `Prediction`
            (`KerasPredictor`, `SavedModelPredictor`).
        test_set: list of `TestImage` (see `load_test_set`).
        output_dir: receives `sr/` and `steps/step_<t>/`.
        scale: SR factor and cropped border.
        ssim_variant: "official" or "standard".
        batch_size: LR faces per model call.
        detector: optional landmark detector (`load_landmark_detector`), run on
            the annotated SR, bicubic and HR faces.
        progress: show a tqdm progress bar.

    Returns:
        `(results dict, list of ImageRecord)`; see the module docstring.

    Example:
        results, records = evaluate_model(KerasPredictor(model), test_set, "runs/eval")
    """
    if not test_set:
        raise ValueError("evaluate_model: the test set is empty.")
    if batch_size < 1:
        raise ValueError(f"evaluate_model: batch_size={batch_size} must be >= 1.")
    all_annotated = all(item.landmarks is not None for item in test_set)
    images, records, batch_times = {}, [], []
    with tqdm(total=len(test_set), desc="super-resolving", unit="img", disable=not progress) as bar:
        for start in range(0, len(test_set), batch_size):
            batch = test_set[start:start + batch_size]
            lr = np.stack([item.lr for item in batch])
            hr = np.stack([item.hr for item in batch])
            if len(batch) < batch_size:
                # A short batch is padded to `batch_size`: one traced shape (no retracing), and
                # the shape of validation's batches, whose last float32 digits then equal these.
                lr = np.concatenate([lr, np.repeat(lr[-1:], batch_size - len(batch), axis=0)])
            began = time.perf_counter()
            prediction = _first(predictor(lr), len(batch))
            seconds = time.perf_counter() - began
            lr = lr[:len(batch)]
            batch_times.append((seconds, len(batch)))
            _check_prediction(prediction, hr.shape, batch[0].name)
            bicubic = np.stack([upscale_bicubic(x, scale) for x in lr])
            psnr = [metrics.psnr_y_batch(sr, hr, border=scale) for sr in prediction.sr]
            ssim = [metrics.ssim_y_batch(sr, hr, border=scale, variant=ssim_variant)
                    for sr in prediction.sr]
            bicubic_scores = {
                "psnr": metrics.psnr_y_batch(bicubic, hr, border=scale),
                "ssim": metrics.ssim_y_batch(bicubic, hr, border=scale, variant=ssim_variant),
            }
            for i, item in enumerate(batch):
                entry, record = _evaluate_item(
                    item, i, prediction, psnr, ssim, bicubic[i],
                    {k: float(v[i]) for k, v in bicubic_scores.items()},
                    output_dir, all_annotated,
                )
                entry["time_s"] = seconds / len(batch)
                images[item.name] = entry
                records.append(record)
            bar.update(len(batch))
    results = {
        "images": images,
        "average": _averages(images, len(prediction.sr)),
        "protocol": model_protocol(scale, ssim_variant, lr_given=test_set[0].lr_file is not None),
        "timing": _timing(batch_times, batch_size),
        "num_images": len(images),
        "num_steps": len(prediction.sr),
    }
    if detector is not None:
        results["average"]["landmark_detection"] = detection_errors(
            detector, test_set, records, images, batch_size
        )
    return results, records


def _evaluate_item(item, i, prediction, psnr, ssim, bicubic, bicubic_scores, output_dir,
                   all_annotated):
    """results.json entry and report record of batch element `i`."""
    stem = file_stem(item.name)
    sr_steps = [sr[i] for sr in prediction.sr]
    stride = item.hr.shape[1] // prediction.heatmaps[0].shape[2]
    points = [landmark_metrics.peaks_to_image(landmark_metrics.heatmap_peaks(h[i]), stride)
              for h in prediction.heatmaps]
    steps = []
    for t, sr in enumerate(sr_steps):
        steps.append({
            "psnr": json_float(psnr[t][i]),
            "ssim": float(ssim[t][i]),
            "sr_file": write_png(output_dir, f"{STEPS_DIR}/step_{t + 1}/{stem}.png", sr),
        })
    if item.landmarks is not None:
        for step, step_points in zip(steps, points):
            step["nme"] = float(landmark_metrics.nme_per_image(step_points[None], item.landmarks[None])[0])
    entry = {
        "psnr": steps[-1]["psnr"],
        "ssim": steps[-1]["ssim"],
        "steps": steps,
        "bicubic": {"psnr": json_float(bicubic_scores["psnr"]), "ssim": bicubic_scores["ssim"]},
        "sr_file": write_png(output_dir, f"{SR_DIR}/{stem}.png", sr_steps[-1]),
        "lr_file": item.lr_file,
    }
    if item.landmarks is not None:
        entry["nme"] = steps[-1]["nme"]
    metric_names = ("psnr", "ssim", "nme") if all_annotated else ("psnr", "ssim")
    attention = [None if a is None else a[i] for a in prediction.attention]
    record = ImageRecord(
        name=item.name,
        lr=item.lr,
        hr=item.hr,
        sr_steps=sr_steps,
        metrics=[{k: float(psnr[t][i]) if k == "psnr" else steps[t][k] for k in metric_names}
                 for t in range(len(steps))],
        bicubic=bicubic,
        bicubic_metrics=bicubic_scores,
        landmarks=points,
        gt_landmarks=item.landmarks,
        attention=None if all(a is None for a in attention) else attention,
    )
    return entry, record


def _averages(images, num_steps):
    entries = list(images.values())

    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    def mean_psnr(values):
        return None if any(v is None for v in values) else float(np.mean(values))

    steps = []
    for t in range(num_steps):
        step = {
            "psnr": mean_psnr([e["steps"][t]["psnr"] for e in entries]),
            "ssim": mean([e["steps"][t]["ssim"] for e in entries]),
        }
        nmes = [e["steps"][t]["nme"] for e in entries if "nme" in e["steps"][t]]
        if nmes:
            step["nme"] = float(np.mean(nmes))
        steps.append(step)
    average = dict(steps[-1])
    average["steps"] = steps
    average["bicubic"] = {
        "psnr": mean_psnr([e["bicubic"]["psnr"] for e in entries]),
        "ssim": mean([e["bicubic"]["ssim"] for e in entries]),
    }
    if "nme" in average:
        average["num_annotated"] = sum("nme" in e for e in entries)
    return average


def _timing(batch_times, batch_size):
    total = sum(seconds for seconds, _ in batch_times)
    count = sum(size for _, size in batch_times)
    timing = {
        "batch_size": batch_size,
        "num_batches": len(batch_times),
        "model_seconds": total,
        "seconds_per_image": total / count,
        "seconds_per_image_after_first_batch": None,
    }
    if len(batch_times) > 1:
        rest = batch_times[1:]
        timing["seconds_per_image_after_first_batch"] = (
            sum(s for s, _ in rest) / sum(n for _, n in rest)
        )
    return timing


def _check_prediction(prediction, hr_shape, first_name):
    lengths = {len(prediction.sr), len(prediction.heatmaps), len(prediction.attention)}
    if len(lengths) != 1:
        raise ValueError(
            f"The model returned {len(prediction.sr)} SR steps, {len(prediction.heatmaps)} "
            f"heatmap steps and {len(prediction.attention)} attention steps; expected equal."
        )
    for t, sr in enumerate(prediction.sr):
        if sr.shape != hr_shape:
            raise ValueError(
                f"The model's step-{t + 1} SR for the batch starting at {first_name!r} has "
                f"shape {sr.shape}; the HR batch has shape {hr_shape}."
            )


def _first(prediction, count):
    """The first `count` faces of a `Prediction`."""
    return Prediction(
        sr=[sr[:count] for sr in prediction.sr],
        heatmaps=[h[:count] for h in prediction.heatmaps],
        attention=[None if a is None else a[:count] for a in prediction.attention],
    )
