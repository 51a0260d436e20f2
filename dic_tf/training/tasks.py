"""Keras models that train a DIC stage with `compile()` / `fit()`, on TensorFlow and JAX.

A task wraps the network it trains and owns its training step:

* `DICTask`: DIC on batches `{"lr", "hr", "heatmaps"}`; the paper's loss
  (`losses.dic_losses`) in `compute_loss`; `compile()` defaults to the paper's
  recipe (`GroupedAdam`: Adam 1e-4, PyTorch's epsilon, MultiStepLR, the
  hourglass frozen until `release_hourglass_step` while the heatmap loss still
  reaches the SR branch through it).
* `LandmarkTask`: a landmark network alone on batches `{"hr", "heatmaps"}`
  (the feedback hourglass of `--mode=hg_pretrain`, the stacked-hourglass
  evaluator of `--mode=hg_eval`).
* `DICGANTask` (`dic_tf.training.gan`): DICGAN's two updates.

Metrics (`fit()`'s logs): `loss` and the weighted terms (`pixel`, `heatmap`,
`pixel_<t>`, `heatmap_<t>` for step t = 0..T-1). The non-finite guard lives in
the optimizer (`GroupedAdam`); float16 goes through Keras' automatic
`LossScaleOptimizer` (`compile()` under a `mixed_float16` policy).

Example:
    >>> task = DICTask(build_dic(DICConfig.tiny()))
    >>> task.compile()                                  # the paper's recipe
    >>> task.fit(pipeline.make_dataset(train_dir, 8, training=True), steps_per_epoch=100)
"""

import keras
from keras import ops

from dic_tf.training import distribution
from dic_tf.training.losses import PIXEL_LOSS_MODES, dic_losses, landmark_losses
from dic_tf.training.optimizer import GroupedAdam
from dic_tf.training.schedule import MultiStepSchedule
from dic_tf.training.validation import validate, validate_landmarks

# The authors' train_DIC_CelebA.json.
PAPER_MILESTONES = (10_000, 20_000, 40_000, 80_000)


def training_loss(loss):
    """The loss a train step differentiates: this replica's share, poisoned when non-finite.

    A non-finite loss can have finite gradients (JAX differentiates |x| at NaN
    to +-1); multiplying by a stop-gradient NaN makes every gradient
    non-finite, so that `GroupedAdam` skips the step. On TensorFlow the loss is
    divided by the strategy's replicas, whose gradients are summed.
    """
    guard = ops.stop_gradient(ops.where(ops.isfinite(loss), 1.0, float("nan")))
    return distribution.per_replica_loss(loss * ops.cast(guard, loss.dtype))


def paper_optimizer(learning_rate=1e-4, lr_milestones=PAPER_MILESTONES, lr_gamma=0.5,
                    start_steps=None, group_learning_rates=None):
    """`GroupedAdam` with the MultiStepLR schedule (PyTorch's Adam defaults)."""
    schedule = MultiStepSchedule(learning_rate, lr_milestones, lr_gamma)
    return GroupedAdam(schedule, start_steps=start_steps, group_learning_rates=group_learning_rates)


