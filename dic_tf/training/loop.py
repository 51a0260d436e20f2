"""The training run: resume, the step loop, validation, checkpoints and logs.

What is trained (DIC, DICGAN, the feedback hourglass alone, the landmark
evaluator) is a task of `dic_tf.training.tasks`, chosen by `mode`.
"""

import dataclasses
import json
import os

import keras
import tensorflow as tf
from tqdm import tqdm

from dic_tf import checkpoint
from dic_tf.data import pipeline, records, sample
from dic_tf.training.summaries import TensorBoardLogger
from dic_tf.training.tasks import is_better, make_task, restore_extra_models

METRICS_FILE = "metrics.jsonl"


class DivergenceError(RuntimeError):
    """Too many optimizer steps had a non-finite loss or gradient."""


@dataclasses.dataclass
class RunConfig:
    """Everything about a run that is not the model or the optimisation."""

    train_dir: str
    train_data: str
    val_data: str = None
    batch_size: int = 8
    num_train_steps: int = 150_000
    augment: object = None
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
    jit_compile: bool = False
    progress: bool = True
    write_dir: str = None
    """Where this process writes checkpoints, metrics.jsonl, run.json and logs; None:
    `train_dir`. A multi-worker non-chief gets a scratch folder (train.py does this):
    it still writes, as every worker must run the same steps, but never into train_dir.
    Checkpoints are always resumed from `train_dir`."""


def _read_metrics(path):
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _truncate_metrics(path, step):
    """Drops validations after `step` (left by a run killed before its checkpoint)."""
    kept = [m for m in _read_metrics(path) if m["step"] <= step]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for entry in kept:
            f.write(json.dumps(entry) + "\n")
    os.replace(tmp, path)
    return kept


def _append_metrics(path, entry):
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


