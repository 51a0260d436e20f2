"""DICGAN as a `fit()` task: DIC against a LightCNN-9 discriminator (TensorFlow).

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
output before its update, which is what the authors' solver computes. F and D
see faces in the network's normalised space. Both updates are one
`GroupedAdam` step (the discriminator a group with its own learning rate), so
the non-finite guard applies to both together.
"""

import keras
from keras import ops

from dic_tf.models import build_dic, build_lightcnn
from dic_tf.training import distribution, pretrained_weights
from dic_tf.training.losses import dic_losses, discriminator_loss, generator_gan_loss
from dic_tf.training.schedule import MultiStepSchedule
from dic_tf.training.tasks import DICTask, paper_optimizer, training_loss
from dic_tf.utils import backend

DISCRIMINATOR_FILE = "discriminator.weights.h5"
GAN_TERMS = ("feature", "gan", "d_loss", "d_real", "d_fake", "d_real_logit", "d_fake_logit")


@keras.saving.register_keras_serializable(package="dic_tf")
class DICGANTask(DICTask):
    """DICGAN's generator and discriminator updates in one `fit()` step (TensorFlow).

    Args:
        dic: a built `DIC` (its hourglass is frozen).
        discriminator: a built `LightCNNDiscriminator`.
        features: a built `LightCNNFeatures` with loaded weights (frozen).
        feature_weight, gan_weight: weights of the feature and GAN terms.
        **kwargs: `DICTask`'s (pixel_weight, heatmap_weight, pixel_loss_mode).

    Metrics: `DICTask`'s (`loss` is the generator's total) and `feature`,
    `gan` (weighted), `d_loss`, `d_real`, `d_fake` (mean sigmoid of D),
    `d_real_logit`, `d_fake_logit`.
    """

    model_args = ("dic", "discriminator", "features")

    def __init__(self, dic, discriminator, features, feature_weight=0.1, gan_weight=0.005,
                 **kwargs):
        super().__init__(dic, **kwargs)
        backend.require("--mode=dicgan")
        dic.hourglass.trainable = False
        features.trainable = False
        self.discriminator, self.features = discriminator, features
        self.feature_weight, self.gan_weight = feature_weight, gan_weight
        self.gan_trackers = [keras.metrics.Mean(name=name) for name in GAN_TERMS]

    def get_config(self):
        config = super().get_config()
        config.update(discriminator=keras.saving.serialize_keras_object(self.discriminator),
                      features=keras.saving.serialize_keras_object(self.features),
                      feature_weight=self.feature_weight, gan_weight=self.gan_weight)
        return config

    def compile(self, optimizer=None, *, learning_rate=1e-4, d_learning_rate=1e-4,
                lr_milestones=(10_000, 20_000, 40_000), lr_gamma=0.5, **kwargs):
        """The authors' train_DICGAN_CelebA.json: one Adam per network, MultiStepLR."""
        if optimizer is None:
            name = self.discriminator.name
            optimizer = paper_optimizer(
                learning_rate, lr_milestones, lr_gamma, start_steps={name: 0},
                group_learning_rates={name: MultiStepSchedule(d_learning_rate, lr_milestones,
                                                              lr_gamma)})
        super(DICTask, self).compile(optimizer=optimizer, **kwargs)

    def gan_losses(self, batch):
        """(generator loss, discriminator loss, terms) of one forward pass."""
        hr = batch["hr"]
        outputs = self.network(batch["lr"])
        sr = outputs["sr"][-1]
        dic_loss, terms = dic_losses(outputs, hr, batch["heatmaps"], self.pixel_weight,
                                     self.heatmap_weight, self.pixel_loss_mode)
        hr_features = ops.stop_gradient(self.features(hr))
        terms["feature"] = self.feature_weight * ops.mean(ops.abs(self.features(sr) - hr_features))
        fake_logits = ops.cast(self.discriminator(sr), "float32")
        real_logits = ops.cast(self.discriminator(hr), "float32")
        terms["gan"] = self.gan_weight * generator_gan_loss(fake_logits)
        terms["d_loss"] = discriminator_loss(real_logits, fake_logits)
        terms["d_real"] = ops.mean(ops.sigmoid(real_logits))
        terms["d_fake"] = ops.mean(ops.sigmoid(fake_logits))
        terms["d_real_logit"] = ops.mean(real_logits)
        terms["d_fake_logit"] = ops.mean(fake_logits)
        return dic_loss + terms["feature"] + terms["gan"], terms["d_loss"], terms

    def train_step(self, data):
        import tensorflow as tf

        data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        g_variables = self.network.trainable_variables
        d_variables = self.discriminator.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            g_loss, d_loss, terms = self.gan_losses(data)
            g_scaled, d_scaled = training_loss(g_loss), training_loss(d_loss)
        grads = {id(v): g for v, g in zip(g_variables, tape.gradient(g_scaled, g_variables))}
        grads.update({id(v): g for v, g in zip(d_variables, tape.gradient(d_scaled, d_variables))})
        del tape
        variables = self.trainable_variables
        self.optimizer.apply([grads[id(v)] for v in variables], variables)
        self._loss_tracker.update_state(g_loss)
        self.track_terms(terms)
        for tracker in self.gan_trackers:
            tracker.update_state(terms[tracker.name])
        return distribution.reducible_logs({m.name: m.result() for m in self.metrics})

    def extra_models(self):
        return {DISCRIMINATOR_FILE: self.discriminator}

    def initialize(self, run):
        """Loads the DIC a fresh DICGAN run starts from; returns descriptions."""
        if not run.init_checkpoint:
            raise ValueError(
                "--mode=dicgan starts from a DIC model: give --init_checkpoint (a DIC "
                "train directory or checkpoint, or the official DIC_CelebA.pth)."
            )
        return [pretrained_weights.load_generator_init(self.network, run.init_checkpoint), self.feature_source]


def make_gan_task(model_config, train_config, run):
    """The compiled DICGAN task of a run (its LightCNN features loaded)."""
    c = train_config
    features = build_lightcnn("features")
    source = pretrained_weights.load_feature_extractor(features, run.feature_extractor)
    generator = build_dic(model_config, remat=run.remat)
    task = DICGANTask(generator, build_lightcnn("discriminator"), features, c.feature_weight,
                      c.gan_weight, pixel_weight=c.pixel_weight, pixel_loss_mode=c.pixel_loss_mode)
    task.feature_source = source
    task.compile(learning_rate=c.learning_rate, d_learning_rate=c.d_learning_rate,
                 lr_milestones=c.lr_milestones, lr_gamma=c.lr_gamma, jit_compile=run.jit_compile)
    return task
