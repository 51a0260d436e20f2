"""Training DIC through Keras `fit()`: tasks, the grouped optimizer, callbacks, the run.

Importing it registers the serializable training classes (the tasks, the
optimizer, the learning-rate schedule).
"""

from dic_tf.training.gan import DICGANTask
from dic_tf.training.optimizer import GroupedAdam
from dic_tf.training.schedule import MultiStepSchedule
from dic_tf.training.tasks import DICTask, LandmarkTask

__all__ = ["DICGANTask", "DICTask", "GroupedAdam", "LandmarkTask", "MultiStepSchedule"]
