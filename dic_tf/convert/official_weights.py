"""Conversion of the authors' PyTorch checkpoints into dic_tf models.

`load_official_weights(model, source)` fills a DIC model, a feedback hourglass
(DIC's landmark branch alone), the stacked-hourglass evaluator or a LightCNN-9
from a `.pth` file or from a mapping of PyTorch names to arrays. Loading is
strict and atomic: every missing, unexpected or mis-shaped tensor is reported
by name and nothing is assigned unless everything matches.
"""

import os

import numpy as np

from dic_tf.convert.weight_tables import weight_table
from dic_tf.layers import FeedbackHourglass
from dic_tf.models.lightcnn import LightCNNFeatures

# Checkpoint wrappers used by the authors' solvers.
_WRAPPER_KEYS = ("state_dict", "netG", "model")
# Buffers PyTorch saves that have no Keras counterpart.
_IGNORED_SUFFIXES = (".num_batches_tracked",)


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the model; the message lists every problem.

    Example:
        try:
            load_official_weights(model, "wrong.pth")
        except CheckpointMismatchError as error:
            print(error)  # every missing, unexpected and mis-shaped tensor
    """


def read_torch_checkpoint(path):
    """Reads a `.pth` file into {name: numpy array} with `torch.load(weights_only=True)`.

    Example:
        state = read_torch_checkpoint("DIC_CelebA.pth")
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PyTorch checkpoint {path!r} does not exist.")
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"Reading {path!r} needs PyTorch, which is not installed. Install the CPU build "
            "(`pip install torch`; any version >= 2.0), or pass a mapping of PyTorch names "
            "to numpy arrays instead of a path."
        ) from error
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"Cannot read PyTorch checkpoint {path!r}: {error}") from error
    return checkpoint


def _to_numpy(value, name):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckpointMismatchError(
            f"Checkpoint tensor {name!r} is not numeric ({type(value).__name__})."
        ) from error


def read_npz_state_dict(path):
    """Reads an `.npz` of arrays keyed by PyTorch names (no PyTorch needed).

    Example:
        state = read_npz_state_dict("dic_tiny.npz")  # {PyTorch name: array}
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint {path!r} does not exist.")
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def normalize_state_dict(source):
    """Unwraps `{'state_dict': ...}`/`{'netG': ...}` and strips DataParallel `module.`.

    Args:
        source: a `.pth` path, an `.npz` path of arrays keyed by PyTorch names,
            or a mapping of PyTorch names to arrays/tensors.

    Returns:
        {name: float64 numpy array}.

    Example:
        normalize_state_dict({"state_dict": {"module.a.weight": np.ones(2)}})  # {"a.weight": ...}
    """
    if isinstance(source, (str, os.PathLike)):
        is_npz = os.fspath(source).endswith(".npz")
        source = read_npz_state_dict(source) if is_npz else read_torch_checkpoint(source)
    if not hasattr(source, "items"):
        raise TypeError(
            f"Checkpoint source must be a path or a mapping, got {type(source).__name__}."
        )
    for key in _WRAPPER_KEYS:
        if key in source and hasattr(source[key], "items"):
            source = source[key]
            break
    state = {}
    for name, value in source.items():
        if name.endswith(_IGNORED_SUFFIXES):
            continue
        clean = name[len("module.") :] if name.startswith("module.") else name
        state[clean] = _to_numpy(value, name)
    return state


def _strip_common_prefix(state, expected):
    """Accepts a feedback hourglass saved inside DIC (`HG.` prefix)."""
    if expected and not (set(state) & set(expected)):
        hg = {k[len("HG.") :]: v for k, v in state.items() if k.startswith("HG.")}
        if hg and set(hg) & set(expected):
            return hg
    return state


def load_official_weights(model, source, ignore_prefixes=None):
    """Loads an official PyTorch checkpoint into a dic_tf model, strictly.

    Args:
        model: a built `DIC`, `FeedbackHourglass` (DIC's landmark branch, e.g.
            `dic.hourglass`), `StackedHourglassModel`, `LightCNNDiscriminator`
            or `LightCNNFeatures`.
        source: path to a `.pth` file (DIC_CelebA.pth, DICGAN_CelebA.pth,
            FB_HG_68_CelebA.pth, HG_68_CelebA.pth, LightCNN_feature.pth), an
            `.npz` of the same tensors keyed by PyTorch names, or a mapping of
            PyTorch names to arrays. Plain state dicts,
            `{'state_dict': ...}`, `{'netG': ...}` and `module.` prefixes work.
        ignore_prefixes: names starting with these are skipped (reported in the
            result). Defaults to the classifier head for `LightCNNFeatures` and
            the rest of DIC for a lone `FeedbackHourglass`; nothing otherwise.

    Returns:
        {"loaded": number of tensors assigned, "ignored": sorted names skipped}.

    Raises:
        CheckpointMismatchError: listing every missing, unexpected and
            mis-shaped tensor by name; the model is left unchanged.

    Example:
        model = build_dic(DICConfig.x8())
        load_official_weights(model, "DIC_CelebA.pth")  # {"loaded": ..., "ignored": []}
    """
    table = weight_table(model)
    state = normalize_state_dict(source)
    if isinstance(model, FeedbackHourglass):
        state = _strip_common_prefix(state, table)
    if ignore_prefixes is None:
        ignore_prefixes = ("classifier.", "fc") if isinstance(model, LightCNNFeatures) else ()
    ignored = sorted(k for k in state if k not in table and k.startswith(tuple(ignore_prefixes)))
    missing = sorted(set(table) - set(state))
    unexpected = sorted(set(state) - set(table) - set(ignored))
    values, misshaped = {}, []
    for name, (variable, transform) in table.items():
        if name not in state:
            continue
        try:
            value = transform(state[name])
        except (ValueError, IndexError):
            value = None
        if value is None or tuple(value.shape) != tuple(variable.shape):
            misshaped.append(
                f"{name}: checkpoint shape {tuple(state[name].shape)} does not fit "
                f"{variable.path} of shape {tuple(variable.shape)}"
            )
            continue
        values[name] = value
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s): " + ", ".join(missing))
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s): " + ", ".join(unexpected))
    if misshaped:
        problems.append(f"{len(misshaped)} mis-shaped tensor(s):\n  " + "\n  ".join(misshaped))
    if problems:
        raise CheckpointMismatchError(
            f"Checkpoint does not match {type(model).__name__}; nothing was loaded.\n"
            + "\n".join(problems)
        )
    for name, value in values.items():
        variable, _ = table[name]
        variable.assign(value.astype(variable.dtype))
    return {"loaded": len(values), "ignored": ignored}
