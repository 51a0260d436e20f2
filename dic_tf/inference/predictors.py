"""One predictor contract for a Keras DIC and an exported SavedModel.

A predictor is a callable uint8 LR batch `(B, h, w, 3)` -> `Prediction`, with
`lr_size` (the LR side it expects) and `num_keypoints`. `KerasPredictor` runs
the model's `InferenceFunction` (compiled once, as validation does) and gives
every step; `SavedModelPredictor` runs an export's `serving_default`
signature and gives its one step, the final one. predict.py, evaluate.py and
`dic_tf.photos` use either through this contract.

SR images are quantized as the authors' test code (`metrics.normalized_to_uint8`);
landmarks follow their peak rule (`metrics.landmarks.heatmap_peaks` x the
heatmap stride), the same for both predictors.
"""

import dataclasses
import json
import os

import numpy as np

from dic_tf import metrics
from dic_tf.inference.function import InferenceFunction
from dic_tf.inference.loading import resolve_saved_model_dir
from dic_tf.metrics import landmarks as landmark_metrics
from dic_tf.utils.image_space import pixels_to_model_space

EXPORT_REPORT = "export_report.json"


@dataclasses.dataclass
class Prediction:
    """Model outputs for a batch of B LR faces, T steps.

    Attributes:
        sr: T uint8 `(B, H, W, 3)` SR images.
        heatmaps: T float32 `(B, h, w, K)` landmark heatmaps.
        landmarks: T float64 `(B, K, 2)` `(x, y)` in SR pixels, the peaks of `heatmaps`.
        attention: T entries, None (a step that used no attention, e.g. DIC's
            first or a SavedModel's) or float32 `(B, h, w, 5)`, the softmax of
            the merged heatmaps.

    Example:
        prediction = KerasPredictor(model)(np.zeros((2, 16, 16, 3), np.uint8))
        prediction.sr[-1].shape  # (2, 128, 128, 3), the final step
    """

    sr: list
    heatmaps: list
    landmarks: list
    attention: list

    def __post_init__(self):
        lengths = {name: len(getattr(self, name)) for name in ("sr", "heatmaps", "landmarks", "attention")}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"Prediction: every output needs one entry per step; got {lengths} steps.")

    @property
    def num_steps(self):
        return len(self.sr)

    def first(self, count):
        """The first `count` faces of every step.

        Example:
            prediction.first(3).sr[0].shape[0]  # 3
        """
        return Prediction(
            sr=[sr[:count] for sr in self.sr],
            heatmaps=[h[:count] for h in self.heatmaps],
            landmarks=[p[:count] for p in self.landmarks],
            attention=[None if a is None else a[:count] for a in self.attention],
        )


def prediction_from_outputs(outputs):
    """DIC's output dict (numpy, model space) -> `Prediction` of every step.

    Args:
        outputs: {"sr": T x `(B, H, W, 3)`, "heatmaps": T x `(B, h, w, K)`,
            "components": (T - 1) x `(B, h, w, 5)`}, as `InferenceFunction` returns.

    Example:
        prediction = prediction_from_outputs(InferenceFunction(model)(lr_model_space))
    """
    sr = [metrics.normalized_to_uint8(np.asarray(step, np.float32)) for step in outputs["sr"]]
    heatmaps = [np.asarray(h, np.float32) for h in outputs["heatmaps"]]
    components = [_softmax(np.asarray(c, np.float32)) for c in outputs.get("components", ())]
    return Prediction(
        sr=sr,
        heatmaps=heatmaps,
        landmarks=[heatmap_landmarks(h, sr[-1].shape[2]) for h in heatmaps],
        attention=[None] * (len(sr) - len(components)) + components,
    )


def heatmap_landmarks(heatmaps, sr_width):
    """float64 `(B, K, 2)` `(x, y)` SR pixels of the peaks of float `(B, h, w, K)` heatmaps.

    Example:
        heatmap_landmarks(np.zeros((1, 32, 32, 68), np.float32), 128).shape  # (1, 68, 2)
    """
    stride = sr_width // heatmaps.shape[2]
    peaks = landmark_metrics.heatmap_peaks(heatmaps)
    return landmark_metrics.peaks_to_image(peaks, stride).astype(np.float64)


