"""The authors' MultiStepLR learning-rate schedule, as a function and as a Keras schedule."""

import keras
from keras import ops


def multistep_learning_rate(step, base, milestones, gamma):
    """`base * gamma ** (number of milestones <= step)` (PyTorch MultiStepLR).

    Args:
        step: optimizer steps taken so far.
        base: initial learning rate.
        milestones: increasing steps at which the rate is multiplied by gamma.
        gamma: decay factor.
    """
    return base * gamma ** sum(1 for m in milestones if step >= m)


@keras.saving.register_keras_serializable(package="dic_tf")
class MultiStepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """`multistep_learning_rate` of the optimizer step, for `compile()`.

    Example:
        >>> schedule = MultiStepSchedule(1e-4, (10_000, 20_000), 0.5)
        >>> float(schedule(15_000))
        5e-05
    """

    def __init__(self, initial_learning_rate, milestones, gamma=0.5):
        self.initial_learning_rate = float(initial_learning_rate)
        self.milestones = tuple(int(m) for m in milestones)
        if any(not 0 <= m < 2**31 for m in self.milestones):
            raise ValueError(f"lr milestones {self.milestones}: expected steps in [0, 2**31).")
        self.gamma = float(gamma)

    def __call__(self, step):
        base = ops.convert_to_tensor(self.initial_learning_rate, "float32")
        if not self.milestones:
            return base
        step = ops.cast(step, "int32")
        passed = ops.sum(ops.cast(ops.greater_equal(step, ops.array(self.milestones, "int32")),
                                  "float32"))
        return base * ops.power(ops.convert_to_tensor(self.gamma, "float32"), passed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "milestones": list(self.milestones), "gamma": self.gamma}
