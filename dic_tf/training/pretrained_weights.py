"""Weights a training stage starts from: earlier stages' checkpoints or official files.

* `load_hourglass_init`: DIC's landmark branch from an hg-pretraining run
  (`--mode=hg_pretrain`) or from the official FB_HG_68_CelebA.pth (`--hg_init`).
* `load_generator_init`: DICGAN's generator from a DIC run or from the official
  DIC_CelebA.pth (`--init_checkpoint`).
* `load_feature_extractor`: DICGAN's frozen LightCNN-9 trunk from the user's
  LightCNN_feature.pth (`--feature_extractor`); never a random network.

Official files may be `.pth` (needs PyTorch) or `.npz` of the same tensors
keyed by PyTorch name; loading them is strict (`load_official_weights`).
"""

import os

from dic_tf.convert import load_official_weights
from dic_tf.models import saving
from dic_tf.models.dic_config import DICConfig
from dic_tf.models.landmark_estimators import FeedbackHourglassConfig, build_feedback_hourglass

HOURGLASS_MODEL = "FeedbackHourglass"


def _load_official_unless_checkpoint(network, path, flag, what):
    """Loads an official file into `network` and describes it; None for our checkpoints."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{flag}={path} does not exist.")
    if os.path.isdir(path):
        return None
    load_official_weights(network, path)
    return f"official {what} weights {path}"


def load_hourglass_init(hourglass, path, flag="--hg_init"):
    """Loads a `FeedbackHourglass` (e.g. `dic.hourglass`) from `path`.

    Args:
        hourglass: the built `FeedbackHourglass` layer to fill.
        path: an hg-pretraining checkpoint, its checkpoints directory or its
            train directory (the best checkpoint, else the latest), or an
            official `.pth` / `.npz`.
        flag: the flag named in errors.

    Returns:
        a short description of what was loaded.
    """
    official = _load_official_unless_checkpoint(hourglass, path, flag, "hourglass")
    if official:
        return official
    ckpt, state = saving.read_model_state(path, HOURGLASS_MODEL, "best_or_latest")
    config = FeedbackHourglassConfig(**state["config"])
    wanted = (hourglass.num_features, hourglass.num_keypoints)
    if (config.num_features, config.num_keypoints) != wanted:
        raise ValueError(
            f"{flag}={path}: {ckpt} holds a hourglass with num_features="
            f"{config.num_features}, num_keypoints={config.num_keypoints}, but this DIC's "
            f"has hg_num_features={wanted[0]}, num_keypoints={wanted[1]}."
        )
    pretrained = build_feedback_hourglass(config)
    pretrained.load_weights(os.path.join(ckpt, saving.WEIGHTS_FILE))
    for target, source in zip(hourglass.weights, pretrained.hourglass.weights, strict=True):
        if tuple(target.shape) != tuple(source.shape):
            raise ValueError(
                f"{flag}={path}: {source.path} has shape {tuple(source.shape)}, "
                f"{target.path} expects {tuple(target.shape)}."
            )
        target.assign(source)
    return f"hourglass of {ckpt} (step {state['step']})"


def load_generator_init(model, path, flag="--init_checkpoint"):
    """Loads a built `DIC` from one of our DIC (or DICGAN) checkpoints or an official file.

    Args:
        model: the built `DIC` to fill.
        path: our checkpoint / checkpoints directory / train directory (the
            best checkpoint, else the latest), or an official `.pth` / `.npz`
            (DIC_CelebA.pth; the generator of a DICGAN file).
        flag: the flag named in errors.

    Returns:
        a short description of what was loaded.
    """
    official = _load_official_unless_checkpoint(model, path, flag, "DIC")
    if official:
        return official
    ckpt, state = saving.read_model_state(path, "DIC", "best_or_latest")
    saved = DICConfig.from_dict(state["config"])
    if saved != model.config:
        raise ValueError(
            f"{flag}={path}: {ckpt} was trained with model config {saved.to_dict()}, but "
            f"this run asks for {model.config.to_dict()}; give the same --config and "
            "field flags."
        )
    model.load_weights(os.path.join(ckpt, saving.WEIGHTS_FILE))
    return f"DIC of {ckpt} (step {state['step']})"


def load_feature_extractor(features, path, flag="--feature_extractor"):
    """Loads the LightCNN-9 trunk of the feature loss, strictly.

    Args:
        features: a built `LightCNNFeatures`.
        path: LightCNN_feature.pth (or `.npz` keyed by PyTorch names, or a
            full LightCNN-9 state dict whose classifier is ignored).
        flag: the flag named in errors.
    """
    if not path:
        raise ValueError(
            f"{flag} is required: the LightCNN-9 weights of the feature loss (e.g. the "
            "authors' LightCNN_feature.pth); a randomly initialised extractor is never used."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{flag}={path} does not exist.")
    load_official_weights(features, path)
    return f"LightCNN-9 features {path}"
