"""The absl flags the entry points share, each defined and checked here once.

* `define_common_flags()`: `--progress`/`--noprogress` and the TensorFlow
  thread pools `--inter_op_threads`, `--intra_op_threads`; every program
  defines them, `dic_tf.cli.runner` applies the threads.
* `define_config_flags()`: `--config=x8|x4|x2|tiny` (the preset) and one flag per
  `DICConfig` field, with the field's name. A field flag left unset keeps the
  preset's value, so `--config=tiny --num_steps=2` is the tiny model with two
  steps (train.py, and the official checkpoints of evaluate.py, export.py,
  predict.py).
* `define_model_source_flags()`: `--checkpoint`, `--saved_model`,
  `--pytorch_checkpoint`, each program choosing those it accepts (and those
  it takes several times); `model_source_from_flags()` checks them (one
  model), `model_sources_from_flags()` where several are taken.
* `define_degradation_flags()`: `--degradation`, `--degradation_params`
  (train.py, evaluate.py); `degradation_from_flags()` reads them.

Flagfiles (`--flagfile=configs/x8.flags`) work as for any absl flag. A bad
value raises `app.UsageError` naming the flag: one line on stderr through
`dic_tf.cli.runner`.

Example:
    define_common_flags()
    define_config_flags()
    define_model_source_flags(("checkpoint", "pytorch_checkpoint"))
    ...
    source = model_source_from_flags(("checkpoint", "pytorch_checkpoint"))  # after parsing
"""

import dataclasses
import os
import sys

from absl import app, flags

from dic_tf.data.degradation import DEGRADATIONS, RealDegradation
from dic_tf.models import saving
from dic_tf.models.dic_config import DICConfig
from dic_tf.utils import backend

FLAGS = flags.FLAGS
PRESETS = {"x8": DICConfig.x8, "x4": DICConfig.x4, "x2": DICConfig.x2, "tiny": DICConfig.tiny}
_HELP = {
    "scale": "Super-resolution factor: 8 (the paper's, 16x16 -> 128x128), 4 (32x32 LR) or 2 (64x64 LR).",
    "num_features": "Channels of the SR branch feature maps.",
    "num_steps": "SR/landmark collaboration steps.",
    "num_groups": "Up/down projection groups per feedback block.",
    "hg_num_features": "Channels of the feedback hourglass (landmark branch).",
    "num_keypoints": "Landmarks predicted: 68 (CelebA) or 194 (Helen).",
    "num_fusion_blocks": "Grouped residual blocks in the attentive fusion.",
    "detach_attention": "Stop the SR loss gradient through the attention.",
}
# The environment variables TensorFlow sizes its thread pools by when its runtime starts.
THREAD_ENV = {"inter_op_threads": "TF_NUM_INTEROP_THREADS", "intra_op_threads": "TF_NUM_INTRAOP_THREADS"}
MODEL_SOURCES = ("checkpoint", "saved_model", "pytorch_checkpoint")
_SOURCE_HELP = {
    "checkpoint": "One of our training runs: a run folder (loads its latest checkpoint), <run>/best "
                  "(loads the run's best checkpoint, named by checkpoints/best.json) or one checkpoint "
                  "folder (<run>/checkpoints/ckpt-<step>, loads that one); its own DICConfig is used.",
    "saved_model": "An export of export.py: a base path (loads its highest version) or one version "
                   "folder (its serving_default signature).",
    "pytorch_checkpoint": "An official DIC checkpoint (.pth, or .npz keyed by PyTorch names); "
                          "--config and the field flags give its architecture.",
}


def define_common_flags(flag_values=FLAGS):
    """Defines `--progress` and the thread flags, which every entry point takes.

    Example:
        define_common_flags()  # --progress/--noprogress, --inter_op_threads, --intra_op_threads
    """
    flags.DEFINE_boolean("progress", True, "Show progress bars (on a terminal only; --noprogress: "
                         "never).", flag_values=flag_values)
    for name, env in THREAD_ENV.items():
        kind = name.split("_")[0]
        flags.DEFINE_integer(name, None, f"TensorFlow's {kind}-op thread pool size (default: ${env}, "
                             "else TensorFlow's choice from the core count); not on the JAX backend.", lower_bound=1,
                             flag_values=flag_values)


