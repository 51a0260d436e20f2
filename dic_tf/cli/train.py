"""Trains DIC, DICGAN or a landmark network (later flags override a flagfile).

The embedded demo: synthetic faces, a small model, under 5 minutes on a 2-core
CPU; it writes runs/demo (checkpoints, TensorBoard logs, the demo data), and
running it again resumes:

    python train.py --flagfile=configs/demo.flags

The three stages of the paper (docs/training.md), on CelebA prepared by
prepare_data.py into data/celeba/train and data/celeba/val, with the authors'
weights in models/ where a flagfile names them:

    python train.py --flagfile=configs/hg_pretrain.flags   # stage 1, --mode=hg_pretrain
    python train.py --flagfile=configs/x8.flags            # stage 2, --mode=dic
    python train.py --flagfile=configs/x8_gan.flags        # stage 3, --mode=dicgan

and the landmark evaluator that evaluate.py --landmark_detector takes:

    python train.py --flagfile=configs/hg_eval.flags
"""

import os
import shutil
import tempfile

import keras
from absl import app, flags

from dic_tf.cli import common_flags, runner
from dic_tf.data import augment as augment_lib
from dic_tf.data.demo import prepare_demo_data
from dic_tf.metrics import SSIM_VARIANTS
from dic_tf.models import FeedbackHourglassConfig, StackedHourglassConfig
from dic_tf.models.dic_config import REMAT_MODES
from dic_tf.training import distribution
from dic_tf.training.run import RunConfig, TrainConfig, TrainingRun

common_flags.define_common_flags()
common_flags.define_config_flags()
common_flags.define_degradation_flags("dic, dicgan: ")
FLAGS = flags.FLAGS
flags.DEFINE_enum("mode", "dic", ["dic", "hg_pretrain", "hg_eval", "dicgan"],
                  "What to train: DIC, its feedback hourglass alone on HR faces, the "
                  "stacked-hourglass landmark evaluator, or DICGAN.")
flags.DEFINE_string("train_dir", None, "Run directory: checkpoints, logs, metrics.jsonl.")
flags.DEFINE_string("train_data", None, "Prepared training set (folder with manifest.json).")
flags.DEFINE_string("val_data", None, "Prepared validation set (folder with manifest.json).")
flags.DEFINE_boolean("demo_data", False, "Generate and use the embedded synthetic faces.")
flags.DEFINE_integer("demo_train_faces", 600, "Synthetic training faces (--demo_data).")
flags.DEFINE_integer("demo_val_faces", 32, "Synthetic validation faces (--demo_data).")
flags.DEFINE_integer("batch_size", 8, "Global batch size.")
flags.DEFINE_integer("num_train_steps", 150_000, "Optimizer steps.")
flags.DEFINE_float("learning_rate", 1e-4, "Adam learning rate (the generator's in dicgan).")
flags.DEFINE_float("d_learning_rate", 1e-4, "dicgan: the discriminator's Adam learning rate.")
flags.DEFINE_list("lr_milestones", ["10000", "20000", "40000", "80000"], "Steps of x lr_gamma.")
flags.DEFINE_float("lr_gamma", 0.5, "Learning-rate decay at each milestone.")
flags.DEFINE_float("pixel_weight", 1.0, "Weight of each step's L1 image loss.")
flags.DEFINE_float("heatmap_weight", 0.1, "Weight of each step's heatmap MSE.")
flags.DEFINE_float("feature_weight", 0.1, "dicgan: weight of the LightCNN feature L1 (final step).")
flags.DEFINE_float("gan_weight", 0.005, "dicgan: weight of the generator's GAN loss (final step).")
flags.DEFINE_enum("pixel_loss_mode", "every_step", ["every_step", "final_only"],
                  "'every_step' (the paper: step t's image) or 'final_only' (the authors' "
                  "DICGAN code: the final image, counted once per step).")
flags.DEFINE_integer("release_hourglass_step", 2000, "Step from which the hourglass trains.")
flags.DEFINE_string("hg_init", None, "dic: DIC's hourglass from an --mode=hg_pretrain run folder "
                    "(loads its best checkpoint, else its latest), one of its checkpoint folders "
                    "(loads that one) or official weights (FB_HG_68_CelebA.pth/.npz).")
