"""The `fit()` callback of a training run, the same on TensorFlow and JAX.

`TrainingCallback` counts the run's steps and, after each one:

* stops with `DivergenceError` once `max_nonfinite_steps` consecutive steps
  were skipped by the optimizer's non-finite guard (`GroupedAdam`);
* every `log_every` steps writes the windowed metrics to TensorBoard (when
  TensorFlow is installed), prints them when no progress bar is shown, and
  resets the metrics;
* every `val_every` steps (and at the last step) validates with the official
  protocol (`validation.py`), appends the summary to `metrics.jsonl`, logs
  TensorBoard scalars and image strips, prints the table and checkpoints,
  marking the best checkpoint; every `checkpoint_every` steps it checkpoints
  (`dic_tf.training.checkpoints`: atomic, rotated).

Only the chief writes; the other workers train and skip all of this but the
divergence check.
"""

import json
import os
import sys

import keras

from dic_tf import metrics
from dic_tf.inference.function import InferenceFunction
from dic_tf.models.saving import METRICS_FILE, read_metrics
from dic_tf.training import checkpoints
from dic_tf.training.optimizer import guarded_optimizer
from dic_tf.utils import atomic


class DivergenceError(RuntimeError):
    """Too many consecutive optimizer steps had a non-finite loss or gradient."""


def truncate_metrics(path, step):
    """Drops validations after `step` (left by a run killed before its checkpoint)."""
    kept = [m for m in read_metrics(path) if m["step"] <= step]
    atomic.write_file(path, "".join(json.dumps(entry) + "\n" for entry in kept).encode("utf-8"))
    return kept


def _append_metrics(path, entry):
    with open(path, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())


def is_better(value, best, higher_is_better):
    """Whether a validation value beats the best so far (None/NaN never does)."""
    if value is None or value != value:
        return False
    if best is None:
        return True
    return value > best if higher_is_better else value < best


def _tensorboard(logdir):
    try:
        from dic_tf.training.summaries import TensorBoardLogger
    except ImportError:
        print("TensorFlow is not installed: no TensorBoard logs are written.")
        return None
    return TensorBoardLogger(logdir)


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


class TrainingCallback(keras.callbacks.Callback):
    """Divergence stop, logs, validation and checkpoints of a run (see the module doc).

    Args:
        task: the task (`tasks.DICTask`, ...) being trained.
        run: the `RunConfig` (train_dir, cadences, limits).
        start_step: steps already taken (a resumed run's checkpoint step).
        state: JSON-serialisable dict stored in every checkpoint's state.json
            (model name, mode, model config).
        validation_batches: callable returning an iterable of numpy batch
            dicts, or None (no validation).
        best: best validation value so far (resumed), or None.
        chief: whether this worker writes checkpoints, metrics and logs.
        print_logs: print the metrics every `log_every` steps (no progress bar).
    """

    def __init__(self, task, run, start_step, state, validation_batches=None, best=None,
                 chief=True, print_logs=False):
        super().__init__()
        self.task = task
        self.run = run
        self.step = start_step
        self.state = state
        self.validation_batches = validation_batches
        self.best = best
        self.chief = chief
        self.print_logs = print_logs
        self.checkpoint_dir = os.path.join(run.train_dir, "checkpoints")
        self.metrics_path = os.path.join(run.train_dir, METRICS_FILE)
        self.last_summary = None
        self._predict = None
        self._skipped = None
        self.logger = _tensorboard(os.path.join(run.train_dir, "logs")) if chief else None

    def _sync(self):
        """Writes the JAX trainer's state into the Keras variables (no-op on TensorFlow)."""
        if hasattr(self.task, "jax_state_sync"):
            self.task.jax_state_sync()

    def on_train_begin(self, logs=None):
        self._skipped = self._read(guarded_optimizer(self.task.optimizer).skipped_steps)

    @staticmethod
    def _read(variable):
        return int(keras.ops.convert_to_numpy(variable))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        self._sync()
        self._check_divergence(logs or {})
        if self.step % self.run.log_every == 0:
            self._log(logs or {})
        at_end = self.step == self.run.num_train_steps
        if self.step % self.run.val_every == 0 or at_end:
            self.validate_and_checkpoint()
        elif self.step % self.run.checkpoint_every == 0:
            self.save()

    def on_train_end(self, logs=None):
        if self.logger is not None:
            self.logger.flush()

    def _check_divergence(self, logs):
        guard = guarded_optimizer(self.task.optimizer)
        skipped = self._read(guard.skipped_steps)
        if skipped > self._skipped:
            bad = self._read(guard.nonfinite_steps)
            print(f"step {self.step}: non-finite loss or gradient, update skipped "
                  f"({bad} in a row, {skipped} in all)", flush=True)
            if bad >= self.run.max_nonfinite_steps:
                values = {k: float(keras.ops.convert_to_numpy(v)) for k, v in logs.items()}
                raise DivergenceError(
                    f"{bad} consecutive steps had a non-finite loss or gradient (at step "
                    f"{self.step}; --max_nonfinite_steps={self.run.max_nonfinite_steps}); last "
                    f"logs {values}. Lower the learning rate or check the data."
                )
        self._skipped = skipped

    def _log(self, logs):
        values = {k: float(keras.ops.convert_to_numpy(v)) for k, v in logs.items()}
        rate = float(keras.ops.convert_to_numpy(
            guarded_optimizer(self.task.optimizer).group_learning_rate(
                "default", self.task.optimizer.iterations - 1)))
        if self.logger is not None:
            self.logger.log_train(self.step, values, rate)
        if self.print_logs and self.chief:
            terms = " ".join(f"{k} {v:.4g}" for k, v in values.items() if "_" not in k)
            print(f"step {self.step}/{self.run.num_train_steps}: {terms} lr {rate:.3g}", flush=True)
        self.task.reset_metrics()

    def save(self):
        """Writes a checkpoint of the current step (chief only); returns its path."""
        if not self.chief:
            return None
        task = self.task
        best_key = f"best_{task.best_metric}"
        state = dict(self.state, **{best_key: self.best})
        return checkpoints.save_checkpoint(
            self.checkpoint_dir, self.step, task.network, {"optimizer": task.optimizer}, state,
            keep=self.run.keep_checkpoints, extra_models=task.extra_models(),
        )

    def validate(self):
        """Validates the current weights (chief only); returns the summary or None."""
        if not self.chief or self.validation_batches is None:
            return None
        if self._predict is None:  # compiled once per run; reads the current weights
            self._predict = InferenceFunction(self.task.network, metrics.SCORING_BATCH_SIZE)
        summary, samples = self.task.validate(self._predict, self.validation_batches(),
                                              self.run.ssim_variant)
        if self.logger is not None:
            self.logger.log_validation(self.step, summary, samples)
        return summary

    def validate_and_checkpoint(self):
        summary = self.validate()
        metric = self.task.best_metric
        best = summary is not None and is_better(summary[metric], self.best,
                                                 self.task.higher_is_better)
        if best:
            self.best = summary[metric]
        path = self.save()
        if summary is not None:
            _append_metrics(self.metrics_path, dict(summary, step=self.step))
            print(format_validation(self.step, summary), file=sys.stdout, flush=True)
            self.last_summary = summary
        if best:
            checkpoints.mark_best(self.checkpoint_dir, path, metric, self.best)
        return summary