def show_progress(flag_values=FLAGS):
    """Whether to draw a progress bar: `--progress` and stderr a terminal (no bar flooding a log)."""
    return flag_values.progress and sys.stderr.isatty()


def apply_thread_flags(flag_values=FLAGS):
    """Sizes TensorFlow's thread pools by the thread flags given, before its runtime starts.

    Sets `TF_NUM_INTEROP_THREADS` / `TF_NUM_INTRAOP_THREADS`, which TensorFlow
    reads at its first op, in this process and in those it starts (the
    benchmark's rows). Another Keras backend has no such pools and refuses
    the flags (`dic_tf.utils.backend.require`: one line naming the flag).

    Example:
        apply_thread_flags()  # after the flags are parsed
    """
    given = [name for name in THREAD_ENV if flag_values[name].value is not None]
    if given:
        backend.require(f"--{given[0]} (the size of TensorFlow's thread pools)")
    for name in given:
        os.environ[THREAD_ENV[name]] = str(flag_values[name].value)


def define_config_flags(flag_values=FLAGS):
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


def config_from_flags(flag_values=FLAGS):
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


def given_config_flags(exclude=(), flag_values=FLAGS):
    """The `--config`/DICConfig field flags the user gave (command line or flagfile).

    Example:
        given_config_flags(exclude=("scale",))  # ["config", "num_steps"]
    """
    names = ("config",) + tuple(f.name for f in dataclasses.fields(DICConfig))
    return [name for name in names if name not in exclude and flag_values[name].present]


def define_model_source_flags(sources=MODEL_SOURCES, scope="", repeatable=(), flag_values=FLAGS):
    """Defines the model-source flags `sources` (names among `MODEL_SOURCES`).

    Args:
        sources: the sources the program accepts.
        scope: prefix of their help texts, e.g. "Model mode: ".
        repeatable: those of `sources` that may be given several times (a
            list-valued flag); `model_source_from_flags` still takes one value,
            `model_sources_from_flags` several.

    Example:
        define_model_source_flags(("checkpoint", "pytorch_checkpoint"))  # export.py's
    """
    for name in sources:
        if name in repeatable:
            flags.DEFINE_multi_string(name, None, scope + _SOURCE_HELP[name] + " Repeat the flag for several "
                                      "models where the program takes several.", flag_values=flag_values)
        else:
            flags.DEFINE_string(name, None, scope + _SOURCE_HELP[name], flag_values=flag_values)


def _one_of(names):
    names = [f"--{name}" for name in names]
    return ", ".join(names[:-1]) + " or " + names[-1]


def model_source_from_flags(sources=MODEL_SOURCES, others=(), config_exclude=(), flag_values=FLAGS):
    """Checks the model-source flags; returns the name of the one given.

    Exactly one of `sources` and `others` (other flags that replace a model,
    such as evaluate.py's `--sr_dir`, whose path the program checks) must be
    given, and a model source must exist; `--pytorch_checkpoint` alone takes
    the config flags (but `config_exclude`, which have another use too), and
    they must make a valid `DICConfig`.

    Args:
        sources: the model-source flags the program defined.
        others: flags the program accepts instead of a model; their paths are not checked here.
        config_exclude: config flags allowed without `--pytorch_checkpoint`.

    Returns:
        the flag name given: one of `sources`, or of `others`.

    Example:
        source = model_source_from_flags()  # "saved_model"
    """
    chosen = [name for name in tuple(others) + tuple(sources) if flag_values[name].value]
    if len(chosen) != 1:
        got = ", ".join(f"--{name}" for name in chosen) or "none"
        raise app.UsageError(f"Give exactly one of {_one_of(tuple(others) + tuple(sources))}; got {got}.")
    source = chosen[0]
    if source in sources:
        paths = _values(source, flag_values)
        if len(paths) > 1:
            raise app.UsageError(f"--{source} is given {len(paths)} times; expected one model here.")
        _check_sources([(source, paths[0])], config_exclude, flag_values)
    else:
        _check_sources([(source, None)], config_exclude, flag_values)  # no model: no config flags
    return source


