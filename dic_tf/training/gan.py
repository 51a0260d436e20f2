"""DICGAN: the custom TensorFlow train step of DIC with a LightCNN discriminator.

One optimizer step on a batch (LR, HR, ground-truth heatmaps):

  generator (DIC's SR branch; the hourglass stays frozen, as in the authors'
  DICGAN run whose `release_HG_grad_step` 2e6 exceeds its 8e4 steps):
      pixel_weight   x L1(SR_t, HR) summed over steps t (`pixel_loss_mode`)
    + heatmap_weight x MSE(heatmaps_t, GT heatmaps) summed over steps
    + feature_weight x L1(F(SR_T), F(HR))  (final step; F: frozen LightCNN-9 trunk)
    + gan_weight     x BCE(D(SR_T), 1)     (final step)
  discriminator (LightCNN-9, one logit):
      BCE(D(HR), 1) + BCE(D(SR_T), 0)

Both gradients come from the same forward pass: the generator's through the
discriminator before its update, the discriminator's on the generator's
output before its update, which is what the authors' solver computes (it
updates G, then D on the detached SR of that same forward pass). F and D see
faces in the network's normalised space (RGB in [0, 1] minus the mean), as
in the authors' code. Both updates go through the non-finite guard together.
"""

import dataclasses

import tensorflow as tf

from dic_tf.training.common import make_adam
from dic_tf.training.guard import all_replicas_finite, apply_if_finite, host_logs, run_and_sum
from dic_tf.training.losses import dic_losses, discriminator_loss, generator_gan_loss
from dic_tf.training.schedule import multistep_learning_rate
from dic_tf.training.trainer import split_variables


@dataclasses.dataclass
class GANTrainConfig:
    """Optimisation settings of DICGAN (defaults: the authors' train_DICGAN_CelebA.json)."""

    learning_rate: float = 1e-4
    d_learning_rate: float = 1e-4
    lr_milestones: tuple = (10_000, 20_000, 40_000)
    lr_gamma: float = 0.5
    pixel_weight: float = 1.0
    heatmap_weight: float = 0.1
    feature_weight: float = 0.1
    gan_weight: float = 0.005
    pixel_loss_mode: str = "every_step"

    def learning_rate_at(self, step):
        return multistep_learning_rate(step, self.learning_rate, self.lr_milestones, self.lr_gamma)

    def d_learning_rate_at(self, step):
        return multistep_learning_rate(
            step, self.d_learning_rate, self.lr_milestones, self.lr_gamma
        )


class DICGANTrainer:
    """Owns both Adams and the compiled distributed DICGAN train step.

    Create it (and the three networks) inside `strategy.scope()`; both
    optimizers are built there (keras-team/keras#23085).

    Args:
        generator: a built `DIC`; its hourglass is never updated.
        discriminator: a built `LightCNNDiscriminator`.
        features: a built `LightCNNFeatures` with loaded weights (frozen).
        config: `GANTrainConfig`.
        strategy: a `tf.distribute.Strategy` (default: the default strategy).
        jit_compile: compile the step with XLA.
    """

    def __init__(self, generator, discriminator, features, config, strategy=None,
                 jit_compile=False):
        self.model = generator
        self.discriminator = discriminator
        self.features = features
        features.trainable = False
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.g_variables, _ = split_variables(generator)
        self.d_variables = list(discriminator.trainable_variables)
        with self.strategy.scope():
            self.g_optimizer = make_adam(config.learning_rate, "g_adam")
            self.d_optimizer = make_adam(config.d_learning_rate, "d_adam")
            self.g_optimizer.build(self.g_variables)
            self.d_optimizer.build(self.d_variables)
        self._step = tf.function(self._distributed_step, jit_compile=jit_compile)

    @property
    def optimizers(self):
        return {"g_adam": self.g_optimizer, "d_adam": self.d_optimizer}

    def train_step(self, batch):
        """Per-replica step: both losses, both gradients, the guarded updates.

        Args:
            batch: dict with `lr` [b, h, w, 3], `hr` [b, 8h, 8w, 3] and
                `heatmaps` [b, 2h, 2w, K] (this replica's share).

        Returns:
            dict of scalar logs (replica's share of the global-batch mean):
            `loss` (generator total), `pixel`, `heatmap`, `pixel_<t>`,
            `heatmap_<t>`, `feature`, `gan` (weighted terms), `d_loss`,
            `D/real`, `D/fake` (mean sigmoid of D), `D/real_logit`,
            `D/fake_logit` and `finite`.
        """
        c = self.config
        replicas = self.strategy.num_replicas_in_sync
        hr = batch["hr"]
        with tf.GradientTape(persistent=True) as tape:
            outputs = self.model(batch["lr"])
            sr = outputs["sr"][-1]
            dic_loss, terms = dic_losses(
                outputs, hr, batch["heatmaps"], c.pixel_weight, c.heatmap_weight,
                c.pixel_loss_mode,
            )
            hr_features = tf.stop_gradient(self.features(hr))
            terms["feature"] = c.feature_weight * tf.reduce_mean(
                tf.abs(self.features(sr) - hr_features)
            )
            fake_logits = self.discriminator(sr)
            real_logits = self.discriminator(hr)
            terms["gan"] = c.gan_weight * generator_gan_loss(fake_logits)
            g_loss = dic_loss + terms["feature"] + terms["gan"]
            d_loss = discriminator_loss(real_logits, fake_logits)
            g_scaled = g_loss / replicas
            d_scaled = d_loss / replicas
        g_grads = tape.gradient(g_scaled, self.g_variables)
        d_grads = tape.gradient(d_scaled, self.d_variables)
        del tape
        all_finite = all_replicas_finite(g_grads + d_grads + [g_loss, d_loss])
        apply_if_finite(
            all_finite,
            [(self.g_optimizer, g_grads, self.g_variables),
             (self.d_optimizer, d_grads, self.d_variables)],
        )
        logs = {"loss": g_loss, "d_loss": d_loss}
        logs.update(terms)
        logs["D/real"] = tf.reduce_mean(tf.sigmoid(real_logits))
        logs["D/fake"] = tf.reduce_mean(tf.sigmoid(fake_logits))
        logs["D/real_logit"] = tf.reduce_mean(real_logits)
        logs["D/fake_logit"] = tf.reduce_mean(fake_logits)
        logs = {k: tf.cast(v, tf.float32) / replicas for k, v in logs.items()}
        logs["finite"] = tf.cast(all_finite, tf.float32) / replicas
        return logs

    def _distributed_step(self, batch):
        return run_and_sum(self.strategy, self.train_step, (batch,))

    def set_step(self, step):
        """Sets both learning rates from the schedule for optimizer step `step`."""
        self.g_optimizer.learning_rate = self.config.learning_rate_at(step)
        self.d_optimizer.learning_rate = self.config.d_learning_rate_at(step)

    def step(self, batch, step):
        """Runs optimizer step `step` (0-based); logs as floats with `skipped`."""
        self.set_step(step)
        return host_logs(self._step(batch))

    def state(self):
        return {}

    def load_state(self, state):
        del state
