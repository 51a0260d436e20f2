"""The custom TensorFlow train step of DIC, for one device or a tf.distribute strategy.

One optimizer step:
  1. every replica runs DIC on its share of the global batch and computes the
     iterative loss (`losses.dic_losses`) divided by the number of replicas;
  2. gradients of the (loss-scaled, for float16) loss go to every variable,
     so the heatmap loss reaches the SR branch through the hourglass even
     while the hourglass is frozen;
  3. if the loss and every gradient are finite, the SR optimizer updates the
     SR branch and, once released, the hourglass optimizer updates the
     hourglass; otherwise nothing is updated and the step is reported as
     skipped.

The hourglass has its own Adam, created with the SR one and first applied when
the hourglass is released: like PyTorch's per-parameter Adam state, its moment
estimates and bias correction start at the release step.
"""

import tensorflow as tf

from dic_tf.training.common import TrainConfig, make_adam, split_variables  # noqa: F401  (re-exported)
from dic_tf.training.guard import all_replicas_finite, apply_if_finite, host_logs, run_and_sum
from dic_tf.training.losses import dic_losses


class DICTrainer:
    """Owns the optimizers and the compiled distributed train step of a DIC model.

    Create it (and the model) inside `strategy.scope()`; both optimizers are
    built there (keras-team/keras#23085).

    Args:
        model: a built `DIC`.
        config: `TrainConfig`.
        strategy: a `tf.distribute.Strategy` (default: the default strategy).
        jit_compile: compile the step with XLA.
    """

    def __init__(self, model, config, strategy=None, jit_compile=False):
        self.model = model
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.sr_variables, self.hg_variables = split_variables(model)
        with self.strategy.scope():
            self.sr_optimizer = make_adam(config.learning_rate, "sr_adam")
            self.hg_optimizer = make_adam(config.learning_rate, "hg_adam")
            self.sr_optimizer.build(self.sr_variables)
            self.hg_optimizer.build(self.hg_variables)
        self.loss_scale = config.initial_loss_scale if config.loss_scale else 1.0
        self.finite_steps = 0
        self._steps = {
            release: tf.function(self._distributed_step(release), jit_compile=jit_compile)
            for release in (False, True)
        }

    @property
    def optimizers(self):
        return {"sr_adam": self.sr_optimizer, "hg_adam": self.hg_optimizer}

    def train_step(self, batch, loss_scale, train_hourglass):
        """Per-replica step: losses and gradients, then the guarded update.

        Args:
            batch: dict with `lr` [b, h, w, 3], `hr` [b, 8h, 8w, 3], `heatmaps`
                [b, 2h, 2w, K] (this replica's share).
            loss_scale: scalar float32 multiplying the loss before the gradients.
            train_hourglass: Python bool, whether the hourglass is updated.

        Returns:
            dict of scalar logs: `loss`, `pixel`, `heatmap`, `pixel_<t>`,
            `heatmap_<t>` (replica's share of the global-batch mean) and
            `finite` (1.0 if the update was applied).
        """
        replicas = self.strategy.num_replicas_in_sync
        with tf.GradientTape() as tape:
            outputs = self.model(batch["lr"])
            loss, terms = dic_losses(
                outputs,
                batch["hr"],
                batch["heatmaps"],
                self.config.pixel_weight,
                self.config.heatmap_weight,
                self.config.pixel_loss_mode,
            )
            scaled = loss / replicas * loss_scale
        variables = self.sr_variables + self.hg_variables
        grads = tape.gradient(scaled, variables)
        grads = [g / loss_scale for g in grads]
        all_finite = all_replicas_finite(grads + [loss])
        n_sr = len(self.sr_variables)
        updates = [(self.sr_optimizer, grads[:n_sr], self.sr_variables)]
        if train_hourglass:
            updates.append((self.hg_optimizer, grads[n_sr:], self.hg_variables))
        apply_if_finite(all_finite, updates)
        logs = {"loss": loss / replicas}
        logs.update({k: v / replicas for k, v in terms.items()})
        logs["finite"] = tf.cast(all_finite, tf.float32) / replicas
        return logs

    def _distributed_step(self, train_hourglass):
        def step(batch, loss_scale):
            return run_and_sum(self.strategy, self.train_step, (batch, loss_scale, train_hourglass))

        return step

    def set_step(self, step):
        """Sets both learning rates from the schedule for optimizer step `step`."""
        rate = self.config.learning_rate_at(step)
        self.sr_optimizer.learning_rate = rate
        self.hg_optimizer.learning_rate = rate
        return rate

    def step(self, batch, step):
        """Runs optimizer step number `step` (0-based) on a (distributed) batch.

        Returns the logs as Python floats; `skipped` is 1.0 when a non-finite
        loss or gradient prevented the update.
        """
        self.set_step(step)
        release = step >= self.config.release_hourglass_step
        logs = self._steps[release](batch, tf.constant(self.loss_scale, tf.float32))
        logs = host_logs(logs)
        self._update_loss_scale(not logs["skipped"])
        return logs

    def _update_loss_scale(self, finite):
        if not self.config.loss_scale:
            return
        if not finite:
            self.loss_scale = max(self.loss_scale / 2.0, 1.0)
            self.finite_steps = 0
            return
        self.finite_steps += 1
        if self.finite_steps >= self.config.loss_scale_growth_steps:
            self.loss_scale *= 2.0
            self.finite_steps = 0

    def state(self):
        """JSON-serialisable trainer state for checkpoints."""
        return {"loss_scale": self.loss_scale, "finite_steps": self.finite_steps}

    def load_state(self, state):
        self.loss_scale = state.get("loss_scale", self.loss_scale)
        self.finite_steps = state.get("finite_steps", 0)