def model_sources_from_flags(sources=MODEL_SOURCES, flag_values=FLAGS):
    """Checks model-source flags that may name several models; returns `[(flag name, path)]`.

    At least one model; each path must exist. `--pytorch_checkpoint` is a
    single-valued flag (the config flags describe its architecture, and only
    its): given again, as in a flagfile then on the command line, the last wins.

    Example:
        models = model_sources_from_flags()  # [("checkpoint", "runs/x8"), ("saved_model", "exports/x4")]
    """
    given = [(name, path) for name in sources for path in _values(name, flag_values)]
    if not given:
        raise app.UsageError(f"Give at least one of {_one_of(sources)}; got none.")
    _check_sources(given, (), flag_values)
    return given


def _values(name, flag_values):
    """The values of a model-source flag as a list (a repeatable flag's list, or one path)."""
    value = flag_values[name].value
    return [] if not value else list(value) if isinstance(value, list) else [value]


def _check_sources(given, config_exclude, flag_values):
    """Each `(flag name, path)` exists (a None path is not checked); config flags only with
    `--pytorch_checkpoint`, and valid."""
    for source, path in given:
        if path is None:  # another flag in place of a model (evaluate.py's --sr_dir); its program checks it
            continue
        if source == "pytorch_checkpoint" and not os.path.isfile(path):
            raise app.UsageError(f"--{source}={path}: no such file.")
        folder = saving.split_best(path)[0] if source == "checkpoint" else path
        if source in ("checkpoint", "saved_model") and not os.path.isdir(folder):
            raise app.UsageError(f"--{source}={path}: no such folder.")
    names = {source for source, _ in given}
    config_given = given_config_flags(config_exclude, flag_values)
    if "pytorch_checkpoint" not in names and config_given:
        raise app.UsageError(
            f"--{config_given[0]} describes an official checkpoint's architecture "
            f"(--pytorch_checkpoint); --{given[0][0]} does not use it."
        )
    if "pytorch_checkpoint" in names:
        config_from_flags(flag_values)  # DICConfig checks its fields


def define_degradation_flags(scope="", flag_values=FLAGS):
    """Defines `--degradation` (`DEGRADATIONS`) and `--degradation_params`.

    Args:
        scope: prefix of their help texts: where the program makes LR faces.

    Example:
        define_degradation_flags("dic, dicgan: ")  # train.py's
    """
    flags.DEFINE_enum(
        "degradation", "bicubic", list(DEGRADATIONS),
        scope + "how the LR is made from each HR face: 'bicubic' (the paper's Pillow bicubic, "
        "the official preparation) or 'real' (Real-ESRGAN's high-order degradation with BSRGAN's "
        "shuffle, seeded; docs/degradation.md).", flag_values=flag_values,
    )
    flags.DEFINE_string(
        "degradation_params", None, scope + "with --degradation=real: overrides of its fields, "
        "e.g. 'jpeg_range=40:90,gaussian_noise_prob=0.3' (docs/degradation.md).",
        flag_values=flag_values,
    )


def degradation_from_flags(flag_values=FLAGS):
    """The `RealDegradation` of `--degradation=real` with `--degradation_params`, else None.

    `--degradation_params` with another `--degradation`, or a field it cannot
    parse, raises `app.UsageError` naming the flag.

    Example:
        degradation = degradation_from_flags()  # None for --degradation=bicubic
    """
    params = flag_values.degradation_params
    if flag_values.degradation != "real":
        if params is not None:
            raise app.UsageError("--degradation_params applies to --degradation=real only.")
        return None
    try:
        return RealDegradation.from_overrides(params)
    except ValueError as error:
        raise app.UsageError(f"--degradation_params={params}: {error}") from None
