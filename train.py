"""Trains DIC, DICGAN or a landmark network (later flags override a flagfile).

The three stages of the paper (docs/training.md):
    python train.py --flagfile=configs/hg_pretrain.flags   # --mode=hg_pretrain
    python train.py --flagfile=configs/x8.flags            # --mode=dic
    python train.py --flagfile=configs/x8_gan.flags        # --mode=dicgan
and the landmark evaluator of evaluate.py: --flagfile=configs/hg_eval.flags.

The embedded demo (synthetic faces, small model, a few minutes on a CPU):
    python train.py --flagfile=configs/demo.flags
"""

import os
import sys

from absl import app, flags

from dic_tf.flags import define_config_flags

define_config_flags()
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
flags.DEFINE_string("hg_init", None, "dic: DIC's hourglass from an --mode=hg_pretrain run "
                    "(train dir or checkpoint) or official weights (FB_HG_68_CelebA.pth/.npz).")
flags.DEFINE_enum("init", "kaiming", ["kaiming", "torch_default"],
                  "dic: initialisation of a fresh DIC, applied before --hg_init: the authors' "
                  "kaiming normal (fan_in, zero bias) or PyTorch's default. Without --hg_init "
                  "the hourglass keeps PyTorch's default init (kaiming makes it diverge).")
flags.DEFINE_enum("remat", "blocks", ["none", "blocks", "large_maps"],
                  "Recompute activations in the backward pass instead of storing them: "
                  "'blocks' (each feedback block, i.e. the 8x up/down projections of a step), "
                  "'large_maps' (every layer whose output exceeds a 128x128x48 map) or 'none'. "
                  "Same gradients, less memory (docs/performance.md).")
flags.DEFINE_string("init_checkpoint", None, "dicgan: the DIC it starts from: our DIC run "
                    "(train dir or checkpoint) or the official DIC_CelebA.pth/.npz.")
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
