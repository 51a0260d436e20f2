"""Turns train.py's flags into a training run of `--mode` (`dic_tf.training.run`)."""

import os
import shutil
import sys
import tempfile

import keras

from dic_tf.cli.common_flags import config_from_flags, degradation_from_flags
from dic_tf.data import augment as augment_lib
from dic_tf.models import FeedbackHourglassConfig, StackedHourglassConfig
from dic_tf.training.demo import prepare_demo_data
from dic_tf.training.run import RunConfig, TrainConfig, TrainingRun, is_chief

AUGMENTATIONS = {"none": None, "celeba": augment_lib.CELEBA, "helen": augment_lib.HELEN}


def make_strategy(name):
    """tf.distribute strategy by flag value (TensorFlow), or None after setting the
    `keras.distribution` (JAX: `mirrored` is `DataParallel` over the local devices)."""
    if keras.backend.backend() == "jax":
        if name == "mirrored":
            keras.distribution.set_distribution(keras.distribution.DataParallel())
        elif name != "default":
            raise ValueError(f"--strategy={name} is TensorFlow-only; on JAX use default or mirrored.")
        return None
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy=multi_worker needs the TF_CONFIG environment variable.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"Unknown --strategy={name!r}.")


def _milestones(values):
    try:
        milestones = tuple(int(float(v)) for v in values)
    except ValueError as error:
        raise ValueError(f"--lr_milestones={values}: expected integers.") from error
    if list(milestones) != sorted(milestones):
        raise ValueError(f"--lr_milestones={values} must be increasing.")
    return milestones


def configs_from_flags(flags):
    """(model config, train config) of `--mode` from the flags."""
    config = config_from_flags(flags)
    train_config = TrainConfig(
        learning_rate=flags.learning_rate,
        lr_milestones=_milestones(flags.lr_milestones),
        lr_gamma=flags.lr_gamma,
        pixel_weight=flags.pixel_weight,
        heatmap_weight=flags.heatmap_weight,
        pixel_loss_mode=flags.pixel_loss_mode,
        release_hourglass_step=flags.release_hourglass_step,
        d_learning_rate=flags.d_learning_rate,
        feature_weight=flags.feature_weight,
        gan_weight=flags.gan_weight,
    )
    if flags.mode in ("dic", "dicgan"):
        return config, train_config
    if flags.mode == "hg_pretrain":
        return FeedbackHourglassConfig(
            config.hg_num_features, config.num_keypoints, config.num_steps
        ), train_config
    return StackedHourglassConfig(
        config.hg_num_features, flags.num_stacks, config.num_keypoints
    ), train_config


def run_from_flags(flags):
    """Builds the run described by the flags, trains it and prints the final table.

    Under `--strategy=multi_worker` only the chief writes into `--train_dir`
    (`TrainingRun`); every other worker generates `--demo_data` into a scratch
    folder that it deletes at the end, and reads the chief's checkpoints to resume.
    """
    if flags.deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        # One op at a time: with concurrent ops even a forward pass differs call to call on the
        # CPU (oneDNN's sums, presumably; docs/performance.md).
        tf.config.threading.set_inter_op_parallelism_threads(1)
    if flags.mixed_precision != "none":
        keras.mixed_precision.set_global_policy(f"mixed_{flags.mixed_precision}")
    strategy = make_strategy(flags.strategy)
    scratch = None if is_chief(strategy) else tempfile.mkdtemp(prefix="dic_tf-worker-")
    try:
        return _run(flags, strategy, scratch)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _run(flags, strategy, scratch):
    train_data, val_data = flags.train_data, flags.val_data
    if flags.demo_data:
        train_data, val_data = prepare_demo_data(
            os.path.join(scratch or flags.train_dir, "demo_data"),
            flags.demo_train_faces, flags.demo_val_faces,
        )
    if not train_data:
        raise ValueError("Give --train_data (a prepared dataset folder) or --demo_data.")
    for name, path in (("--train_data", train_data), ("--val_data", val_data)):
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"{name}={path} does not exist.")
    for name in ("hg_init", "init_checkpoint", "feature_extractor"):
        path = flags[name].value
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"--{name}={path} does not exist.")
    model_config, train_config = configs_from_flags(flags)
    run = RunConfig(
        train_dir=flags.train_dir,
        train_data=train_data,
        val_data=val_data,
        batch_size=flags.batch_size,
        num_train_steps=flags.num_train_steps,
        augment=AUGMENTATIONS[flags.augment],
        degradation=degradation_from_flags(flags),
        seed=flags.seed,
        val_every=flags.val_every,
        checkpoint_every=flags.checkpoint_every,
        keep_checkpoints=flags.keep_checkpoints,
        log_every=flags.log_every,
        num_val_images=flags.num_val_images,
        ssim_variant=flags.ssim,
        hg_init=flags.hg_init,
        init=flags.init,
        remat=flags.remat,
        init_checkpoint=flags.init_checkpoint,
        feature_extractor=flags.feature_extractor,
        max_nonfinite_steps=flags.max_nonfinite_steps,
        jit_compile=flags.jit_compile,
        progress=flags.progress and sys.stderr.isatty(),  # no bar flooding a log file
    )
    training = TrainingRun(model_config, train_config, run, strategy, mode=flags.mode)
    return training.train()