class KerasPredictor:
    """Runs a Keras DIC on uint8 LR batches: every step (its `InferenceFunction`, compiled once).

    Args:
        model: a built `DIC` (or any model with DIC's output dict and `config`).
        lr_size: the LR side inputs are brought to (predict.py, `dic_tf.photos`);
            default the model's, `config.lr_size` (128 / scale).
        batch_size: see `InferenceFunction` (None: the first call's batch size).
        validation: the model's validation record, `load_dic`'s
            `info["validation"]` (None: unknown).

    Attributes:
        scale: the model's SR factor (8, 4 or 2); lr_size, num_keypoints, validation.

    Example:
        prediction = KerasPredictor(model)(np.zeros((2, 16, 16, 3), np.uint8))
        len(prediction.sr)  # config.num_steps
    """

    def __init__(self, model, lr_size=None, batch_size=None, validation=None):
        self.model = model
        self.validation = validation
        self.scale = model.config.scale
        self.lr_size = lr_size or model.config.lr_size
        self.num_keypoints = model.config.num_keypoints
        self.forward = InferenceFunction(model, batch_size)

    def __call__(self, lr):
        """uint8 `(B, h, w, 3)` -> `Prediction` with every step."""
        return prediction_from_outputs(self.forward(pixels_to_model_space(lr)))


class SavedModelPredictor:
    """Runs an exported SavedModel's `serving_default` signature on uint8 LR batches.

    The signature takes one tensor, RGB in [0, 1] `(B, h, w, 3)`, and returns
    at least `sr` (RGB in [0, 1], `(B, H, W, 3)`, the final step) and
    `heatmaps` (`(B, h', w', K)`): a `Prediction` of one step.

    Args:
        path: a version directory or a model base path (its latest version).
        lr_size: the LR side inputs are brought to; None: the export report's
            `lr_size` (`dic_tf.export`), else 128 / scale.

    Attributes:
        scale: the model's SR factor, from the export report (else 8, the
            paper's); lr_size, num_keypoints.
        validation: the export report's validation record of the exported
            weights (`dic_tf.export`), or None.

    Example:
        prediction = SavedModelPredictor("exports/dic")(lr)  # one step
    """

    def __init__(self, path, lr_size=None):
        import tensorflow as tf

        self.path = resolve_saved_model_dir(path)
        self._tf = tf
        self._loaded = tf.saved_model.load(self.path)
        if "serving_default" not in self._loaded.signatures:
            raise ValueError(
                f"SavedModel {self.path!r} has no 'serving_default' signature; it has "
                f"{sorted(self._loaded.signatures)}."
            )
        self._function = self._loaded.signatures["serving_default"]
        inputs = self._function.structured_input_signature[1]
        outputs = self._function.structured_outputs
        missing = sorted({"sr", "heatmaps"} - set(outputs))
        if len(inputs) != 1 or missing:
            raise ValueError(
                f"SavedModel {self.path!r}: serving_default must take one image tensor and return "
                f"'sr' and 'heatmaps'; it takes {sorted(inputs)} and returns {sorted(outputs)}."
            )
        self._input_name = next(iter(inputs))
        self.num_keypoints = outputs["heatmaps"].shape[-1]
        report = _export_report(self.path)
        self.scale = _recorded_scale(report) or 8
        self.lr_size = lr_size or report.get("lr_size", 128 // self.scale)
        self.validation = report.get("validation")

    def __call__(self, lr):
        """uint8 `(B, h, w, 3)` -> `Prediction` with one step."""
        outputs = self._function(**{self._input_name: self._tf.constant(lr, self._tf.float32) / 255.0})
        sr = metrics.normalized_to_uint8(outputs["sr"].numpy(), mean=(0.0, 0.0, 0.0))
        heatmaps = outputs["heatmaps"].numpy().astype(np.float32)
        return Prediction(sr=[sr], heatmaps=[heatmaps], landmarks=[heatmap_landmarks(heatmaps, sr.shape[2])],
                          attention=[None])


def saved_model_scale(path):
    """The SR factor recorded in an export's `export_report.json`, or None for a SavedModel without one.

    Args:
        path: the SavedModel folder (`resolve_saved_model_dir`'s result).

    Example:
        saved_model_scale("exports/dic/1")  # 8
    """
    return _recorded_scale(_export_report(path))


def _recorded_scale(report):
    return report.get("config", {}).get("scale")


def _export_report(path):
    """The `export_report.json` of an export (`dic_tf.export`), or {} for a SavedModel without one."""
    report = os.path.join(path, EXPORT_REPORT)
    if not os.path.isfile(report):
        return {}
    with open(report) as f:
        return json.load(f)


def _softmax(x):
    """Softmax over the last axis."""
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
