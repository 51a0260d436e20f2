"""What `TrainingRun` trains, per `--mode`: networks, trainer, start weights, validation.

A task builds its networks and trainer inside the strategy scope, loads the
weights a fresh run starts from, names the extra networks its checkpoints hold,
and validates. `TrainingRun` owns everything else (resume, data position, the
step loop, the non-finite counter, checkpoints, TensorBoard).

Modes:
    dic          DIC (`DICTrainer`); `--hg_init` initialises its hourglass.
    hg_pretrain  DIC's feedback hourglass alone on HR faces (`LandmarkTrainer`).
    hg_eval      the stacked-hourglass landmark evaluator (`LandmarkTrainer`).
    dicgan       DICGAN (`DICGANTrainer`) from `--init_checkpoint`.
"""

import os

import numpy as np

from dic_tf.models import (
    build_dic,
    build_feedback_hourglass,
    build_lightcnn,
    build_stacked_hourglass,
)
from dic_tf.models.initialization import initialize
from dic_tf.training import init
from dic_tf.training.gan import DICGANTrainer
from dic_tf.training.landmark import LandmarkTrainer
from dic_tf.training.trainer import DICTrainer
from dic_tf.training.validation import validate, validate_landmarks

DISCRIMINATOR_FILE = "discriminator.weights.h5"


class DICTask:
    """DIC trained with its iterative losses; best checkpoint by validation PSNR."""

    mode = "dic"
    model_name = "DIC"
    batch_keys = ("lr", "hr", "heatmaps")
    best_metric, higher_is_better = "psnr", True
    progress_keys = ("loss", "pixel", "heatmap")

    def __init__(self, model_config, train_config, run):
        self.model_config = model_config
        self.train_config = train_config
        self.run = run

    def build(self, strategy):
        """Builds `self.model` and `self.trainer`; call inside `strategy.scope()`."""
        self.model = build_dic(self.model_config, remat=self.run.remat)
        self.trainer = DICTrainer(self.model, self.train_config, strategy, self.run.jit_compile)

    def initialise(self):
        """Initialises a fresh run (`run.init`, then `--hg_init`); returns descriptions."""
        loaded = [initialize(self.model, self.run.init, bool(self.run.hg_init))]
        if self.run.hg_init:
            loaded.append(init.load_hourglass_init(self.model.hourglass, self.run.hg_init))
        return loaded

    def extra_models(self):
        """{file name: network} saved in checkpoints besides `self.model`."""
        return {}

    def validate(self, predict, batches):
        return validate(predict, batches, scale=self.model_config.scale,
                        ssim_variant=self.run.ssim_variant)


class DICGANTask(DICTask):
    """DICGAN: DIC's generator (frozen hourglass) against a LightCNN-9 discriminator."""

    mode = "dicgan"
    progress_keys = ("loss", "d_loss", "D/real", "D/fake")

    def build(self, strategy):
        self.model = build_dic(self.model_config, remat=self.run.remat)
        self.discriminator = build_lightcnn("discriminator")
        self.features = build_lightcnn("features")
        self.feature_source = init.load_feature_extractor(
            self.features, self.run.feature_extractor
        )
        self.trainer = DICGANTrainer(
            self.model, self.discriminator, self.features, self.train_config, strategy,
            self.run.jit_compile,
        )

    def initialise(self):
        if not self.run.init_checkpoint:
            raise ValueError(
                "--mode=dicgan starts from a DIC model: give --init_checkpoint (a DIC "
                "train directory or checkpoint, or the official DIC_CelebA.pth)."
            )
        return [init.load_generator_init(self.model, self.run.init_checkpoint),
                self.feature_source]

    def extra_models(self):
        return {DISCRIMINATOR_FILE: self.discriminator}


class HourglassPretrainTask(DICTask):
    """DIC's feedback hourglass alone on HR faces; best checkpoint by validation NME."""

    mode = "hg_pretrain"
    model_name = "FeedbackHourglass"
    batch_keys = ("hr", "heatmaps")
    best_metric, higher_is_better = "nme", False
    progress_keys = ("loss",)

    def build(self, strategy):
        self.model = build_feedback_hourglass(self.model_config)
        self.trainer = LandmarkTrainer(
            self.model, self.train_config, strategy, self.run.jit_compile
        )

    def initialise(self):
        return []

    def validate(self, predict, batches):
        return validate_landmarks(predict, batches)


class LandmarkEvaluatorTask(HourglassPretrainTask):
    """The stacked-hourglass landmark evaluator, every stack supervised, BatchNorm training."""

    mode = "hg_eval"
    model_name = "StackedHourglass"

    def build(self, strategy):
        c = self.model_config
        self.model = build_stacked_hourglass(c.num_features, c.num_stacks, c.num_keypoints)
        self.trainer = LandmarkTrainer(
            self.model, self.train_config, strategy, self.run.jit_compile,
            forward=lambda images: self.model(images, training=True, all_stacks=True),
        )

    def validate(self, predict, batches):
        return validate_landmarks(lambda images: [predict(images)], batches)


TASKS = {task.mode: task for task in (DICTask, DICGANTask, HourglassPretrainTask,
                                      LandmarkEvaluatorTask)}


def make_task(mode, model_config, train_config, run):
    """The task of `--mode`; model_config/train_config types depend on the mode."""
    if mode not in TASKS:
        raise ValueError(f"Unknown --mode={mode!r}; expected one of {sorted(TASKS)}.")
    return TASKS[mode](model_config, train_config, run)


def restore_extra_models(task, checkpoint_path):
    """Loads the extra networks of a task from a checkpoint, naming a missing file."""
    for name, model in task.extra_models().items():
        path = os.path.join(checkpoint_path, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{checkpoint_path} has no {name}; it is not a --mode={task.mode} checkpoint."
            )
        model.load_weights(path)


def is_better(task, value, best):
    """Whether a validation value beats the best so far (None/NaN never does)."""
    if value is None or not np.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if task.higher_is_better else value < best
