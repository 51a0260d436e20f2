"""A resumable training run: the task of `--mode`, its data, and `fit()`.

`TrainingRun` builds the task (`dic_tf.training.tasks`) and compiles it with
the run's recipe, resumes from the newest checkpoint of `train_dir` (weights,
optimizer state with step and schedule, data position mid-epoch) or loads the
weights a fresh run starts from, and trains with `task.fit()` and a
`TrainingCallback`. The data are `dic_tf.data.inputs.training_batches`
(tf.data on TensorFlow, `FacePyDataset` on JAX; the same batches from any
step).

Distribution (`dic_tf.training.distribution`): a `tf.distribute` strategy on
TensorFlow (the task is built and compiled in its scope); on JAX,
`keras.distribution.set_distribution` (e.g. `DataParallel`) before building
the run.
"""

import dataclasses
import os
import sys

import keras

from dic_tf import metrics
from dic_tf.data import inputs, sample, shards
from dic_tf.data.degradation import RealDegradation
from dic_tf.data.pydataset import FacePyDataset
from dic_tf.models import build_dic, build_feedback_hourglass, build_stacked_hourglass, saving
from dic_tf.models.initialization import initialize
from dic_tf.training import checkpoints, distribution, pretrained_weights
from dic_tf.training.callbacks import TrainingCallback, truncate_metrics
from dic_tf.training.tasks import PAPER_MILESTONES, DICTask, LandmarkTask
from dic_tf.utils import atomic

MODES = ("dic", "hg_pretrain", "hg_eval", "dicgan")


@dataclasses.dataclass
class TrainConfig:
    """Optimisation settings (defaults: the paper's CelebA recipe); a mode uses its own."""

    learning_rate: float = 1e-4
    lr_milestones: tuple = PAPER_MILESTONES
    lr_gamma: float = 0.5
    pixel_weight: float = 1.0
    heatmap_weight: float = 0.1
    pixel_loss_mode: str = "every_step"
    release_hourglass_step: int = 2000
    d_learning_rate: float = 1e-4
    feature_weight: float = 0.1
    gan_weight: float = 0.005


@dataclasses.dataclass
class RunConfig:
    """Everything about a run that is not the model or the optimisation."""

    train_dir: str
    train_data: str
    val_data: str = None
    batch_size: int = 8
    num_train_steps: int = 150_000
    augment: object = None
    degradation: object = None  # None (bicubic LR) or a data.degradation.RealDegradation
    seed: int = 0
    val_every: int = 2000
    checkpoint_every: int = 5000
    keep_checkpoints: int = 3
    log_every: int = 50
    num_val_images: int = None
    ssim_variant: str = "official"
    hg_init: str = None
    init: str = "kaiming"
    remat: str = "blocks"
    init_checkpoint: str = None
    feature_extractor: str = None
    max_nonfinite_steps: int = 20
    jit_compile: bool = None
    progress: bool = True

    def __post_init__(self):
        if self.jit_compile is None:
            self.jit_compile = distribution.default_jit_compile()


def make_task(mode, model_config, train_config, run):
    """The compiled task of `--mode` (build it inside the strategy scope)."""
    c = train_config
    if mode == "dic":
        task = DICTask(build_dic(model_config, remat=run.remat), c.pixel_weight, c.heatmap_weight,
                       c.pixel_loss_mode)
        task.compile(learning_rate=c.learning_rate, lr_milestones=c.lr_milestones,
                     lr_gamma=c.lr_gamma, release_hourglass_step=c.release_hourglass_step,
                     jit_compile=run.jit_compile)
        return task
    if mode == "dicgan":
        from dic_tf.training.gan import make_gan_task

        return make_gan_task(model_config, c, run)
    if mode == "hg_pretrain":
        task = LandmarkTask(build_feedback_hourglass(model_config), model_config.num_steps)
    elif mode == "hg_eval":
        m = model_config
        task = LandmarkTask(build_stacked_hourglass(m.num_features, m.num_stacks, m.num_keypoints),
                            m.num_stacks)
    else:
        raise ValueError(f"Unknown --mode={mode!r}; expected one of {MODES}.")
    task.compile(learning_rate=c.learning_rate, lr_milestones=c.lr_milestones,
                 lr_gamma=c.lr_gamma, jit_compile=run.jit_compile)
    return task