class TrainingRun:
    """A resumable training run in `run.train_dir`.

    Args:
        model_config: `DICConfig` (modes dic, dicgan), `FeedbackHourglassConfig`
            (hg_pretrain) or `StackedHourglassConfig` (hg_eval).
        train_config: `TrainConfig` (dic), `GANTrainConfig` (dicgan) or
            `LandmarkTrainConfig` (hg_pretrain, hg_eval).
        run: `RunConfig`.
        strategy: tf.distribute strategy (default: the default strategy).
        mode: 'dic', 'dicgan', 'hg_pretrain' or 'hg_eval'.
    """

    def __init__(self, model_config, train_config, run, strategy=None, mode="dic"):
        self.task = make_task(mode, model_config, train_config, run)
        self.model_config = model_config
        self.train_config = train_config
        self.run = run
        self.strategy = strategy or tf.distribute.get_strategy()
        self.checkpoint_dir = os.path.join(run.train_dir, "checkpoints")
        self.metrics_path = os.path.join(run.train_dir, METRICS_FILE)
        self.write_dir = run.write_dir or run.train_dir
        self._write_checkpoint_dir = os.path.join(self.write_dir, "checkpoints")
        self._write_metrics_path = os.path.join(self.write_dir, METRICS_FILE)
        manifest = records.read_manifest(run.train_data)
        self.epoch_steps = sample.steps_per_epoch(manifest["num_examples"], run.batch_size, True)
        if self.epoch_steps == 0:
            raise ValueError(
                f"{run.train_data}: {manifest['num_examples']} examples are fewer than "
                f"one batch of {run.batch_size}."
            )
        os.makedirs(self.write_dir, exist_ok=True)
        self.step = 0
        self.best = None
        self.nonfinite_steps = 0
        keras.utils.set_random_seed(run.seed)
        with self.strategy.scope():
            self.task.build(self.strategy)
        self.model = self.task.model
        self.trainer = self.task.trainer
        self._restore_or_initialise()
        self.logger = TensorBoardLogger(os.path.join(self.write_dir, "logs"))
        self._predict = tf.function(self.model, reduce_retracing=True)

    @property
    def _best_key(self):
        return f"best_{self.task.best_metric}"

    def _restore_or_initialise(self):
        latest = checkpoint.latest_checkpoint(self.checkpoint_dir)
        if latest is None:
            for loaded in self.task.initialise():
                print(f"Initialised: {loaded}")
            self._write_run_info()
            return
        state = checkpoint.read_state(latest)
        if state.get("mode", "dic") != self.task.mode:
            raise ValueError(
                f"{latest} was written by --mode={state.get('mode', 'dic')}, but this run "
                f"is --mode={self.task.mode}; use another --train_dir."
            )
        if state["config"] != self.model_config.to_dict():
            raise ValueError(
                f"{latest} was trained with model config {state['config']}, but this run "
                f"asks for {self.model_config.to_dict()}; use another --train_dir."
            )
        self.model.load_weights(os.path.join(latest, checkpoint.WEIGHTS_FILE))
        restore_extra_models(self.task, latest)
        checkpoint.restore_optimizers(latest, self.trainer.optimizers)
        self.trainer.load_state(state["trainer"])
        self.step = state["step"]
        self.best = state.get(self._best_key)
        self.nonfinite_steps = state.get("nonfinite_steps", 0)
        if self.write_dir == self.run.train_dir:
            _truncate_metrics(self.metrics_path, self.step)
        print(f"Resumed from {latest} at step {self.step}.")

    def _write_run_info(self):
        info = {
            "mode": self.task.mode,
            "model_config": self.model_config.to_dict(),
            "train_config": dataclasses.asdict(self.train_config),
            "run": {k: str(v) if k == "augment" else v for k, v in dataclasses.asdict(self.run).items()},
            "replicas": self.strategy.num_replicas_in_sync,
        }
        with open(os.path.join(self.write_dir, "run.json"), "w") as f:
            json.dump(info, f, indent=2, default=str)

    def _dataset(self):
        epoch, skip = sample.resume_position(self.step, self.epoch_steps)
        dataset = pipeline.make_dataset(
            self.run.train_data,
            self.run.batch_size,
            training=True,
            augment=self.run.augment,
            seed=self.run.seed,
            epoch=epoch,
            skip_batches=skip,
        )
        keys = self.task.batch_keys
        dataset = dataset.map(lambda b: {k: b[k] for k in keys})
        return iter(self.strategy.experimental_distribute_dataset(dataset))

    def _save(self):
        state = {
            "model": self.task.model_name,
            "mode": self.task.mode,
            "config": self.model_config.to_dict(),
            "trainer": self.trainer.state(),
            self._best_key: self.best,
            "nonfinite_steps": self.nonfinite_steps,
        }
        return checkpoint.save_checkpoint(
            self._write_checkpoint_dir,
            self.step,
            self.model,
            self.trainer.optimizers,
            state,
            keep=self.run.keep_checkpoints,
            extra_models=self.task.extra_models(),
        )

    def validate(self):
        """Validates the current weights; returns the summary dict."""
        batches = pipeline.make_dataset(self.run.val_data, self.run.batch_size, training=False)
        if self.run.num_val_images:
            batches = batches.unbatch().take(self.run.num_val_images).batch(self.run.batch_size)
        summary, samples = self.task.validate(self._predict, batches.as_numpy_iterator())
        self.logger.log_validation(self.step, summary, samples)
        return summary

    def _validate_and_checkpoint(self):
        summary = self.validate() if self.run.val_data else None
        metric = self.task.best_metric
        is_best = summary is not None and is_better(self.task, summary[metric], self.best)
        if is_best:
            self.best = summary[metric]
        path = self._save()
        if summary is not None:
            _append_metrics(self._write_metrics_path, dict(summary, step=self.step))
        if is_best:
            checkpoint.mark_best(self._write_checkpoint_dir, path, metric, self.best)
        return summary

    def train(self):
        """Trains until `num_train_steps`; returns the last validation summary."""
        run = self.run
        last_summary = None
        if self.step >= run.num_train_steps:
            print(f"{self.checkpoint_dir} is already at step {self.step}; nothing to do.")
            return _read_metrics(self.metrics_path)[-1] if run.val_data else None
        batches = self._dataset()
        bar = tqdm(
            total=run.num_train_steps, initial=self.step, disable=not run.progress,
            unit="step", dynamic_ncols=True,
        )
        while self.step < run.num_train_steps:
            logs = self.trainer.step(next(batches), self.step)
            self.step += 1
            bar.update(1)
            if logs.pop("skipped"):
                self.nonfinite_steps += 1
                tqdm.write(
                    f"step {self.step}: non-finite loss or gradient, update skipped "
                    f"({self.nonfinite_steps} so far)"
                )
                if self.nonfinite_steps > run.max_nonfinite_steps:
                    raise DivergenceError(
                        f"{self.nonfinite_steps} steps had a non-finite loss (more than "
                        f"--max_nonfinite_steps={run.max_nonfinite_steps}); last logs {logs}. "
                        "Lower the learning rate or check the data."
                    )
            bar.set_postfix({k: f"{logs[k]:.4g}" for k in self.task.progress_keys})
            if self.step % run.log_every == 0:
                self.logger.log_train(self.step, logs, self.trainer.config.learning_rate_at(self.step - 1))
            at_end = self.step == run.num_train_steps
            if self.step % run.val_every == 0 or at_end:
                last_summary = self._validate_and_checkpoint()
                if last_summary is not None:
                    tqdm.write(format_validation(self.step, last_summary))
            elif self.step % run.checkpoint_every == 0:
                self._save()
        bar.close()
        self.logger.flush()
        return last_summary


def format_validation(step, summary):
    """A small table: bicubic and every step's PSNR/SSIM (or the landmark scores)."""
    if "psnr" not in summary:
        nme = "n/a" if summary["nme"] is None else f"{summary['nme']:.4f}"
        return (f"validation at step {step} ({summary['num_images']} images): "
                f"NME {nme}, heatmap loss {summary['heatmap_loss']:.6f}")
    lines = [f"validation at step {step} ({summary['num_images']} images, "
             f"{summary['ssim_variant']} SSIM):", f"  {'':<10}{'PSNR':>8}{'SSIM':>9}"]
    lines.append(f"  {'bicubic':<10}{summary['bicubic_psnr']:>8.3f}{summary['bicubic_ssim']:>9.4f}")
    for t, (p, s) in enumerate(zip(summary["psnr_steps"], summary["ssim_steps"])):
        lines.append(f"  {f'step {t + 1}':<10}{p:>8.3f}{s:>9.4f}")
    if summary.get("nme") is not None:
        lines.append(f"  NME (final heatmaps): {summary['nme']:.4f}")
    return "\n".join(lines)

