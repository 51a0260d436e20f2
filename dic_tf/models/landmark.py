"""Former name of `dic_tf.models.landmark_estimators`, kept only for dic_tf/training/init.py.

Temporary (issue 13): delete this file once the training package imports
`dic_tf.models.landmark_estimators` directly.
"""

from dic_tf.models.landmark_estimators import (  # noqa: F401
    FeedbackHourglassConfig,
    build_feedback_hourglass,
)