def _degradation_text(fields, other=None):
    """'bicubic', 'real', or 'real with a=..' naming the fields that differ from `other`."""
    if fields is None:
        return "bicubic"
    changed = [f"{k}={v}" for k, v in fields.items() if other and other.get(k) != v]
    return f"real ({', '.join(changed)})" if changed else "real"


class TrainingRun:
    """A resumable training run in `run.train_dir`.

    Args:
        model_config: `DICConfig` (dic, dicgan), `FeedbackHourglassConfig`
            (hg_pretrain) or `StackedHourglassConfig` (hg_eval).
        train_config: `TrainConfig`.
        run: `RunConfig`.
        strategy: a `tf.distribute` strategy (TensorFlow; default: the
            current one), None on JAX.
        mode: one of `MODES`.
    """

    def __init__(self, model_config, train_config, run, strategy=None, mode="dic"):
        if mode not in MODES:
            raise ValueError(f"Unknown --mode={mode!r}; expected one of {MODES}.")
        self.mode, self.model_config, self.train_config, self.run = (
            mode, model_config, train_config, run)
        self.strategy = strategy = distribution.current_strategy(strategy)
        self.checkpoint_dir = os.path.join(run.train_dir, "checkpoints")
        self.metrics_path = os.path.join(run.train_dir, saving.METRICS_FILE)
        manifest = shards.read_manifest(run.train_data)
        self.epoch_steps = sample.steps_per_epoch(manifest["num_examples"], run.batch_size, True)
        if self.epoch_steps == 0:
            raise ValueError(
                f"{run.train_data}: {manifest['num_examples']} examples are fewer than "
                f"one batch of {run.batch_size}."
            )
        self.chief = distribution.is_chief(strategy)
        os.makedirs(run.train_dir, exist_ok=True)
        self.step, self.best = 0, None
        keras.utils.set_random_seed(run.seed)
        with distribution.strategy_scope(strategy):
            self.task = make_task(mode, model_config, train_config, run)
        self.model = self.task.network
        self._restore_or_initialize()
        self.callback = self._callback()

    @property
    def _best_key(self):
        return f"best_{self.task.best_metric}"

    def _restore_or_initialize(self):
        latest = saving.latest_checkpoint(self.checkpoint_dir)
        if latest is None:
            for loaded in self.initialize():
                print(f"Initialised: {loaded}")
            if self.chief:
                self._write_run_info()
                if os.path.exists(self.metrics_path):  # left by a run killed before its first checkpoint
                    truncate_metrics(self.metrics_path, 0)
            return
        state = saving.read_state(latest)
        if state.get("mode", "dic") != self.mode:
            raise ValueError(
                f"{latest} was written by --mode={state.get('mode', 'dic')}, but this run "
                f"is --mode={self.mode}; use another --train_dir."
            )
        if state["config"] != self.model_config.to_dict():
            raise ValueError(
                f"{latest} was trained with model config {state['config']}, but this run "
                f"asks for {self.model_config.to_dict()}; use another --train_dir."
            )
        stored = state.get("degradation")  # absent in checkpoints from before: bicubic
        if stored is not None:  # fields added since (clean_prob) take their defaults
            stored = RealDegradation.from_dict(stored).to_dict()
        if stored != self._degradation():
            raise ValueError(
                f"{latest} was trained with {_degradation_text(stored)} LR, but this run asks "
                f"for {_degradation_text(self._degradation(), stored)} (--degradation, "
                "--degradation_params); give the run's own flags or another --train_dir."
            )
        self.model.load_weights(os.path.join(latest, saving.WEIGHTS_FILE))
        for name, extra in self.task.extra_models().items():
            path = os.path.join(latest, name)
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"{latest} has no {name}; it is not a --mode={self.mode} checkpoint."
                )
            extra.load_weights(path)
        checkpoints.restore_optimizers(latest, {"optimizer": self.task.optimizer})
        self.step = state["step"]
        self.best = state.get(self._best_key)
        if self.chief:
            truncate_metrics(self.metrics_path, self.step)
        print(f"Resumed from {latest} at step {self.step}.")

    def initialize(self):
        """Initialises a fresh run's weights; returns descriptions.

        dic: `run.init` on every convolution (the hourglass too unless
        `--hg_init` then loads it), then `--hg_init`; dicgan: the task's
        generator and feature extractor.
        """
        if self.mode == "dic":
            loaded = [initialize(self.model, self.run.init, bool(self.run.hg_init))]
            if self.run.hg_init:
                loaded.append(pretrained_weights.load_hourglass_init(self.model.hourglass, self.run.hg_init))
            return loaded
        if self.mode == "dicgan":
            return self.task.initialize(self.run)
        return []

    def _write_run_info(self):
        facts = distribution.run_facts(self.strategy)
        info = {
            "mode": self.mode,
            "backend": facts["backend"],
            "model_config": self.model_config.to_dict(),
            "train_config": dataclasses.asdict(self.train_config),
            "run": {k: str(v) if k == "augment" else v
                    for k, v in dataclasses.asdict(self.run).items()},
            "replicas": facts["replicas"],
        }
        atomic.write_json(os.path.join(self.run.train_dir, "run.json"), info, indent=2, default=str)

    def _degradation(self):
        """The LR degradation as stored in checkpoints: None (bicubic) or its fields."""
        return None if self.run.degradation is None else self.run.degradation.to_dict()

    def _state(self):
        return {"model": self.task.model_name, "mode": self.mode,
                "config": self.model_config.to_dict(), "degradation": self._degradation()}

    def _lr_scale(self):
        """The SR factor the LR is made for: the DIC config's (a landmark task reads no LR: None)."""
        return getattr(self.model_config, "scale", None)

    def _validation_batches(self):
        run = self.run
        # Epoch 0, seed 0: the same LR every time; evaluate.py's batch size (it moves the last digits).
        data = FacePyDataset(run.val_data, metrics.SCORING_BATCH_SIZE, training=False, with_names=False,
                             degradation=run.degradation, scale=self._lr_scale())
        remaining = run.num_val_images or float("inf")
        for index in range(len(data)):
            if remaining <= 0:
                return
            batch = data[index]
            if len(batch["lr"]) > remaining:
                batch = {k: v[:remaining] for k, v in batch.items()}
            remaining -= len(batch["lr"])
            yield batch

    def _callback(self):
        return TrainingCallback(
            self.task, self.run, self.step, self._state(),
            validation_batches=self._validation_batches if self.run.val_data else None,
            best=self.best, chief=self.chief, print_logs=not self._progress_bar(),
        )

    def _progress_bar(self):
        return self.run.progress and sys.stdout.isatty()

    def dataset(self):
        """The training batches from the current step on (endless)."""
        run = self.run
        epoch, skip = sample.resume_position(self.step, self.epoch_steps)
        return inputs.training_batches(run.train_data, run.batch_size, keys=self.task.batch_keys,
                                       augment=run.augment, seed=run.seed, epoch=epoch, skip_batches=skip,
                                       degradation=run.degradation, scale=self._lr_scale())

    def validate(self):
        """Validates the current weights; returns the summary dict."""
        return self.callback.validate()

    def save(self):
        """Checkpoints the current step; returns its path."""
        self.callback.step = self.step
        return self.callback.save()

    def train(self):
        """Trains until `num_train_steps`; returns the last validation summary."""
        run = self.run
        if self.step >= run.num_train_steps:
            print(f"{self.checkpoint_dir} is already at step {self.step}; nothing to do.")
            metrics = saving.read_metrics(self.metrics_path)
            return metrics[-1] if run.val_data and metrics else None
        self.callback.step = self.step
        self.task.fit(self.dataset(), epochs=1, steps_per_epoch=run.num_train_steps - self.step,
                      callbacks=[self.callback], verbose=1 if self._progress_bar() else 0,
                      shuffle=False)
        self.step = self.callback.step
        return self.callback.last_summary

