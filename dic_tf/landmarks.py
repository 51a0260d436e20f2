"""Former name of `dic_tf.landmark_metrics`, kept only for dic_tf/training/validation.py.

Temporary (issue 13): delete this file once the training package imports
`dic_tf.landmark_metrics` directly.
"""

from dic_tf.landmark_metrics import heatmap_peaks, nme_per_image, peaks_to_image  # noqa: F401