@keras.saving.register_keras_serializable(package="dic_tf")
class Task(keras.Model):
    """The base of the tasks: trackers of the weighted loss terms, a network to checkpoint.

    Args:
        network: the built Keras model the task trains, kept as `task.network`.
        term_names: names of the loss terms tracked as metrics.

    Example:
        task = Task(build_dic(DICConfig.tiny()), ["pixel", "heatmap"])
        task.track_terms({"pixel": 0.5, "heatmap": 0.1})
    """

    model_name = None
    best_metric, higher_is_better = None, True
    # Constructor arguments that are Keras models: serialized in `get_config`.
    model_args = ("network",)

    def __init__(self, network, term_names, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.term_trackers = [keras.metrics.Mean(name=name) for name in term_names]

    def track_terms(self, terms):
        for tracker in self.term_trackers:
            tracker.update_state(terms[tracker.name])

    def compile(self, optimizer="rmsprop", **kwargs):
        """`keras.Model.compile`, then the optimizer built now, eagerly, if the networks are.

        Keras (TensorFlow, no distribution strategy) builds an unbuilt optimizer
        inside the first traced step, which more than doubles that step's graph
        (33.0k instead of 14.1k ops for a micro DIC; the same weights).
        """
        super().compile(optimizer=optimizer, **kwargs)
        if all(layer.built for layer in self.layers):
            self.optimizer.build(self.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # TensorFlow trainer only; see `distribution.first_batch_mean`.
        if self._distribute_strategy is not None and iterator is not None:
            data_batch = distribution.first_batch_mean(self._distribute_strategy, iterator)
        return super()._maybe_symbolic_build(data_batch=data_batch)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return distribution.reducible_logs(super().compute_metrics(x, y, y_pred, sample_weight))

    def extra_models(self):
        """{file name: network} saved in checkpoints besides `network`."""
        return {}

    def get_config(self):
        return {"network": keras.saving.serialize_keras_object(self.network),
                "term_names": [tracker.name for tracker in self.term_trackers], "name": self.name}

    @classmethod
    def from_config(cls, config):
        models = {name: keras.saving.deserialize_keras_object(config[name]) for name in cls.model_args}
        return cls(**{**config, **models})


@keras.saving.register_keras_serializable(package="dic_tf")
class DICTask(Task):
    """DIC trained with its iterative losses; best checkpoint by validation PSNR.

    Args:
        dic: a built `DIC` (e.g. `build_dic(config)`), kept as `task.network`.
        pixel_weight: weight of each step's L1 image loss.
        heatmap_weight: weight of each step's heatmap MSE.
        pixel_loss_mode: 'every_step' (the paper) or 'final_only'.

    Call: `task(batch)` with a dict holding `lr` [B, h, w, 3] (or the LR
    tensor itself) returns DIC's output dict.
    """

    model_name = "DIC"
    best_metric, higher_is_better = "psnr", True
    batch_keys = ("lr", "hr", "heatmaps")
    model_args = ("dic",)

    def __init__(self, dic, pixel_weight=1.0, heatmap_weight=0.1, pixel_loss_mode="every_step",
                 **kwargs):
        if pixel_loss_mode not in PIXEL_LOSS_MODES:
            raise ValueError(f"pixel_loss_mode={pixel_loss_mode!r}; expected one of {PIXEL_LOSS_MODES}.")
        steps = range(dic.config.num_steps)
        names = ["pixel", "heatmap"] + [f"pixel_{t}" for t in steps] + [f"heatmap_{t}" for t in steps]
        super().__init__(dic, names, **kwargs)
        self.pixel_weight, self.heatmap_weight = pixel_weight, heatmap_weight
        self.pixel_loss_mode = pixel_loss_mode

    def call(self, inputs):
        return self.network(inputs["lr"] if isinstance(inputs, dict) else inputs)

    def compile(self, optimizer=None, *, learning_rate=1e-4, lr_milestones=PAPER_MILESTONES,
                lr_gamma=0.5, release_hourglass_step=2000, **kwargs):
        """`keras.Model.compile` whose default optimizer is the paper's recipe.

        Args:
            optimizer: None for `paper_optimizer(...)` of the arguments below.
            learning_rate, lr_milestones, lr_gamma: the MultiStepLR schedule.
            release_hourglass_step: first step that updates the hourglass.
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`).
        """
        if optimizer is None:
            optimizer = paper_optimizer(learning_rate, lr_milestones, lr_gamma,
                                        {"hourglass": release_hourglass_step})
        super().compile(optimizer=optimizer, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, terms = dic_losses(y_pred, x["hr"], x["heatmaps"], self.pixel_weight,
                                  self.heatmap_weight, self.pixel_loss_mode)
        self.track_terms(terms)
        return training_loss(total)

    def validate(self, predict, batches, ssim_variant="official"):
        return validate(predict, batches, scale=self.network.config.scale,
                        ssim_variant=ssim_variant)

    def get_config(self):
        return {"dic": keras.saving.serialize_keras_object(self.network),
                "pixel_weight": self.pixel_weight, "heatmap_weight": self.heatmap_weight,
                "pixel_loss_mode": self.pixel_loss_mode, "name": self.name}


@keras.saving.register_keras_serializable(package="dic_tf")
class LandmarkTask(Task):
    """A landmark network alone on HR faces; best checkpoint by validation NME.

    Args:
        network: a built `FeedbackHourglassModel` (its unrolled steps are
            supervised) or `StackedHourglassModel` (every stack supervised,
            BatchNorm in training mode).
        num_outputs: steps (or stacks) of the network.
    """

    best_metric, higher_is_better = "nme", False
    batch_keys = ("hr", "heatmaps")

    def __init__(self, network, num_outputs, **kwargs):
        from dic_tf.models import StackedHourglassModel

        super().__init__(network, [f"heatmap_{t}" for t in range(num_outputs)], **kwargs)
        self.stacked = isinstance(network, StackedHourglassModel)
        self.model_name = "StackedHourglass" if self.stacked else "FeedbackHourglass"
        self.num_outputs = num_outputs

    def call(self, inputs, training=None):
        images = inputs["hr"] if isinstance(inputs, dict) else inputs
        if self.stacked:
            return self.network(images, training=training, all_stacks=True)
        return self.network(images)

    def compile(self, optimizer=None, *, learning_rate=1e-4, lr_milestones=(), lr_gamma=0.5,
                **kwargs):
        """`keras.Model.compile`; the default optimizer is Adam (PyTorch's) with MultiStepLR."""
        if optimizer is None:
            optimizer = paper_optimizer(learning_rate, lr_milestones, lr_gamma)
        super().compile(optimizer=optimizer, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, terms = landmark_losses(y_pred, x["heatmaps"])
        self.track_terms(terms)
        return training_loss(total)

    def validate(self, predict, batches, ssim_variant="official"):
        del ssim_variant
        if self.stacked:
            return validate_landmarks(lambda images: [predict(images)], batches)
        return validate_landmarks(predict, batches)

    def get_config(self):
        return {"network": keras.saving.serialize_keras_object(self.network),
                "num_outputs": self.num_outputs, "name": self.name}
