"""Landmark models: the stacked-hourglass evaluator and DIC's landmark branch alone."""

import dataclasses

import keras

from dic_tf.layers import FeedbackHourglass, StackedHourglass
from dic_tf.models.symbolic_build import SymbolicBuild


@dataclasses.dataclass
class StackedHourglassConfig:
    """Architecture of the stacked-hourglass landmark evaluator (the paper's: 256, 4, 68).

    Example:
        config = StackedHourglassConfig(num_stacks=2)
        config.to_dict()  # {'num_features': 256, 'num_stacks': 2, 'num_keypoints': 68}
    """

    num_features: int = 256
    num_stacks: int = 4
    num_keypoints: int = 68

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class FeedbackHourglassConfig:
    """DIC's landmark branch trained alone: `DICConfig.hg_num_features`,
    `num_keypoints` and the `num_steps` the recurrence is unrolled for.

    Example:
        config = FeedbackHourglassConfig(num_features=128, num_steps=2)
    """

    num_features: int = 256
    num_keypoints: int = 68
    num_steps: int = 4

    def to_dict(self):
        return dataclasses.asdict(self)


@keras.saving.register_keras_serializable(package="dic_tf")
class StackedHourglassModel(SymbolicBuild, keras.Model):
    """Stacked hourglass (BatchNorm, 'mean' connections) as a Keras model.

    Inputs: faces [B, H, W, 3] (normalised space), H and W multiples of 64.
    Returns: the last stack's heatmaps [B, H/4, W/4, num_keypoints], or every
    stack's (a list) with `all_stacks=True`.

    Example:
        model = StackedHourglassModel(num_features=256, num_stacks=4)
        heatmaps = model(np.zeros((1, 128, 128, 3), "float32"))  # (1, 32, 32, 68)
    """

    def __init__(self, num_features=256, num_stacks=4, num_keypoints=68, **kwargs):
        super().__init__(**kwargs)
        self.num_features = num_features
        self.num_stacks = num_stacks
        self.num_keypoints = num_keypoints
        self.network = StackedHourglass(num_features, num_stacks, num_keypoints, name="hg")

    def call(self, images, training=None, all_stacks=False):
        return self.network(images, training=training, all_stacks=all_stacks)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_features=self.num_features,
            num_stacks=self.num_stacks,
            num_keypoints=self.num_keypoints,
        )
        return config


def build_stacked_hourglass(num_features=256, num_stacks=4, num_keypoints=68, image_size=128):
    """Builds the evaluator with weights created.

    Example:
        detector = build_stacked_hourglass(256, 4, 68)
        load_official_weights(detector, "HG_68_CelebA.pth")
    """
    model = StackedHourglassModel(num_features, num_stacks, num_keypoints)
    model.build((1, image_size, image_size, 3))  # one symbolic pass: no op run, no JAX op compiled
    return model


@keras.saving.register_keras_serializable(package="dic_tf")
class FeedbackHourglassModel(SymbolicBuild, keras.Model):
    """DIC's feedback hourglass alone, unrolled on one face for landmark pretraining.

    Step 0 runs `FeedbackHourglass(images)`; step t > 0 runs it on the same
    images with the hidden state of step t - 1, as DIC does on its SR images.
    `self.hourglass` has the variables of `DIC.hourglass`.

    Inputs: faces [B, H, W, 3] (normalised space), H and W multiples of 64.
    Returns: list of `num_steps` heatmaps [B, H/4, W/4, num_keypoints].

    Example:
        model = FeedbackHourglassModel(num_steps=2)
        heatmaps = model(np.zeros((1, 128, 128, 3), "float32"))  # one per step
    """

    def __init__(self, num_features=256, num_keypoints=68, num_steps=4, **kwargs):
        super().__init__(**kwargs)
        if num_steps < 1:
            raise ValueError(f"FeedbackHourglassModel: num_steps={num_steps} must be >= 1.")
        self.num_features = num_features
        self.num_keypoints = num_keypoints
        self.num_steps = num_steps
        self.hourglass = FeedbackHourglass(num_features, num_keypoints, name="hourglass")

    def call(self, images):
        heatmaps, hidden = self.hourglass(images)
        steps = [heatmaps]
        for _ in range(1, self.num_steps):
            heatmaps, hidden = self.hourglass(images, hidden)
            steps.append(heatmaps)
        return steps

    def get_config(self):
        config = super().get_config()
        config.update(
            num_features=self.num_features,
            num_keypoints=self.num_keypoints,
            num_steps=self.num_steps,
        )
        return config


def build_feedback_hourglass(config, image_size=128):
    """Builds a `FeedbackHourglassModel` for a `FeedbackHourglassConfig`, weights created.

    Example:
        model = build_feedback_hourglass(FeedbackHourglassConfig())
    """
    model = FeedbackHourglassModel(config.num_features, config.num_keypoints, config.num_steps)
    model.build((1, image_size, image_size, 3))  # one symbolic pass: no op run, no JAX op compiled
    return model
