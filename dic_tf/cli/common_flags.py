"""absl flags shared by the entry points: `DICConfig` (train.py, export.py,
predict.py) and the LR degradation (train.py, evaluate.py).

`define_config_flags()` defines `--config=x8|tiny` (the preset) and one flag
per `DICConfig` field, with the field's name. A field flag left unset keeps
the preset's value, so `--config=tiny --num_steps=2` is the tiny model with
two steps. Flagfiles (`--flagfile=configs/x.cfg`) work as for any absl flag.
`degradation_from_flags()` reads `--degradation` and `--degradation_params`.
"""

import dataclasses

from absl import app, flags

from dic_tf.models.dic_config import DICConfig

PRESETS = {"x8": DICConfig.x8, "tiny": DICConfig.tiny}
_HELP = {
    "scale": "Super-resolution factor (only 8 is defined by DIC).",
    "num_features": "Channels of the SR branch feature maps.",
    "num_steps": "SR/landmark collaboration steps.",
    "num_groups": "Up/down projection groups per feedback block.",
    "hg_num_features": "Channels of the feedback hourglass (landmark branch).",
    "num_keypoints": "Landmarks predicted: 68 (CelebA) or 194 (Helen).",
    "num_fusion_blocks": "Grouped residual blocks in the attentive fusion.",
    "detach_attention": "Stop the SR loss gradient through the attention.",
}


def define_config_flags(flag_values=flags.FLAGS):
    """Defines `--config` and one flag per `DICConfig` field (default: preset value).

    Example:
        define_config_flags()  # --config and one flag per DICConfig field
    """
    flags.DEFINE_enum(
        "config", "x8", sorted(PRESETS), "DICConfig preset; field flags override it.",
        flag_values=flag_values,
    )
    for field in dataclasses.fields(DICConfig):
        help_text = _HELP.get(field.name, f"DICConfig.{field.name}.") + " Default: the preset's."
        if field.type is bool:
            flags.DEFINE_boolean(field.name, None, help_text, flag_values=flag_values)
        elif field.type is int:
            flags.DEFINE_integer(field.name, None, help_text, flag_values=flag_values)
        else:
            raise TypeError(f"DICConfig.{field.name} has type {field.type}; no flag type for it.")


def config_from_flags(flag_values=flags.FLAGS):
    """The `DICConfig` of the `--config` preset with every set field flag applied.

    Example:
        config = config_from_flags()  # DICConfig from --config and the field flags
    """
    config = PRESETS[flag_values.config]()
    overrides = {
        field.name: flag_values[field.name].value
        for field in dataclasses.fields(DICConfig)
        if flag_values[field.name].value is not None
    }
    return dataclasses.replace(config, **overrides)


def degradation_from_flags(flag_values=flags.FLAGS):
    """The `RealDegradation` of `--degradation=real` with `--degradation_params`, else None.

    `--degradation_params` with another `--degradation`, or a field it cannot
    parse, raises `app.UsageError` naming the flag. The degradation module
    (numpy, OpenCV) is imported only for `--degradation=real`.

    Example:
        degradation = degradation_from_flags()  # None for --degradation=bicubic
    """
    params = flag_values.degradation_params
    if flag_values.degradation != "real":
        if params is not None:
            raise app.UsageError("--degradation_params applies to --degradation=real only.")
        return None
    from dic_tf.data.degradation import RealDegradation

    try:
        return RealDegradation.from_overrides(params)
    except ValueError as error:
        raise app.UsageError(f"--degradation_params={params}: {error}") from None
