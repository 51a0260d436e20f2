"""Keras models: DIC, the stacked-hourglass evaluator and LightCNN-9."""

from dic_tf.models.dic import DIC, build_dic
from dic_tf.models.landmark_estimators import (
    FeedbackHourglassConfig,
    FeedbackHourglassModel,
    StackedHourglassConfig,
    StackedHourglassModel,
    build_feedback_hourglass,
    build_stacked_hourglass,
)
from dic_tf.models.lightcnn import LightCNNDiscriminator, LightCNNFeatures, build_lightcnn

__all__ = [
    "DIC",
    "FeedbackHourglassConfig",
    "FeedbackHourglassModel",
    "LightCNNDiscriminator",
    "LightCNNFeatures",
    "StackedHourglassConfig",
    "StackedHourglassModel",
    "build_dic",
    "build_feedback_hourglass",
    "build_lightcnn",
    "build_stacked_hourglass",
]
