"""Training checkpoints, the read side: find one, read its state, build its model.

Written by `dic_tf.training.checkpoints` (atomic, rotated). Layout of a
checkpoint directory `<train_dir>/checkpoints/`:

    ckpt-00002000/          one checkpoint, complete or absent
        model.weights.h5    the network's weights (Keras HDF5)
        <name>.weights.h5   further networks' weights (DICGAN: discriminator.weights.h5)
        optimizers.npz      every optimizer variable, "<optimizer>/<index>"
        state.json          step, model config, trainer state (loss scale, ...)
    best.json               {"step", "path", "metric", "value"} of the best one

and next to it `<train_dir>/metrics.jsonl`, one line per validation
({"step", "psnr", "bicubic_psnr", ...}, `dic_tf.training.validation`).
"""

import json
import os
import re

FORMAT_VERSION = 1
_CKPT_RE = re.compile(r"^ckpt-(\d{8})$")
WEIGHTS_FILE = "model.weights.h5"
OPTIMIZERS_FILE = "optimizers.npz"
STATE_FILE = "state.json"
BEST_FILE = "best.json"
METRICS_FILE = "metrics.jsonl"
# `<train dir>/best`: the run's best checkpoint (`split_best`).
BEST = "best"


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


def read_metrics(path):
    """The validations of a run's `metrics.jsonl`, oldest first ([] when there is none).

    A last line cut short (a run killed while appending it) is passed over;
    training's resume then rewrites the file without it (`truncate_metrics`).

    Raises:
        ValueError: a line before the last is not JSON (the file, the line).

    Example:
        read_metrics("runs/dic/metrics.jsonl")[-1]["psnr"]
    """
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number < len(lines):
                raise ValueError(f"{path}, line {number}: not a JSON validation record ({error}).") from None
    return entries


def checkpoint_validation(path, which="latest"):
    """The run's validation of a checkpoint's own weights, or None when there is none.

    A checkpoint written by a validation (every `--val_every` steps and the
    last) has the line of its step in `<train_dir>/metrics.jsonl`; other
    checkpoints, and one copied out of its run folder, have none.

    Args:
        path, which: see `resolve`.

    Returns:
        {"step", "psnr", "bicubic_psnr", "num_images"} (PSNR on Y in dB, the
        final step and bicubic on the same validation faces), or None.

    Example:
        checkpoint_validation("runs/dic")  # {"step": 1000, "psnr": 24.4, "bicubic_psnr": 24.0, ...}
    """
    checkpoint_path = resolve(path, which)
    step = read_state(checkpoint_path)["step"]
    run_dir = os.path.dirname(os.path.dirname(os.path.abspath(checkpoint_path)))
    for entry in reversed(read_metrics(os.path.join(run_dir, METRICS_FILE))):  # the newest line of the step
        if isinstance(entry, dict) and entry.get("step") == step and "bicubic_psnr" in entry:
            return {"step": step, "psnr": entry.get("psnr"), "bicubic_psnr": entry["bicubic_psnr"],
                    "num_images": entry.get("num_images")}
    return None


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


def split_best(path):
    """`(run folder, True)` when `path` is `<run>/best` naming a run's best checkpoint, else `(path, False)`.

    `<run>/best` is not a folder on disk: it stands for the checkpoint that
    `<run>/checkpoints/best.json` names. A real file or folder called `best`
    keeps its own meaning.

    Example:
        split_best("runs/dic/best")  # ("runs/dic", True)
    """
    head, tail = os.path.split(os.path.normpath(path))
    if tail == BEST and not os.path.lexists(path):
        return head or ".", True
    return path, False


def resolve(path, which="latest"):
    """A checkpoint path from a checkpoint, a checkpoints dir, a train dir or `<train dir>/best`.

    Args:
        path: the checkpoint, its checkpoints directory, the train directory,
            or `<train dir>/best` (its best checkpoint, whatever `which` says).
        which: for a directory of checkpoints: 'latest', 'best', or
            'best_or_latest' (the best when one was marked, else the latest).

    Example:
        resolve("runs/dic")       # runs/dic/checkpoints/ckpt-<latest step>
        resolve("runs/dic/best")  # the checkpoint runs/dic/checkpoints/best.json names
    """
    if which not in ("latest", "best", "best_or_latest"):
        raise ValueError(f"which={which!r}; expected 'latest', 'best' or 'best_or_latest'.")
    path, best = split_best(path)
    which = "best" if best else which
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
    if best:
        raise FileNotFoundError(f"{path!r} has no best checkpoint (checkpoints/{BEST_FILE}).")
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
    from dic_tf.models import build_dic
    from dic_tf.models.dic_config import DICConfig

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