flags.DEFINE_enum("init", "kaiming", ["kaiming", "torch_default"],
                  "dic: initialisation of a fresh DIC, applied before --hg_init: the authors' "
                  "kaiming normal (fan_in, zero bias) or PyTorch's default. Without --hg_init "
                  "the hourglass keeps PyTorch's default init (kaiming makes it diverge).")
flags.DEFINE_enum("remat", "blocks", list(REMAT_MODES),
                  "dic, dicgan: recompute activations in the backward pass instead of storing "
                  "them: 'blocks' (each feedback block, i.e. a step's 8x up/down projections), "
                  "'groups' (each up/down projection group of a feedback block: only its HR and "
                  "LR features are kept), 'blocks_and_groups' (both, nested: the leanest), "
                  "'large_maps' (every layer whose output exceeds a 128x128x48 map) or 'none'. Same "
                  "gradients, less memory (docs/performance.md).")
flags.DEFINE_string("init_checkpoint", None, "dicgan: the DIC it starts from: our DIC run folder "
                    "(loads its best checkpoint, else its latest), one of its checkpoint folders "
                    "(loads that one) or the official DIC_CelebA.pth/.npz.")
flags.DEFINE_string("feature_extractor", None, "dicgan (required): LightCNN-9 weights of the "
                    "feature loss, e.g. LightCNN_feature.pth (or .npz).")
flags.DEFINE_integer("num_stacks", 4, "hg_eval: hourglass stacks of the landmark evaluator.")
flags.DEFINE_enum("augment", "none", ["none", "celeba", "helen"], "Training augmentations.")
flags.DEFINE_integer("seed", 0, "Seed of the initialisation and the data order.")
flags.DEFINE_integer("val_every", 2000, "Validate (and checkpoint) every N steps.")
flags.DEFINE_integer("checkpoint_every", 5000, "Checkpoint every N steps.")
flags.DEFINE_integer("keep_checkpoints", 3, "Most recent checkpoints kept (plus the best).")
flags.DEFINE_integer("log_every", 50, "TensorBoard training scalars every N steps.")
flags.DEFINE_integer("num_val_images", None, "Validate on the first N images only.")
flags.DEFINE_enum("ssim", "official", list(SSIM_VARIANTS), "SSIM variant of validation.")
flags.DEFINE_integer("max_nonfinite_steps", 20, "Stop after this many skipped non-finite steps.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy (multi_worker reads TF_CONFIG).")
flags.DEFINE_enum("mixed_precision", "none", ["none", "bfloat16", "float16"],
                  "Mixed precision policy; float16 uses dynamic loss scaling.")
flags.DEFINE_boolean("jit_compile", None, "Compile the train step with XLA (default: on JAX, "
                     "where the step otherwise runs op by op; not on TensorFlow).")
flags.DEFINE_boolean("deterministic", False, "TensorFlow op determinism, one op at a time "
                     "(bit-identical runs and resumes; slower).")


# Flags that only one --mode (or --demo_data) uses; given with another, they are refused.
_MODE_FLAGS = {
    "hg_init": ("dic",),
    "init": ("dic",),
    "remat": ("dic", "dicgan"),
    "release_hourglass_step": ("dic",),
    "init_checkpoint": ("dicgan",),
    "feature_extractor": ("dicgan",),
    "d_learning_rate": ("dicgan",),
    "feature_weight": ("dicgan",),
    "gan_weight": ("dicgan",),
    "pixel_weight": ("dic", "dicgan"),
    "heatmap_weight": ("dic", "dicgan"),
    "pixel_loss_mode": ("dic", "dicgan"),
    "num_stacks": ("hg_eval",),
    "degradation": ("dic", "dicgan"),  # the landmark networks read HR faces only
    "degradation_params": ("dic", "dicgan"),
}
# DICConfig fields the landmark networks do not have (they use hg_num_features, num_keypoints
# and, for hg_pretrain, num_steps).
_SR_ONLY_CONFIG_FIELDS = ("num_features", "num_groups", "num_fusion_blocks", "detach_attention")
_AT_LEAST_ONE = ("batch_size", "num_train_steps", "val_every", "checkpoint_every",
                 "keep_checkpoints", "log_every", "num_val_images", "demo_train_faces",
                 "demo_val_faces", "num_stacks")


