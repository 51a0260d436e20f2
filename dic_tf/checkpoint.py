"""Training checkpoints: atomic, rotated, resumable, backend-agnostic.

Layout of a checkpoint directory `<train_dir>/checkpoints/`:

    ckpt-00002000/          one checkpoint, complete or absent
        model.weights.h5    the network's weights (Keras HDF5)
        <name>.weights.h5   further networks' weights (DICGAN: discriminator.weights.h5)
        optimizers.npz      every optimizer variable, "<optimizer>/<index>"
        state.json          step, model config, trainer state (loss scale, ...)
    best.json               {"step", "path", "metric", "value"} of the best one

A checkpoint is written into a temporary sibling directory
`.ckpt-<step>.tmp-<host>-<pid>-<random>` and renamed into place, so a `kill -9`
at any moment leaves either the previous checkpoints or the new one, never a
partial one. `best.json` is replaced atomically and the checkpoint it names is
never rotated away. Rotation removes only the temporary directories of
processes on this host that are no longer running (left by a killed run), never
one that a live process (another worker, another run) is still writing.
"""

import json
import os
import re
import shutil
import socket

import numpy as np

from dic_tf import atomic

FORMAT_VERSION = 1
_CKPT_RE = re.compile(r"^ckpt-(\d{8})$")
_STAGING_RE = re.compile(r"^\.ckpt-\d{8}\.tmp-(?P<host>.+)-(?P<pid>\d+)-[^-]*$")
WEIGHTS_FILE = "model.weights.h5"
OPTIMIZERS_FILE = "optimizers.npz"
STATE_FILE = "state.json"
BEST_FILE = "best.json"


def _write_json(path, obj):
    atomic.write_json(path, obj, indent=2, sort_keys=True)


def list_checkpoints(directory):
    """Complete checkpoints in `directory` as [(step, path)], oldest first.

    Example:
        list_checkpoints("runs/dic/checkpoints")  # [".../ckpt-000100", ...]
    """
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _CKPT_RE.match(name)
        if match and os.path.isfile(os.path.join(directory, name, STATE_FILE)):
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def latest_checkpoint(directory):
    """Path of the newest complete checkpoint in `directory`, or None.

    Example:
        latest_checkpoint("runs/dic/checkpoints")
    """
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def best_checkpoint(directory):
    """Path of the checkpoint `best.json` names, or None.

    Example:
        best_checkpoint("runs/dic/checkpoints")  # or None
    """
    path = os.path.join(directory, BEST_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        best = json.load(f)
    candidate = os.path.join(directory, best["path"])
    return candidate if os.path.isfile(os.path.join(candidate, STATE_FILE)) else None


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


def read_state(checkpoint_path):
    """The state.json of a checkpoint, with a clear error when it is not one.

    Example:
        state = read_state(path)
    """
    path = os.path.join(checkpoint_path, STATE_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{checkpoint_path!r} is not a dic_tf checkpoint: {STATE_FILE} is missing."
        )
    with open(path) as f:
        state = json.load(f)
    if state.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: checkpoint format {state.get('format_version')!r}, expected {FORMAT_VERSION}."
        )
    return state


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


def resolve(path, which="latest"):
    """A checkpoint path from a checkpoint, a checkpoints dir or a train dir.

    Args:
        path: the checkpoint, its checkpoints directory or the train directory.
        which: 'latest', 'best', or 'best_or_latest' (the best when one was
            marked, else the latest).

    Example:
        resolve("runs/dic", which="best")  # a checkpoint folder
    """
    if which not in ("latest", "best", "best_or_latest"):
        raise ValueError(f"which={which!r}; expected 'latest', 'best' or 'best_or_latest'.")
    if os.path.isfile(os.path.join(path, STATE_FILE)):
        return path
    finders = {
        "latest": (latest_checkpoint,),
        "best": (best_checkpoint,),
        "best_or_latest": (best_checkpoint, latest_checkpoint),
    }[which]
    for find in finders:
        for directory in (path, os.path.join(path, "checkpoints")):
            found = find(directory)
            if found:
                return found
    raise FileNotFoundError(f"No dic_tf checkpoint ({which}) found in {path!r}.")


def read_model_state(path, model_name, which="latest"):
    """(checkpoint path, state) of a checkpoint holding a `model_name` network.

    Raises:
        FileNotFoundError / ValueError naming the path when there is no such
        checkpoint or it holds another network.

    Example:
        state = read_model_state("runs/dic", "dic")
    """
    checkpoint_path = resolve(path, which)
    state = read_state(checkpoint_path)
    if state.get("model", "DIC") != model_name:
        raise ValueError(
            f"{checkpoint_path}: holds a {state.get('model', 'DIC')}, not a {model_name}."
        )
    return checkpoint_path, state


def load_model(path, which="latest"):
    """Builds the DIC model of a checkpoint and loads its weights.

    Args:
        path: a checkpoint, its checkpoints directory or the train directory.
        which: 'latest', 'best' or 'best_or_latest' when `path` is a
            directory of checkpoints.

    Returns:
        (model, config): the built `DIC` (the generator of a DICGAN
        checkpoint) and its `DICConfig`.

    Raises:
        FileNotFoundError / ValueError naming the path when it is not a DIC
        checkpoint.

    Example:
        model, config = load_model("runs/dic")
    """
    from dic_tf.config import DICConfig
    from dic_tf.models import build_dic

    checkpoint_path, state = read_model_state(path, "DIC", which)
    config = DICConfig.from_dict(state["config"])
    model = build_dic(config)
    model.load_weights(os.path.join(checkpoint_path, WEIGHTS_FILE))
    return model, config


def load_stacked_hourglass(path, which="best_or_latest"):
    """Builds the stacked-hourglass landmark evaluator of a `--mode=hg_eval` checkpoint.

    Args:
        path: a checkpoint, its checkpoints directory or the train directory.
        which: 'latest', 'best' or 'best_or_latest'.

    Returns:
        (model, config dict): the built `StackedHourglassModel` with its weights.

    Example:
        detector, config = load_stacked_hourglass("runs/hg_eval")
    """
    from dic_tf.models import build_stacked_hourglass

    checkpoint_path, state = read_model_state(path, "StackedHourglass", which)
    config = state["config"]
    model = build_stacked_hourglass(
        config["num_features"], config["num_stacks"], config["num_keypoints"]
    )
    model.load_weights(os.path.join(checkpoint_path, WEIGHTS_FILE))
    return model, config
