"""Evaluation drivers behind `evaluate.py`.

Folder mode compares the outputs of any method (`sr_dir`) with the ground
truth (`hr_dir`) by file name under the official protocol of `dic_tf.metrics`
and writes `results.json`:

    {
      "images": {sr file name: {"psnr": float|null, "ssim": float, "hr_file": str}},
      "average": {"psnr": float|null, "ssim": float},
      "protocol": {"y_channel": "BT.601", "border": 8, "ssim": "official", ...},
      "num_images": int, "sr_dir": str, "hr_dir": str, "unmatched_hr_files": [str]
    }

PSNR of identical images is infinite and written as `null` (strict JSON).

Model mode (`evaluate_model`, `run_model_mode`) runs a DIC model on a test
set (HR images, LR made by the official preparation, or paired LR/HR
folders), writes every step's SR image, and measures every step, the bicubic
baseline, the landmark NME of the model's own heatmaps and, with a landmark
detector, the authors' landmark-detection errors on the SR faces:

    {
      "images": {hr file name: {
          "psnr", "ssim": final step, "steps": [{"psnr", "ssim", "sr_file", "nme"?}],
          "bicubic": {"psnr", "ssim"}, "sr_file", "lr_file"|null, "time_s",
          "nme"?: final-step NME, "landmark_detection"?: {"sr"|"bicubic"|"hr":
          {"width", "eye_outer_width", "eye_dist"}}}},
      "average": {"psnr", "ssim", "steps": [{"psnr", "ssim", "nme"?}],
                  "bicubic": {"psnr", "ssim"}, "nme"?, "landmark_detection"?},
      "protocol": {... as folder mode, "lr", "bicubic", "nme"?, ...},
      "timing": {...}, "model": {...}, "num_images", "num_steps", "hr_dir", "lr_dir",
      "saliency"?: {target label: {hr file name: overlay file}}
    }

SR files are `sr/<stem>.png` (final step) and `steps/step_<t>/<stem>.png`
(every step, 1-based), relative to the output folder.
"""

import dataclasses
import os
import time
from typing import Optional

import numpy as np
import tensorflow as tf
from PIL import Image
from tqdm import tqdm

from dic_tf import atomic
from dic_tf import checkpoint as checkpoint_lib
from dic_tf import landmark_metrics as landmarks_lib
from dic_tf import metrics, report
from dic_tf import saliency as saliency_lib
from dic_tf.convert import load_official_weights
from dic_tf.data import annotations as annotations_lib
from dic_tf.data import preparation
from dic_tf.image_space import pixels_to_model_space
from dic_tf.models import build_stacked_hourglass
from dic_tf.models.dic import LR_SIZE_MULTIPLE

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
RESULTS_FILE = "results.json"
_SSIM_NOTES = {
    "official": (
        "As the authors' calc_metrics: the uint8 Y image is multiplied by 255, which "
        "wraps around, so SSIM is computed on 256 - Y; reproduces the published numbers."
    ),
    "standard": "Textbook SSIM on Y; differs from the official value from about the 6th decimal.",
}


def protocol(scale=8, ssim_variant="official"):
    """Describes the metric protocol (stored in `results.json`)."""
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
        "ssim_note": _SSIM_NOTES[ssim_variant],
        "ssim_window": f"Gaussian {metrics.SSIM_WINDOW_SIZE}x{metrics.SSIM_WINDOW_SIZE}, "
        f"sigma {metrics.SSIM_SIGMA}, valid region",
        "average": "arithmetic mean over images",
        "infinite_psnr": "identical images have infinite PSNR, written as null",
    }