def check_flags():
    """Refuses out-of-range values and flags that do not apply to --mode (no TensorFlow)."""
    if not FLAGS.train_dir:
        raise app.UsageError("--train_dir is required: the run directory (checkpoints, logs).")
    for name in _AT_LEAST_ONE:
        value = FLAGS[name].value
        if value is not None and value < 1:
            raise app.UsageError(f"--{name}={value}: expected an integer >= 1.")
    for name in ("learning_rate", "d_learning_rate", "lr_gamma"):
        if not FLAGS[name].value > 0:
            raise app.UsageError(f"--{name}={FLAGS[name].value}: expected a number > 0.")
    for name in ("pixel_weight", "heatmap_weight", "feature_weight", "gan_weight",
                 "release_hourglass_step", "max_nonfinite_steps"):
        if not FLAGS[name].value >= 0:
            raise app.UsageError(f"--{name}={FLAGS[name].value}: expected a value >= 0.")
    for name, modes in _MODE_FLAGS.items():
        if FLAGS[name].present and FLAGS.mode not in modes:
            raise app.UsageError(
                f"--{name} applies to --mode={'/'.join(modes)} only, not --mode={FLAGS.mode}; "
                "remove it."
            )
    if FLAGS.mode in ("hg_pretrain", "hg_eval"):
        for name in _SR_ONLY_CONFIG_FIELDS:
            if FLAGS[name].present:
                raise app.UsageError(
                    f"--{name} configures DIC's SR branch; --mode={FLAGS.mode} trains a "
                    "landmark network only. Remove it."
                )
    common_flags.degradation_from_flags()  # a bad --degradation_params fails before training
    if FLAGS.mixed_precision == "float16" and FLAGS.mode == "dicgan":
        raise app.UsageError("--mixed_precision=float16 (loss scaling) is not implemented for "
                             "--mode=dicgan; use bfloat16 or none.")
    if FLAGS.mode == "dicgan" and not FLAGS.feature_extractor:
        raise app.UsageError("--mode=dicgan needs --feature_extractor (LightCNN-9 weights).")
    if FLAGS.demo_data and (FLAGS.train_data or FLAGS.val_data):
        raise app.UsageError("--demo_data generates the data; it cannot be combined with "
                             "--train_data/--val_data.")
    for name in ("demo_train_faces", "demo_val_faces"):
        if FLAGS[name].present and not FLAGS.demo_data:
            raise app.UsageError(f"--{name} applies to --demo_data only.")
    if FLAGS.num_val_images is not None and not (FLAGS.val_data or FLAGS.demo_data):
        raise app.UsageError("--num_val_images applies to a validation set: give --val_data.")
    if not FLAGS.demo_data and not FLAGS.train_data:
        raise app.UsageError("Give --train_data (a prepared dataset folder) or --demo_data.")
    if FLAGS.deterministic and FLAGS.inter_op_threads not in (None, 1):
        raise app.UsageError(f"--inter_op_threads={FLAGS.inter_op_threads}: --deterministic runs one "
                             "op at a time (remove one of them).")
    common_flags.config_from_flags()  # DICConfig checks its fields (scale, num_keypoints, ...)


AUGMENTATIONS = {"none": None, "celeba": augment_lib.CELEBA, "helen": augment_lib.HELEN}


def _milestones(values):
    try:
        milestones = tuple(int(float(v)) for v in values)
    except ValueError as error:
        raise ValueError(f"--lr_milestones={values}: expected integers.") from error
    if list(milestones) != sorted(milestones):
        raise ValueError(f"--lr_milestones={values} must be increasing.")
    return milestones


