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

import dataclasses

import keras
import tensorflow as tf

from dic_tf.training.losses import dic_losses
from dic_tf.training.schedule import multistep_learning_rate


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


def split_variables(model):
    """(SR-branch variables, hourglass variables) of a DIC model."""
    hourglass_ids = {id(v) for v in model.hourglass.trainable_variables}
    sr = [v for v in model.trainable_variables if id(v) not in hourglass_ids]
    return sr, list(model.hourglass.trainable_variables)


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
            self.sr_optimizer = keras.optimizers.Adam(config.learning_rate, name="sr_adam")
            self.hg_optimizer = keras.optimizers.Adam(config.learning_rate, name="hg_adam")
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
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        finite = tf.logical_and(finite, tf.math.is_finite(loss))
        context = tf.distribute.get_replica_context()
        non_finite_replicas = context.all_reduce("sum", 1.0 - tf.cast(finite, tf.float32))
        all_finite = non_finite_replicas < 0.5
        n_sr = len(self.sr_variables)
        sr_grads, hg_grads = grads[:n_sr], grads[n_sr:]

        def apply_updates(sr_grads, hg_grads):
            self.sr_optimizer.apply(sr_grads, self.sr_variables)
            if train_hourglass:
                self.hg_optimizer.apply(hg_grads, self.hg_variables)
            return tf.constant(True)

        def skip():
            return tf.constant(False)

        if tf.__internal__.distribute.strategy_supports_no_merge_call():
            tf.cond(all_finite, lambda: apply_updates(sr_grads, hg_grads), skip)
        else:
            # A cond whose branch calls merge_call (the optimizers' update)
            # must run in the cross-replica context; the gradients travel as
            # merge_call arguments so every replica applies its own.
            def cross_replica(distribution, sr_grads, hg_grads, all_finite):
                finite = distribution.experimental_local_results(all_finite)[0]

                def apply_on_replicas():
                    distribution.extended.call_for_each_replica(
                        apply_updates, args=(sr_grads, hg_grads)
                    )
                    return tf.constant(True)

                tf.cond(finite, apply_on_replicas, skip)

            context.merge_call(cross_replica, args=(sr_grads, hg_grads, all_finite))
        logs = {"loss": loss / replicas}
        logs.update({k: v / replicas for k, v in terms.items()})
        logs["finite"] = tf.cast(all_finite, tf.float32) / replicas
        return logs

    def _distributed_step(self, train_hourglass):
        def step(batch, loss_scale):
            per_replica = self.strategy.run(
                self.train_step, args=(batch, loss_scale, train_hourglass)
            )
            return {
                k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()
            }

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
        logs = {k: float(v) for k, v in logs.items()}
        finite = logs.pop("finite") > 0.5
        self._update_loss_scale(finite)
        logs["skipped"] = 0.0 if finite else 1.0
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