def list_images(folder):
    """Sorted image file names (by extension) directly inside `folder`."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Image folder {folder!r} does not exist.")
    return sorted(
        name for name in os.listdir(folder)
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and os.path.isfile(os.path.join(folder, name))
    )


def load_rgb(path):
    """Reads an RGB image file.

    Returns:
        uint8 array `(H, W, 3)`.
    """
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read image {path!r}: {error}") from error
    if mode != "RGB":
        raise ValueError(
            f"Image {path!r} has mode {mode!r}; the protocol needs 8-bit RGB images."
        )
    return array


def match_files(sr_names, hr_names, sr_dir, hr_dir):
    """Pairs each SR file with its HR counterpart.

    The HR file with the same name is used; failing that, the unique HR file
    with the same stem (e.g. `x.png` vs `x.jpg`).

    Returns:
        (list of `(sr_name, hr_name)`, sorted list of unmatched HR names).
    """
    by_stem = {}
    for name in hr_names:
        by_stem.setdefault(os.path.splitext(name)[0], []).append(name)
    hr_set = set(hr_names)
    pairs = []
    for sr_name in sr_names:
        if sr_name in hr_set:
            pairs.append((sr_name, sr_name))
            continue
        candidates = by_stem.get(os.path.splitext(sr_name)[0], [])
        if not candidates:
            raise FileNotFoundError(
                f"No ground truth for {os.path.join(sr_dir, sr_name)!r}: expected "
                f"{os.path.join(hr_dir, sr_name)!r} (or the same stem with another extension)."
            )
        if len(candidates) > 1:
            raise ValueError(
                f"Ambiguous ground truth for {sr_name!r} in {hr_dir!r}: {sorted(candidates)}."
            )
        pairs.append((sr_name, candidates[0]))
    unmatched = sorted(hr_set - {hr for _, hr in pairs})
    return pairs, unmatched


def evaluate_folders(sr_dir, hr_dir, scale=8, ssim_variant="official", progress=True):
    """Official PSNR/SSIM of every SR image against its HR counterpart.

    Args:
        sr_dir: folder of the method's outputs.
        hr_dir: folder of the ground-truth images.
        scale: super-resolution factor, i.e. the cropped border.
        ssim_variant: "official" or "standard" (see `dic_tf.metrics.ssim_y`).
        progress: show a tqdm progress bar.

    Returns:
        The `results.json` dictionary described in the module docstring.
    """
    spec = protocol(scale, ssim_variant)
    sr_names = list_images(sr_dir)
    if not sr_names:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {sr_dir!r}.")
    pairs, unmatched = match_files(sr_names, list_images(hr_dir), sr_dir, hr_dir)
    images = {}
    psnrs, ssims = [], []
    for sr_name, hr_name in tqdm(pairs, desc="evaluating", unit="img", disable=not progress):
        sr_path = os.path.join(sr_dir, sr_name)
        hr_path = os.path.join(hr_dir, hr_name)
        sr = load_rgb(sr_path)
        hr = load_rgb(hr_path)
        if sr.shape != hr.shape:
            raise ValueError(
                f"Size mismatch: {sr_path!r} is {sr.shape[1]}x{sr.shape[0]} but "
                f"{hr_path!r} is {hr.shape[1]}x{hr.shape[0]} (width x height)."
            )
        psnr = metrics.psnr_y(sr, hr, border=scale)
        ssim = metrics.ssim_y(sr, hr, border=scale, variant=ssim_variant)
        psnrs.append(psnr)
        ssims.append(ssim)
        images[sr_name] = {"psnr": _json_float(psnr), "ssim": ssim, "hr_file": hr_name}
    return {
        "images": images,
        "average": {
            "psnr": _json_float(float(np.mean(psnrs))),
            "ssim": float(np.mean(ssims)),
        },
        "protocol": spec,
        "num_images": len(images),
        "sr_dir": os.path.abspath(sr_dir),
        "hr_dir": os.path.abspath(hr_dir),
        "unmatched_hr_files": unmatched,
    }


def write_results(results, output_dir):
    """Atomically writes `<output_dir>/results.json` (mode 0644 by default); returns its path."""
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, RESULTS_FILE)
    atomic.write_json(path, results, indent=2, allow_nan=False)
    return path


def run_folder_mode(sr_dir, hr_dir, output_dir, scale=8, ssim_variant="official", progress=True):
    """Evaluates two folders, writes `results.json` and prints a summary.

    Returns:
        The results dictionary.
    """
    results = evaluate_folders(
        sr_dir, hr_dir, scale=scale, ssim_variant=ssim_variant, progress=progress
    )
    path = write_results(results, output_dir)
    average = results["average"]
    psnr = "inf" if average["psnr"] is None else f"{average['psnr']:.4f}"
    print(
        f"{results['num_images']} images | PSNR (Y, border {scale}): {psnr} dB | "
        f"SSIM ({ssim_variant}): {average['ssim']:.6f}"
    )
    print(f"SSIM variant: {ssim_variant}. {_SSIM_NOTES[ssim_variant]}")
    if results["unmatched_hr_files"]:
        print(
            f"Note: {len(results['unmatched_hr_files'])} ground-truth images in {hr_dir!r} "
            "have no SR counterpart and were not evaluated."
        )
    print(f"Wrote {path}")
    return results


def _json_float(value):
    """float, or None for a non-finite value (strict JSON has no Infinity)."""
    return float(value) if np.isfinite(value) else None


SR_DIR = "sr"
STEPS_DIR = "steps"
SALIENCY_DIR = "saliency"
REPORT_DIR = "report"
DETECTION_SOURCES = ("sr", "bicubic", "hr")


@dataclasses.dataclass
class TestImage:
    """One test face.

    Attributes:
        name: HR file name (the key in `results.json`).
        hr: uint8 `(H, W, 3)` ground truth.
        lr: uint8 `(H / scale, W / scale, 3)` model input.
        lr_file: LR file name, or None when the LR was made from the HR.
        landmarks: optional float64 `(K, 2)` ground-truth `(x, y)` in HR pixels.
    """

    name: str
    hr: np.ndarray
    lr: np.ndarray
    lr_file: Optional[str] = None
    landmarks: Optional[np.ndarray] = None


@dataclasses.dataclass
class Prediction:
    """Model outputs for a batch of B LR faces, T steps.

    Attributes:
        sr: T uint8 `(B, H, W, 3)` SR images.
        heatmaps: T float32 `(B, h, w, K)` landmark heatmaps.
        attention: T entries, None (a step that used no attention, e.g. DIC's
            first) or float32 `(B, h, w, 5)`, the softmax of the merged heatmaps.
    """

    sr: list
    heatmaps: list
    attention: list


def normalize_rgb(images):
    """uint8 RGB `(..., 3)` -> float32 model space (`dic_tf.image_space`)."""
    return pixels_to_model_space(images)


def upscale_bicubic(lr, scale=8):
    """The bicubic baseline: Pillow bicubic upscaling of uint8 `(h, w, 3)` by `scale`."""
    height, width = lr.shape[:2]
    size = (width * scale, height * scale)
    return np.asarray(Image.fromarray(lr).resize(size, Image.Resampling.BICUBIC))


def landmarks_in_hr_frame(face, hr_shape):
    """Maps an annotation's landmarks into the prepared HR image.

    As the official preparation (`dic_tf.data.preparation.crop_and_resize`):
    subtract the crop origin, scale by HR side / crop side on each axis.

    Args:
        face: `dic_tf.data.annotations.FaceAnnotation` (original-image pixels).
        hr_shape: `(H, W, ...)` of the prepared HR image.

    Returns:
        float64 `(K, 2)` `(x, y)` in HR pixels.
    """
    xmin, ymin, xmax, ymax = face.bbox
    height, width = hr_shape[:2]
    factor = np.array([width / (xmax - xmin), height / (ymax - ymin)])
    return (np.asarray(face.landmarks, np.float64) - np.array([xmin, ymin])) * factor


def load_test_set(hr_dir, lr_dir=None, scale=8, annotations_path=None, num_keypoints=68):
    """Reads and checks a test set.

    Args:
        hr_dir: folder of prepared HR faces.
        lr_dir: optional folder of LR faces paired with `hr_dir` by file name;
            without it the LR is made with the official preparation (Pillow
            bicubic down by `scale`).
        scale: HR / LR side ratio.
        annotations_path: optional info `.json`/`.pkl` (see
            `dic_tf.data.annotations`); faces match images by file stem and
            their landmarks are mapped into the HR frame through their bbox.
        num_keypoints: landmarks per annotated face.

    Returns:
        `(list of TestImage, sorted HR names without an LR counterpart)`.

    Raises:
        FileNotFoundError, ValueError: naming the file and the sizes involved.
    """
    hr_names = list_images(hr_dir)
    if not hr_names:
        raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {hr_dir!r}.")
    if lr_dir:
        lr_names = list_images(lr_dir)
        if not lr_names:
            raise FileNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {lr_dir!r}.")
        pairs, unmatched = match_files(lr_names, hr_names, lr_dir, hr_dir)
    else:
        pairs, unmatched = [(None, name) for name in hr_names], []
    _check_unique_stems([hr_name for _, hr_name in pairs], hr_dir)
    test_set = []
    for lr_name, hr_name in pairs:
        hr_path = os.path.join(hr_dir, hr_name)
        hr = load_rgb(hr_path)
        if lr_name is None:
            lr = _official_lr(hr, hr_path, scale)
        else:
            lr = load_rgb(os.path.join(lr_dir, lr_name))
            _check_pair(lr, hr, os.path.join(lr_dir, lr_name), hr_path, scale)
        if test_set and hr.shape != test_set[0].hr.shape:
            first = os.path.join(hr_dir, test_set[0].name)
            raise ValueError(
                f"{hr_path!r} is {_size(hr)} but {first!r} is {_size(test_set[0].hr)} "
                "(width x height); every test image must have the same size (the model "
                "runs in batches)."
            )
        test_set.append(TestImage(hr_name, hr, lr, lr_name))
    if annotations_path:
        _attach_landmarks(test_set, annotations_path, num_keypoints)
    return test_set, unmatched


def _official_lr(hr, hr_path, scale):
    height, width = hr.shape[:2]
    if height != width or height % (scale * LR_SIZE_MULTIPLE):
        raise ValueError(
            f"HR image {hr_path!r} is {_size(hr)} (width x height): without --lr_dir the "
            "LR is made by the official preparation, which needs square HR images whose "
            f"side is a multiple of {scale * LR_SIZE_MULTIPLE} (LR side a multiple of "
            f"{LR_SIZE_MULTIPLE} for DIC)."
        )
    return preparation.make_lr(hr, scale)


def _check_pair(lr, hr, lr_path, hr_path, scale):
    expected = (lr.shape[0] * scale, lr.shape[1] * scale, 3)
    if hr.shape != expected:
        raise ValueError(
            f"Size mismatch: LR {lr_path!r} is {_size(lr)}, so x{scale} its HR should be "
            f"{expected[1]}x{expected[0]}, but HR {hr_path!r} is {_size(hr)} (width x height)."
        )
    if lr.shape[0] % LR_SIZE_MULTIPLE or lr.shape[1] % LR_SIZE_MULTIPLE:
        raise ValueError(
            f"LR image {lr_path!r} is {_size(lr)} (width x height); DIC needs LR sides "
            f"that are multiples of {LR_SIZE_MULTIPLE}."
        )


def _attach_landmarks(test_set, path, num_keypoints):
    faces = annotations_lib.load_annotations(path, num_keypoints=num_keypoints)
    by_stem = {}
    for face in faces:
        by_stem.setdefault(_stem(face.name), []).append(face)
    for item in test_set:
        candidates = by_stem.get(_stem(item.name), [])
        if len(candidates) > 1:
            raise ValueError(
                f"Ambiguous annotations for {item.name!r} in {path!r}: "
                f"{sorted(face.name for face in candidates)}."
            )
        if candidates:
            item.landmarks = landmarks_in_hr_frame(candidates[0], item.hr.shape)
    if faces and all(item.landmarks is None for item in test_set):
        raise ValueError(
            f"None of the {len(faces)} faces in {path!r} matches a test image by file "
            f"stem (e.g. {faces[0].name!r} vs {test_set[0].name!r})."
        )


def _check_unique_stems(names, folder):
    seen = {}
    for name in names:
        other = seen.setdefault(_stem(name), name)
        if other != name:
            raise ValueError(
                f"{other!r} and {name!r} in {folder!r} share a file stem; SR outputs are "
                "written as <stem>.png, so stems must be unique."
            )


class KerasPredictor:
    """Runs a DIC Keras model on uint8 LR batches.

    Args:
        model: a built `DIC` (or any model with DIC's output dict).
    """

    def __init__(self, model):
        self.model = model
        self.num_keypoints = model.config.num_keypoints

    def __call__(self, lr):
        """uint8 `(B, h, w, 3)` -> `Prediction`."""
        outputs = self.model.predict_on_batch(normalize_rgb(lr))
        return Prediction(
            sr=[metrics.normalized_to_uint8(np.asarray(sr)) for sr in outputs["sr"]],
            heatmaps=[np.asarray(h, np.float32) for h in outputs["heatmaps"]],
            attention=[None] + [_softmax(np.asarray(c, np.float32)) for c in outputs["components"]],
        )


class SavedModelPredictor:
    """Runs an exported SavedModel's `serving_default` signature.

    The signature takes one tensor, RGB in [0, 1] `(B, h, w, 3)`, and returns
    at least `sr` (RGB in [0, 1], `(B, H, W, 3)`, the final step) and
    `heatmaps` (`(B, h', w', K)`); only the final step is evaluated.

    Args:
        path: the SavedModel folder.
    """

    def __init__(self, path):
        if not os.path.isdir(path):
            raise FileNotFoundError(f"SavedModel folder {path!r} does not exist.")
        self._loaded = tf.saved_model.load(path)
        if "serving_default" not in self._loaded.signatures:
            raise ValueError(
                f"SavedModel {path!r} has no 'serving_default' signature; it has "
                f"{sorted(self._loaded.signatures)}."
            )
        self._function = self._loaded.signatures["serving_default"]
        inputs = self._function.structured_input_signature[1]
        outputs = self._function.structured_outputs
        missing = sorted({"sr", "heatmaps"} - set(outputs))
        if len(inputs) != 1 or missing:
            raise ValueError(
                f"SavedModel {path!r}: serving_default must take one image tensor and return "
                f"'sr' and 'heatmaps'; it takes {sorted(inputs)} and returns {sorted(outputs)}."
            )
        self._input_name = next(iter(inputs))
        self.num_keypoints = outputs["heatmaps"].shape[-1]

    def __call__(self, lr):
        """uint8 `(B, h, w, 3)` -> `Prediction` with one step."""
        outputs = self._function(**{self._input_name: tf.constant(lr, tf.float32) / 255.0})
        sr = outputs["sr"].numpy()
        return Prediction(
            sr=[metrics.normalized_to_uint8(sr, mean=(0.0, 0.0, 0.0))],
            heatmaps=[outputs["heatmaps"].numpy().astype(np.float32)],
            attention=[None],
        )


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
    """
    if os.path.isdir(path):
        return checkpoint_lib.load_stacked_hourglass(path)[0]
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
    """
    found = []
    for start in range(0, len(images), batch_size):
        heatmaps = np.asarray(detector.predict_on_batch(normalize_rgb(images[start:start + batch_size])))
        stride = images.shape[2] // heatmaps.shape[2]
        found.append(landmarks_lib.refined_landmarks(heatmaps, stride=stride))
    return np.concatenate(found)


def model_protocol(scale=8, ssim_variant="official", lr_given=False):
    """`protocol()` plus how model mode makes its inputs and landmark numbers."""
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


def evaluate_model(predictor, test_set, output_dir, scale=8, ssim_variant="official",
                   batch_size=16, detector=None, progress=True):
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
        `(results dict, list of report.ImageRecord)`; see the module docstring.
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
            if start:
                # A short last batch is padded to the traced batch shape (no retracing).
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
        results["average"]["landmark_detection"] = _landmark_detection(
            detector, test_set, records, images, batch_size
        )
    return results, records


def _evaluate_item(item, i, prediction, psnr, ssim, bicubic, bicubic_scores, output_dir,
                   all_annotated):
    """results.json entry and report record of batch element `i`."""
    stem = _stem(item.name)
    sr_steps = [sr[i] for sr in prediction.sr]
    stride = item.hr.shape[1] // prediction.heatmaps[0].shape[2]
    points = [landmarks_lib.peaks_to_image(landmarks_lib.heatmap_peaks(h[i]), stride)
              for h in prediction.heatmaps]
    steps = []
    for t, sr in enumerate(sr_steps):
        steps.append({
            "psnr": _json_float(psnr[t][i]),
            "ssim": float(ssim[t][i]),
            "sr_file": _write_png(output_dir, f"{STEPS_DIR}/step_{t + 1}/{stem}.png", sr),
        })
    if item.landmarks is not None:
        for step, step_points in zip(steps, points):
            step["nme"] = float(landmarks_lib.nme_per_image(step_points[None], item.landmarks[None])[0])
    entry = {
        "psnr": steps[-1]["psnr"],
        "ssim": steps[-1]["ssim"],
        "steps": steps,
        "bicubic": {"psnr": _json_float(bicubic_scores["psnr"]), "ssim": bicubic_scores["ssim"]},
        "sr_file": _write_png(output_dir, f"{SR_DIR}/{stem}.png", sr_steps[-1]),
        "lr_file": item.lr_file,
    }
    if item.landmarks is not None:
        entry["nme"] = steps[-1]["nme"]
    metric_names = ("psnr", "ssim", "nme") if all_annotated else ("psnr", "ssim")
    attention = [None if a is None else a[i] for a in prediction.attention]
    record = report.ImageRecord(
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


def _landmark_detection(detector, test_set, records, images, batch_size):
    """Adds per-image detection errors to `images`; returns their means per source."""
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
        errors = landmarks_lib.landmark_errors(detect_landmarks(detector, faces[source], batch_size), gt)
        for row, k in enumerate(annotated):
            per_image = images[test_set[k].name].setdefault("landmark_detection", {})
            per_image[source] = {name: float(values[row]) for name, values in errors.items()}
        means[source] = {name: float(np.mean(values)) for name, values in errors.items()}
    means["num_images"] = len(annotated)
    return means


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


def _softmax(x):
    """Softmax over the last axis."""
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _write_png(output_dir, relative_path, image):
    path = os.path.join(output_dir, relative_path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)
    return relative_path


def _stem(name):
    return os.path.splitext(os.path.basename(name))[0]


def _size(image):
    return f"{image.shape[1]}x{image.shape[0]}"


def write_saliency(model, test_set, records, targets, output_dir, batch_size=16):
    """Saliency overlays of every target on every LR face.

    Writes `saliency/<target label>/<stem>.png` (the map over the
    nearest-upscaled LR) and adds each map to the matching record.

    Args:
        model: the Keras DIC.
        test_set: list of `TestImage`.
        records: the `report.ImageRecord`s of `test_set`, same order.
        targets: `dic_tf.saliency.Target`s.
        output_dir: output folder.
        batch_size: faces per gradient computation.

    Returns:
        {target label: {HR file name: overlay file relative to output_dir}}.
    """
    lr = np.stack([item.lr for item in test_set])
    files = {}
    for target in targets:
        maps = saliency_lib.saliency_maps(model, lr, target, batch_size)
        files[target.label] = {}
        for item, record, heat in zip(test_set, records, maps):
            height, width = item.hr.shape[:2]
            upscaled = np.asarray(
                Image.fromarray(item.lr).resize((width, height), Image.Resampling.NEAREST)
            )
            files[target.label][item.name] = _write_png(
                output_dir, f"{SALIENCY_DIR}/{target.label}/{_stem(item.name)}.png",
                report.heat_overlay(upscaled, heat),
            )
            record.saliency = {**(record.saliency or {}), target.label: heat}
    return files


def run_model_mode(predictor, test_set, output_dir, model_info, keras_model=None,
                   report_dir=None, scale=8, ssim_variant="official", batch_size=16,
                   detector=None, saliency_targets=(), num_shown=8, progress=True,
                   sources=None):
    """Evaluates a model, writes SR images, saliency, the report and `results.json`.

    Args:
        predictor: see `evaluate_model`.
        test_set: list of `TestImage`.
        output_dir: output folder.
        model_info: description of the model stored under "model".
        keras_model: the Keras DIC, needed for saliency.
        report_dir: report folder (default `<output_dir>/report`).
        scale, ssim_variant, batch_size, detector, progress: see `evaluate_model`.
        saliency_targets: `dic_tf.saliency.Target`s.
        num_shown: strips in each of the report's best/worst sections.
        sources: extra keys stored in `results.json` (e.g. input folders).

    Returns:
        The results dictionary.
    """
    if saliency_targets and keras_model is None:
        raise ValueError(
            "Saliency needs the Keras model (--checkpoint or --pytorch_checkpoint); a "
            "SavedModel only exposes its serving signature."
        )
    report_dir = report_dir or os.path.join(output_dir, REPORT_DIR)
    check_report_dir(report_dir, output_dir)
    results, records = evaluate_model(
        predictor, test_set, output_dir, scale=scale, ssim_variant=ssim_variant,
        batch_size=batch_size, detector=detector, progress=progress,
    )
    results["model"] = model_info
    results.update(sources or {})
    if saliency_targets:
        results["saliency"] = write_saliency(
            keras_model, test_set, records, saliency_targets, output_dir, batch_size
        )
    report_path = report.write_report(
        records, report_dir,
        title=f"DIC evaluation: {os.path.basename(str(model_info.get('path', '')))}",
        num_shown=num_shown, protocol=results["protocol"],
        summary_tables=_summary_tables(results),
    )
    results["report"] = os.path.abspath(report_path)
    path = write_results(results, output_dir)
    _print_model_summary(results, path)
    return results


def check_report_dir(report_dir, output_dir):
    """Refuses a report folder that would replace the outputs or a folder the user made.

    The report folder is replaced as a whole, so it may not be `output_dir`
    or a folder above it, and must be new, empty or an earlier report.
    """
    report_path, output_path = os.path.realpath(report_dir), os.path.realpath(output_dir)
    if os.path.commonpath([report_path, output_path]) == report_path:
        raise ValueError(
            f"--report_dir={report_dir} would replace --output_dir={output_dir} (it is the "
            "same folder or above it); give a report folder of its own."
        )
    report.check_report_dir(report_dir)


def _summary_tables(results):
    tables = {}
    detection = results["average"].get("landmark_detection")
    if detection:
        title = (f"Landmark detection on {detection['num_images']} annotated faces "
                 "(RMSE / normaliser)")
        tables[title] = {source: detection[source] for source in DETECTION_SOURCES}
    timing = results["timing"]
    tables[f"Run time (batch size {timing['batch_size']})"] = {
        "model": {
            "seconds / image": timing["seconds_per_image"],
            "after first batch": timing["seconds_per_image_after_first_batch"],
        }
    }
    return tables


def _print_model_summary(results, path):
    average = results["average"]

    def line(label, row):
        psnr = "inf" if row["psnr"] is None else f"{row['psnr']:.4f}"
        nme = f" | NME {row['nme']:.4f}" if "nme" in row else ""
        return f"{label:>8}: PSNR {psnr} dB | SSIM {row['ssim']:.6f}{nme}"

    print(f"{results['num_images']} images, {results['num_steps']} steps "
          f"(PSNR/SSIM on Y, border {results['protocol']['border']}, "
          f"SSIM {results['protocol']['ssim']})")
    print(line("bicubic", average["bicubic"]))
    for t, step in enumerate(average["steps"]):
        print(line(f"step {t + 1}", step))
    detection = average.get("landmark_detection")
    if detection:
        for source in DETECTION_SOURCES:
            errors = ", ".join(f"{k} {v:.4f}" for k, v in detection[source].items())
            print(f"landmark detection on {source}: {errors}")
    print(f"model time: {results['timing']['seconds_per_image']:.4f} s/image")
    print(f"Wrote {path} and {results['report']}")
