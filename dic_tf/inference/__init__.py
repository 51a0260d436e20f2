"""Inference: the compiled forward pass, model loading and one predictor contract.

Example:
    from dic_tf import inference

    model, _ = inference.load_dic(checkpoint="runs/dic/checkpoints")
    prediction = inference.KerasPredictor(model)(lr)  # lr: uint8 (B, 16, 16, 3)
    prediction.sr[-1]                                  # uint8 (B, 128, 128, 3), the final step
    prediction = inference.SavedModelPredictor("exports/dic")(lr)  # the same contract, one step
"""

from dic_tf.inference.function import InferenceFunction
from dic_tf.inference.loading import load_dic, resolve_saved_model_dir
from dic_tf.inference.predictors import KerasPredictor, Prediction, SavedModelPredictor

__all__ = [
    "InferenceFunction",
    "KerasPredictor",
    "Prediction",
    "SavedModelPredictor",
    "load_dic",
    "resolve_saved_model_dir",
]
