"""The two model runners of model mode: a Keras DIC and an exported SavedModel.

Each is a callable uint8 LR batch `(B, h, w, 3)` -> `Prediction`.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from dic_tf import metrics
from dic_tf.inference.function import InferenceFunction
from dic_tf.utils.image_space import pixels_to_model_space


@dataclasses.dataclass
class Prediction:
    """Model outputs for a batch of B LR faces, T steps.

    Attributes:
        sr: T uint8 `(B, H, W, 3)` SR images.
        heatmaps: T float32 `(B, h, w, K)` landmark heatmaps.
        attention: T entries, None (a step that used no attention, e.g. DIC's
            first) or float32 `(B, h, w, 5)`, the softmax of the merged heatmaps.

    Example:
        prediction = KerasPredictor(model)(lr)
        len(prediction.sr)  # num_steps
    """

    sr: list
    heatmaps: list
    attention: list


class KerasPredictor:
    """Runs a DIC Keras model on uint8 LR batches (its `InferenceFunction`, compiled once).

    Args:
        model: a built `DIC` (or any model with DIC's output dict).

    Example:
        prediction = KerasPredictor(model)(np.zeros((2, 16, 16, 3), np.uint8))
    """

    def __init__(self, model):
        self.model = model
        self.num_keypoints = model.config.num_keypoints
        self.forward = InferenceFunction(model)

    def __call__(self, lr):
        """uint8 `(B, h, w, 3)` -> `Prediction`."""
        outputs = self.forward(pixels_to_model_space(lr))
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

    Example:
        prediction = SavedModelPredictor("exports/dic/1")(lr)  # one step
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


def _softmax(x):
    """Softmax over the last axis."""
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
