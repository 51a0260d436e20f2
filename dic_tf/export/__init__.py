"""Exports of DIC: TF Serving SavedModel, warm-up requests, TFLite, REST helpers."""

from dic_tf.export.exporter import export, format_report, next_version
from dic_tf.export.serving import SIGNATURE_NAMES, DICServingModule

__all__ = ["DICServingModule", "SIGNATURE_NAMES", "export", "format_report", "next_version"]
