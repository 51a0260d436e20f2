"""Turns train.py's flags into a training run."""

import os

import keras
import tensorflow as tf

from dic_tf.data import augment as augment_lib
from dic_tf.flags import config_from_flags
from dic_tf.training.demo import prepare_demo_data
from dic_tf.training.loop import RunConfig, TrainingRun
from dic_tf.training.trainer import TrainConfig

AUGMENTATIONS = {"none": None, "celeba": augment_lib.CELEBA, "helen": augment_lib.HELEN}


def make_strategy(name):
    """tf.distribute strategy by flag value."""
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


def run_from_flags(flags):
    """Builds the run described by the flags, trains it and prints the final table."""
    if flags.deterministic:
        tf.config.experimental.enable_op_determinism()
    if flags.mixed_precision != "none":
        keras.mixed_precision.set_global_policy(f"mixed_{flags.mixed_precision}")
    train_data, val_data = flags.train_data, flags.val_data
    if flags.demo_data:
        train_data, val_data = prepare_demo_data(
            os.path.join(flags.train_dir, "demo_data"), flags.demo_train_faces, flags.demo_val_faces
        )
    if not train_data:
        raise ValueError("Give --train_data (a prepared dataset folder) or --demo_data.")
    for name, path in (("--train_data", train_data), ("--val_data", val_data)):
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"{name}={path} does not exist.")
    if flags.hg_init and not os.path.isfile(flags.hg_init):
        raise FileNotFoundError(f"--hg_init={flags.hg_init} does not exist.")
    train_config = TrainConfig(
        learning_rate=flags.learning_rate,
        lr_milestones=_milestones(flags.lr_milestones),
        lr_gamma=flags.lr_gamma,
        pixel_weight=flags.pixel_weight,
        heatmap_weight=flags.heatmap_weight,
        pixel_loss_mode=flags.pixel_loss_mode,
        release_hourglass_step=flags.release_hourglass_step,
        loss_scale=flags.mixed_precision == "float16",
    )
    run = RunConfig(
        train_dir=flags.train_dir,
        train_data=train_data,
        val_data=val_data,
        batch_size=flags.batch_size,
        num_train_steps=flags.num_train_steps,
        augment=AUGMENTATIONS[flags.augment],
        seed=flags.seed,
        val_every=flags.val_every,
        checkpoint_every=flags.checkpoint_every,
        keep_checkpoints=flags.keep_checkpoints,
        log_every=flags.log_every,
        num_val_images=flags.num_val_images,
        ssim_variant=flags.ssim,
        hg_init=flags.hg_init,
        max_nonfinite_steps=flags.max_nonfinite_steps,
        jit_compile=flags.jit_compile,
        progress=flags.progress,
    )
    training = TrainingRun(config_from_flags(flags), train_config, run, make_strategy(flags.strategy))
    return training.train()
