"""Trains DIC: `python train.py --flagfile=configs/x8.flags` (later flags override).

The embedded demo (synthetic faces, small model, a few minutes on a CPU):
    python train.py --flagfile=configs/demo.flags
"""

import os
import sys

from absl import app, flags

from dic_tf.flags import define_config_flags

define_config_flags()
FLAGS = flags.FLAGS
flags.DEFINE_string("train_dir", None, "Run directory: checkpoints, logs, metrics.jsonl.")
flags.DEFINE_string("train_data", None, "Prepared training set (folder with manifest.json).")
flags.DEFINE_string("val_data", None, "Prepared validation set (folder with manifest.json).")
flags.DEFINE_boolean("demo_data", False, "Generate and use the embedded synthetic faces.")
flags.DEFINE_integer("demo_train_faces", 600, "Synthetic training faces (--demo_data).")
flags.DEFINE_integer("demo_val_faces", 32, "Synthetic validation faces (--demo_data).")
flags.DEFINE_integer("batch_size", 8, "Global batch size.")
flags.DEFINE_integer("num_train_steps", 150_000, "Optimizer steps.")
flags.DEFINE_float("learning_rate", 1e-4, "Adam learning rate.")
flags.DEFINE_list("lr_milestones", ["10000", "20000", "40000", "80000"], "Steps of x lr_gamma.")
flags.DEFINE_float("lr_gamma", 0.5, "Learning-rate decay at each milestone.")
flags.DEFINE_float("pixel_weight", 1.0, "Weight of each step's L1 image loss.")
flags.DEFINE_float("heatmap_weight", 0.1, "Weight of each step's heatmap MSE.")
flags.DEFINE_enum("pixel_loss_mode", "every_step", ["every_step", "final_only"],
                  "'every_step' (the paper) or 'final_only' (the authors' GAN solver).")
flags.DEFINE_integer("release_hourglass_step", 2000, "Step from which the hourglass trains.")
flags.DEFINE_string("hg_init", None, "Feedback-hourglass weights (.pth, e.g. FB_HG_68_CelebA.pth).")
flags.DEFINE_enum("augment", "none", ["none", "celeba", "helen"], "Training augmentations.")
flags.DEFINE_integer("seed", 0, "Seed of the initialisation and the data order.")
flags.DEFINE_integer("val_every", 2000, "Validate (and checkpoint) every N steps.")
flags.DEFINE_integer("checkpoint_every", 5000, "Checkpoint every N steps.")
flags.DEFINE_integer("keep_checkpoints", 3, "Most recent checkpoints kept (plus the best).")
flags.DEFINE_integer("log_every", 50, "TensorBoard training scalars every N steps.")
flags.DEFINE_integer("num_val_images", None, "Validate on the first N images only.")
flags.DEFINE_enum("ssim", "official", ["official", "standard"], "SSIM variant of validation.")
flags.DEFINE_integer("max_nonfinite_steps", 20, "Stop after this many skipped non-finite steps.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"],
                  "tf.distribute strategy (multi_worker reads TF_CONFIG).")
flags.DEFINE_enum("mixed_precision", "none", ["none", "bfloat16", "float16"],
                  "Mixed precision policy; float16 uses dynamic loss scaling.")
flags.DEFINE_boolean("jit_compile", False, "Compile the train step with XLA.")
flags.DEFINE_boolean("progress", True, "Show the progress bar.")
flags.DEFINE_boolean("deterministic", False, "Enable TensorFlow op determinism.")


def main(argv):
    del argv
    from dic_tf.training import cli

    try:
        cli.run_from_flags(FLAGS)
    except (ValueError, FileNotFoundError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    flags.mark_flag_as_required("train_dir")
    app.run(main)
