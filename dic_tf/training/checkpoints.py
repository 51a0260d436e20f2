"""Training checkpoints, the write side: atomic, rotated, resumable, backend-agnostic.

The layout of `<train_dir>/checkpoints/` is in `dic_tf.models.saving`, which
reads it back.

A checkpoint is written into a temporary sibling directory
`.ckpt-<step>.tmp-<host>-<pid>-<random>` and renamed into place, so a `kill -9`
at any moment leaves either the previous checkpoints or the new one, never a
partial one. `best.json` is replaced atomically and the checkpoint it names is
never rotated away. Rotation removes only the temporary directories of
processes on this host that are no longer running (left by a killed run), never
one that a live process (another worker, another run) is still writing.
"""

import os
import re
import shutil
import socket

import numpy as np

from dic_tf.models.saving import (
    BEST_FILE,
    FORMAT_VERSION,
    OPTIMIZERS_FILE,
    STATE_FILE,
    WEIGHTS_FILE,
    best_checkpoint,
    list_checkpoints,
    read_state,
)
from dic_tf.utils import atomic

_STAGING_RE = re.compile(r"^\.ckpt-\d{8}\.tmp-(?P<host>.+)-(?P<pid>\d+)-[^-]*$")


def _write_json(path, obj):
    atomic.write_json(path, obj, indent=2, sort_keys=True)


def _optimizer_arrays(optimizers):
    arrays = {}
    for name, optimizer in optimizers.items():
        for i, variable in enumerate(optimizer.variables):
            arrays[f"{name}/{i:05d}"] = np.asarray(variable)
    return arrays


def save_checkpoint(directory, step, model, optimizers, state, keep=3, extra_models=None):
    """Writes `ckpt-<step>` atomically and keeps the newest `keep` (and the best).

    Args:
        directory: the checkpoints directory (created if needed).
        step: optimizer steps taken so far.
        model: a built Keras model.
        optimizers: {name: built keras optimizer}.
        state: JSON-serialisable dict stored in state.json (trainer state).
        keep: number of most recent checkpoints kept.
        extra_models: {file name ending in `.weights.h5`: built Keras model}
            saved next to the model (e.g. DICGAN's discriminator).

    Returns:
        The checkpoint's path.

    Example:
        save_checkpoint("runs/dic/checkpoints", 100, model, {"sr": optimizer}, {"epoch": 1})
    """
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, f"ckpt-{step:08d}")
    if os.path.isfile(os.path.join(final, STATE_FILE)):
        return final
    tmp = atomic.make_staging_dir(
        directory, prefix=f".ckpt-{step:08d}.tmp-{socket.gethostname()}-{os.getpid()}-"
    )
    try:
        model.save_weights(os.path.join(tmp, WEIGHTS_FILE))
        for name, extra in (extra_models or {}).items():
            extra.save_weights(os.path.join(tmp, name))
        with open(os.path.join(tmp, OPTIMIZERS_FILE), "wb") as f:
            np.savez(f, **_optimizer_arrays(optimizers))
            f.flush()
            os.fsync(f.fileno())
        full_state = dict(state, step=int(step), format_version=FORMAT_VERSION)
        _write_json(os.path.join(tmp, STATE_FILE), full_state)
        atomic.fsync_dir(tmp)
        os.rename(tmp, final)
        atomic.fsync_dir(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _rotate(directory, keep)
    return final


def mark_best(directory, checkpoint_path, metric, value):
    """Atomically records `checkpoint_path` as the best checkpoint.

    Example:
        mark_best("runs/dic/checkpoints", path, "psnr", 27.1)
    """
    state = read_state(checkpoint_path)
    _write_json(
        os.path.join(directory, BEST_FILE),
        {
            "step": state["step"],
            "path": os.path.basename(checkpoint_path),
            "metric": metric,
            "value": value,
        },
    )


def _rotate(directory, keep):
    protected = best_checkpoint(directory)
    complete = list_checkpoints(directory)
    for _, path in complete[: max(len(complete) - keep, 0)]:
        if path != protected:
            shutil.rmtree(path, ignore_errors=True)
    for name in os.listdir(directory):
        if _is_abandoned_staging(name):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)


def _is_abandoned_staging(name):
    """Whether `name` is the temporary directory of a process of this host that has ended.

    Directories of other hosts (a shared file system) or of unknown owner are
    kept: their writer may still be running.
    """
    match = _STAGING_RE.match(name)
    if match is None or match["host"] != socket.gethostname():
        return False
    pid = int(match["pid"])
    if pid == os.getpid():
        return True  # this process writes one checkpoint at a time: a leftover of a failed save
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def restore_optimizers(checkpoint_path, optimizers):
    """Assigns saved optimizer variables to built optimizers, checking names and shapes.

    Example:
        restore_optimizers(path, {"sr": optimizer})
    """
    path = os.path.join(checkpoint_path, OPTIMIZERS_FILE)
    with np.load(path) as saved:
        expected = _optimizer_arrays(optimizers)
        problems = [k for k in expected if k not in saved.files]
        problems += [
            f"{k}: saved {saved[k].shape}, optimizer has {v.shape}"
            for k, v in expected.items()
            if k in saved.files and saved[k].shape != v.shape
        ]
        problems += [k for k in saved.files if k not in expected]
        if problems:
            raise ValueError(f"{path} does not fit the optimizers: " + "; ".join(problems))
        for name, optimizer in optimizers.items():
            for i, variable in enumerate(optimizer.variables):
                variable.assign(saved[f"{name}/{i:05d}"])