def configs_from_flags():
    """(model config, train config) of `--mode` from the flags."""
    config = common_flags.config_from_flags()
    train_config = TrainConfig(
        learning_rate=FLAGS.learning_rate,
        lr_milestones=_milestones(FLAGS.lr_milestones),
        lr_gamma=FLAGS.lr_gamma,
        pixel_weight=FLAGS.pixel_weight,
        heatmap_weight=FLAGS.heatmap_weight,
        pixel_loss_mode=FLAGS.pixel_loss_mode,
        release_hourglass_step=FLAGS.release_hourglass_step,
        d_learning_rate=FLAGS.d_learning_rate,
        feature_weight=FLAGS.feature_weight,
        gan_weight=FLAGS.gan_weight,
    )
    if FLAGS.mode in ("dic", "dicgan"):
        return config, train_config
    if FLAGS.mode == "hg_pretrain":
        return FeedbackHourglassConfig(
            config.hg_num_features, config.num_keypoints, config.num_steps
        ), train_config
    return StackedHourglassConfig(
        config.hg_num_features, FLAGS.num_stacks, config.num_keypoints
    ), train_config


def run_config(train_data, val_data):
    """The `RunConfig` of the flags, on the data folders given (prepared or generated)."""
    for name, path in (("--train_data", train_data), ("--val_data", val_data)):
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"{name}={path} does not exist.")
    for name in ("hg_init", "init_checkpoint", "feature_extractor"):
        path = FLAGS[name].value
        if path and not os.path.exists(path):
            raise FileNotFoundError(f"--{name}={path} does not exist.")
    return RunConfig(
        train_dir=FLAGS.train_dir,
        train_data=train_data,
        val_data=val_data,
        batch_size=FLAGS.batch_size,
        num_train_steps=FLAGS.num_train_steps,
        augment=AUGMENTATIONS[FLAGS.augment],
        degradation=common_flags.degradation_from_flags(),
        seed=FLAGS.seed,
        val_every=FLAGS.val_every,
        checkpoint_every=FLAGS.checkpoint_every,
        keep_checkpoints=FLAGS.keep_checkpoints,
        log_every=FLAGS.log_every,
        num_val_images=FLAGS.num_val_images,
        ssim_variant=FLAGS.ssim,
        hg_init=FLAGS.hg_init,
        init=FLAGS.init,
        remat=FLAGS.remat,
        init_checkpoint=FLAGS.init_checkpoint,
        feature_extractor=FLAGS.feature_extractor,
        max_nonfinite_steps=FLAGS.max_nonfinite_steps,
        jit_compile=FLAGS.jit_compile,
        progress=common_flags.show_progress(),
    )


def _train():
    """Builds the run described by the flags, trains it and prints the final table.

    Under `--strategy=multi_worker` only the chief writes into `--train_dir`
    (`TrainingRun`); every other worker generates `--demo_data` into a scratch
    folder that it deletes at the end, and reads the chief's checkpoints to resume.
    """
    from dic_tf.training.callbacks import DivergenceError

    if FLAGS.deterministic:
        distribution.enable_determinism()
    if FLAGS.mixed_precision != "none":
        keras.mixed_precision.set_global_policy(f"mixed_{FLAGS.mixed_precision}")
    strategy = distribution.make_strategy(FLAGS.strategy)
    scratch = None if distribution.is_chief(strategy) else tempfile.mkdtemp(prefix="dic_tf-worker-")
    try:
        train_data, val_data = FLAGS.train_data, FLAGS.val_data
        if FLAGS.demo_data:
            train_data, val_data = prepare_demo_data(
                os.path.join(scratch or FLAGS.train_dir, "demo_data"),
                FLAGS.demo_train_faces, FLAGS.demo_val_faces,
            )
        model_config, train_config = configs_from_flags()
        training = TrainingRun(model_config, train_config, run_config(train_data, val_data), strategy,
                               mode=FLAGS.mode)
        training.train()
    except DivergenceError as error:
        runner.fail(f"training diverged: {error}")
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def main():
    """Entry point of `python train.py` and the `dic-tf-train` command."""
    runner.run(check_flags, _train, doc=__doc__)
