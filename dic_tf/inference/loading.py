"""Model loading: a DIC from a training checkpoint or the authors' weights, and export folders.

`load_dic` builds a Keras DIC with weights from one source; `resolve_saved_model_dir`
finds the SavedModel of an export base path. The predictors that run them on LR
faces are `dic_tf.inference.predictors`.
"""

import os


def load_dic(checkpoint=None, pytorch_checkpoint=None, config=None, lr_size=None):
    """A built DIC with weights from exactly one source.

    Args:
        checkpoint: a training checkpoint directory (`dic_tf.models.saving.load_model`);
            its own config is used and `config` must be None.
        pytorch_checkpoint: an official `.pth` (or `.npz`, or a {PyTorch name:
            array} mapping), converted with `dic_tf.convert.load_official_weights`.
        config: the `DICConfig` of the official checkpoint.
        lr_size: LR side used to build the model (default `config.lr_size`, 128 / scale).

    Returns:
        (model, info): info is {"kind": "checkpoint"|"pytorch_checkpoint",
        "path", "config", "validation"}, for reports; "validation" is the
        run's validation of the checkpoint's weights
        (`dic_tf.models.saving.checkpoint_validation`), None for an official
        checkpoint or a checkpoint without one.

    Example:
        model, info = load_dic(checkpoint="runs/dic/checkpoints")
    """
    if (checkpoint is None) == (pytorch_checkpoint is None):
        raise ValueError("Give exactly one of a training checkpoint or an official PyTorch checkpoint.")
    if checkpoint is not None:
        try:
            from dic_tf.models.saving import checkpoint_validation, load_model, resolve
        except ImportError as error:
            raise ImportError(
                f"Loading the training checkpoint {checkpoint!r} needs dic_tf.models.saving, which "
                f"failed to import: {error}"
            ) from error
        path = resolve(os.fspath(checkpoint))  # once: a live run may write a newer checkpoint meanwhile
        model, config = load_model(path)
        return model, _info("checkpoint", checkpoint, config, checkpoint_validation(path))
    from dic_tf.convert import load_official_weights
    from dic_tf.models import build_dic

    if config is None:
        raise ValueError("An official PyTorch checkpoint needs its DICConfig (the config flags).")
    model = build_dic(config, lr_size=lr_size)
    load_official_weights(model, pytorch_checkpoint)
    return model, _info("pytorch_checkpoint", pytorch_checkpoint, config)


def _info(kind, source, config, validation=None):
    path = os.path.abspath(source) if isinstance(source, (str, os.PathLike)) else "(in memory)"
    return {"kind": kind, "path": path, "config": config.to_dict(), "validation": validation}


def resolve_saved_model_dir(path):
    """`path` itself if it holds a SavedModel, else its highest integer version.

    Example:
        resolve_saved_model_dir("exports/dic")  # "exports/dic/<latest version>"
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted(
        int(name) for name in (os.listdir(path) if os.path.isdir(path) else [])
        if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
    )
    if not versions:
        raise FileNotFoundError(
            f"{path!r} is neither a SavedModel directory nor a base path with numbered versions."
        )
    return os.path.join(path, str(versions[-1]))
