"""The authors' landmark-detection evaluation: a stacked hourglass run on SR, bicubic and HR faces."""

import os

import numpy as np

from dic_tf.convert import load_official_weights
from dic_tf.evaluation.protocol import DETECTION_SOURCES
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.models import saving
from dic_tf.models.landmark_estimators import build_stacked_hourglass
from dic_tf.utils.image_space import pixels_to_model_space


def load_landmark_detector(path, num_features=256, num_stacks=4, num_keypoints=68):
    """The stacked-hourglass landmark detector of the authors' evaluation.

    Args:
        path: official `HG_68_CelebA.pth` (or `.npz`), our `.weights.h5`, or a
            `train.py --mode=hg_eval` run: a checkpoint, its checkpoints
            directory or the train directory (the best checkpoint, else the
            latest; its architecture comes from the checkpoint).
        num_features, num_stacks, num_keypoints: its architecture (files only).

    Returns:
        built `StackedHourglassModel`.

    Example:
        detector = load_landmark_detector("HG_68_CelebA.pth")
    """
    if os.path.isdir(path):
        return saving.load_stacked_hourglass(path)[0]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Landmark detector {path!r} does not exist.")
    model = build_stacked_hourglass(num_features, num_stacks, num_keypoints)
    if path.endswith(".weights.h5"):
        try:
            model.load_weights(path)
        except ValueError as error:
            raise ValueError(
                f"Cannot load {path!r} into build_stacked_hourglass({num_features}, "
                f"{num_stacks}, {num_keypoints}): {error}"
            ) from error
    else:
        load_official_weights(model, path)
    return model


def detect_landmarks(detector, images, batch_size=16):
    """Landmarks found by the detector, refined as the authors do.

    Args:
        detector: `StackedHourglassModel`.
        images: uint8 `(N, H, W, 3)` faces, H and W multiples of 64.
        batch_size: images per detector call.

    Returns:
        int64 `(N, K, 2)` `(x, y)` in image pixels.

    Example:
        points = detect_landmarks(detector, hr_faces)  # int64 (N, 68, 2)
    """
    found = []
    for start in range(0, len(images), batch_size):
        heatmaps = np.asarray(detector.predict_on_batch(pixels_to_model_space(images[start:start + batch_size])))
        stride = images.shape[2] // heatmaps.shape[2]
        found.append(landmark_metrics.refined_landmarks(heatmaps, stride=stride))
    return np.concatenate(found)


def detection_errors(detector, test_set, records, images, batch_size):
    """Adds per-image detection errors to `images`; returns their means per source.

    Example:
        means = detection_errors(detector, test_set, records, results["images"], 16)
        means["sr"]  # {"width", "eye_outer_width", "eye_dist"}
    """
    annotated = [k for k, item in enumerate(test_set) if item.landmarks is not None]
    if not annotated:
        raise ValueError("Landmark detection needs ground-truth landmarks (--annotations).")
    gt = np.stack([test_set[k].landmarks for k in annotated])
    faces = {
        "sr": np.stack([records[k].sr_steps[-1] for k in annotated]),
        "bicubic": np.stack([records[k].bicubic for k in annotated]),
        "hr": np.stack([test_set[k].hr for k in annotated]),
    }
    means = {}
    for source in DETECTION_SOURCES:
        errors = landmark_metrics.landmark_errors(detect_landmarks(detector, faces[source], batch_size), gt)
        for row, k in enumerate(annotated):
            per_image = images[test_set[k].name].setdefault("landmark_detection", {})
            per_image[source] = {name: float(values[row]) for name, values in errors.items()}
        means[source] = {name: float(np.mean(values)) for name, values in errors.items()}
    means["num_images"] = len(annotated)
    return means
