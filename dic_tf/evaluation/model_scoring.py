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

import os
import time

import numpy as np
from tqdm import tqdm

from dic_tf import metrics
from dic_tf.evaluation.landmark_detector import detection_errors
from dic_tf.evaluation.protocol import model_protocol
from dic_tf.evaluation.results_file import json_float
from dic_tf.metrics.scoring import mean_scores, score_batch
from dic_tf.report.image_record import ImageRecord
from dic_tf.utils.image_files import file_stem, write_png

SR_DIR = "sr"
STEPS_DIR = "steps"


def evaluate_model(predictor, test_set, output_dir, scale=8, ssim_variant="official",
                   batch_size=metrics.SCORING_BATCH_SIZE, detector=None, progress=True):
    """Runs the model on the test set, writes the SR images and measures them.

    Args:
        predictor: callable uint8 `(B, h, w, 3)` LR -> `Prediction`
            (`dic_tf.inference.KerasPredictor`, `SavedModelPredictor`).
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
    images, records, batch_times, scores = {}, [], [], []
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
            prediction = predictor(lr).first(len(batch))
            seconds = time.perf_counter() - began
            batch_times.append((seconds, len(batch)))
            _check_prediction(prediction, hr.shape, batch[0].name)
            batch_scores = score_batch(
                prediction.sr, hr, lr[:len(batch)], prediction.landmarks,
                [item.landmarks for item in batch], scale=scale, ssim_variant=ssim_variant,
            )
            scores.append(batch_scores)
            for i, item in enumerate(batch):
                entry, record = _evaluate_item(item, i, prediction, batch_scores, output_dir, all_annotated)
                entry["time_s"] = seconds / len(batch)
                images[item.name] = entry
                records.append(record)
            bar.update(len(batch))
    results = {
        "images": images,
        "average": _averages(mean_scores(scores)),
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


def _evaluate_item(item, i, prediction, scores, output_dir, all_annotated):
    """results.json entry and report record of batch element `i`."""
    stem = file_stem(item.name)
    sr_steps = [sr[i] for sr in prediction.sr]
    steps = []
    for t, sr in enumerate(sr_steps):
        sr_file = f"{STEPS_DIR}/step_{t + 1}/{stem}.png"
        write_png(os.path.join(output_dir, sr_file), sr, overwrite=True)
        step = {"psnr": json_float(scores.psnr[t, i]), "ssim": float(scores.ssim[t, i]), "sr_file": sr_file}
        if not np.isnan(scores.nme[t, i]):
            step["nme"] = float(scores.nme[t, i])
        steps.append(step)
    bicubic_scores = {"psnr": float(scores.bicubic_psnr[i]), "ssim": float(scores.bicubic_ssim[i])}
    sr_file = f"{SR_DIR}/{stem}.png"
    write_png(os.path.join(output_dir, sr_file), sr_steps[-1], overwrite=True)
    entry = {
        "psnr": steps[-1]["psnr"],
        "ssim": steps[-1]["ssim"],
        "steps": steps,
        "bicubic": {"psnr": json_float(bicubic_scores["psnr"]), "ssim": bicubic_scores["ssim"]},
        "sr_file": sr_file,
        "lr_file": item.lr_file,
    }
    if "nme" in steps[-1]:
        entry["nme"] = steps[-1]["nme"]
    metric_names = ("psnr", "ssim", "nme") if all_annotated else ("psnr", "ssim")
    attention = [None if a is None else a[i] for a in prediction.attention]
    record = ImageRecord(
        name=item.name,
        lr=item.lr,
        hr=item.hr,
        sr_steps=sr_steps,
        metrics=[{k: float(scores.psnr[t, i]) if k == "psnr" else steps[t][k] for k in metric_names}
                 for t in range(len(steps))],
        bicubic=scores.bicubic[i],
        bicubic_metrics=bicubic_scores,
        landmarks=[points[i] for points in prediction.landmarks],
        gt_landmarks=item.landmarks,
        attention=None if all(a is None for a in attention) else attention,
    )
    return entry, record


def _averages(means):
    """results.json's "average" of `mean_scores`' means (a PSNR mean with an exact SR is None)."""
    steps = []
    for t, (psnr, ssim) in enumerate(zip(means["psnr_steps"], means["ssim_steps"])):
        step = {"psnr": json_float(psnr), "ssim": ssim}
        if means["nme_steps"] is not None:
            step["nme"] = means["nme_steps"][t]
        steps.append(step)
    average = dict(steps[-1])
    average["steps"] = steps
    average["bicubic"] = {"psnr": json_float(means["bicubic_psnr"]), "ssim": means["bicubic_ssim"]}
    if "nme" in average:
        average["num_annotated"] = means["num_annotated"]
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
    for t, sr in enumerate(prediction.sr):
        if sr.shape != hr_shape:
            raise ValueError(
                f"The model's step-{t + 1} SR for the batch starting at {first_name!r} has "
                f"shape {sr.shape}; the HR batch has shape {hr_shape}."
            )
