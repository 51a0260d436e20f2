"""The custom TensorFlow train step of a landmark network trained alone.

Two networks are trained this way on HR faces and their Gaussian heatmaps:

* DIC's feedback hourglass (`FeedbackHourglassModel`, `--mode=hg_pretrain`),
  unrolled for `num_steps` with its hidden state passed from step to step;
  its weights initialise DIC's landmark branch (`--hg_init`);
* the stacked-hourglass landmark evaluator (`StackedHourglassModel`,
  `--mode=hg_eval`), BatchNorm in training mode, every stack supervised.

The loss is the heatmap MSE summed over the steps (stacks); one Adam updates
every weight, through the non-finite guard of `dic_tf.training.guard`.
"""

import dataclasses

import tensorflow as tf

from dic_tf.training.common import make_adam
from dic_tf.training.guard import all_replicas_finite, apply_if_finite, host_logs, run_and_sum
from dic_tf.training.losses import landmark_losses
from dic_tf.training.schedule import multistep_learning_rate


@dataclasses.dataclass
class LandmarkTrainConfig:
    """Optimisation settings of a landmark network trained alone."""

    learning_rate: float = 1e-4
    lr_milestones: tuple = ()
    lr_gamma: float = 0.5

    def learning_rate_at(self, step):
        return multistep_learning_rate(step, self.learning_rate, self.lr_milestones, self.lr_gamma)


class LandmarkTrainer:
    """Owns the Adam and the compiled distributed train step of a landmark network.

    Create it (and the model) inside `strategy.scope()`.

    Args:
        model: a built `FeedbackHourglassModel` or `StackedHourglassModel`.
        config: `LandmarkTrainConfig`.
        strategy: a `tf.distribute.Strategy` (default: the default strategy).
        jit_compile: compile the step with XLA.
        forward: callable images [B, H, W, 3] -> list of heatmaps
            [B, H/4, W/4, K], the training-mode outputs; default `model`.
    """

    def __init__(self, model, config, strategy=None, jit_compile=False, forward=None):
        self.model = model
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.forward = forward or model
        self.variables = list(model.trainable_variables)
        with self.strategy.scope():
            self.optimizer = make_adam(config.learning_rate, "adam")
            self.optimizer.build(self.variables)
        self._step = tf.function(self._distributed_step, jit_compile=jit_compile)

    @property
    def optimizers(self):
        return {"adam": self.optimizer}

    def train_step(self, batch):
        """Per-replica step: heatmap losses, gradients and the guarded update.

        Args:
            batch: dict with `hr` [b, H, W, 3] and `heatmaps` [b, H/4, W/4, K].

        Returns:
            dict of scalar logs: `loss`, `heatmap_<t>` (replica's share of the
            global-batch mean) and `finite`.
        """
        replicas = self.strategy.num_replicas_in_sync
        with tf.GradientTape() as tape:
            loss, terms = landmark_losses(self.forward(batch["hr"]), batch["heatmaps"])
            scaled = loss / replicas
        grads = tape.gradient(scaled, self.variables)
        all_finite = all_replicas_finite(grads + [loss])
        apply_if_finite(all_finite, [(self.optimizer, grads, self.variables)])
        logs = {"loss": loss / replicas}
        logs.update({k: v / replicas for k, v in terms.items()})
        logs["finite"] = tf.cast(all_finite, tf.float32) / replicas
        return logs

    def _distributed_step(self, batch):
        return run_and_sum(self.strategy, self.train_step, (batch,))

    def step(self, batch, step):
        """Runs optimizer step `step` (0-based); logs as floats with `skipped`."""
        self.optimizer.learning_rate = self.config.learning_rate_at(step)
        return host_logs(self._step(batch))

    def state(self):
        return {}

    def load_state(self, state):
        del state
