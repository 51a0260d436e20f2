"""Backend-agnostic pieces of DIC training, shared by the TensorFlow and JAX steps.

Both train steps optimise the same `dic_losses` with two Adams: one for the
SR branch (every step) and one for the feedback hourglass, which stays frozen
until `release_hourglass_step` while the heatmap loss still reaches the SR
branch through it. The learning rate follows the authors' MultiStepLR.
"""

import dataclasses

import keras

from dic_tf.training.schedule import multistep_learning_rate

# PyTorch's Adam defaults (the authors' optimiser); Keras' epsilon is 1e-7.
ADAM_EPSILON = 1e-8


def make_adam(learning_rate, name):
    """Adam with PyTorch's defaults: betas (0.9, 0.999), epsilon 1e-8."""
    return keras.optimizers.Adam(learning_rate, epsilon=ADAM_EPSILON, name=name)


@dataclasses.dataclass
class TrainConfig:
    """Optimisation settings of a DIC run (defaults: the paper's CelebA recipe)."""

    learning_rate: float = 1e-4
    lr_milestones: tuple = (10_000, 20_000, 40_000, 80_000)
    lr_gamma: float = 0.5
    pixel_weight: float = 1.0
    heatmap_weight: float = 0.1
    pixel_loss_mode: str = "every_step"
    release_hourglass_step: int = 2000
    loss_scale: bool = False
    initial_loss_scale: float = 2.0**15
    loss_scale_growth_steps: int = 2000

    def learning_rate_at(self, step):
        return multistep_learning_rate(step, self.learning_rate, self.lr_milestones, self.lr_gamma)

    def hourglass_trains_at(self, step):
        """Whether optimizer step `step` (0-based) updates the hourglass."""
        return step >= self.release_hourglass_step


def split_variables(model):
    """(SR-branch variables, hourglass variables) of a DIC model."""
    hourglass_ids = {id(v) for v in model.hourglass.trainable_variables}
    sr = [v for v in model.trainable_variables if id(v) not in hourglass_ids]
    return sr, list(model.hourglass.trainable_variables)
