"""Exports DIC for TF Serving, TFLite and Keras applications.

    # From a training checkpoint:
    python export.py --checkpoint=runs/dic/ckpt --export_dir=saved_models/dic
    # From the authors' checkpoint (the config flags give its architecture):
    python export.py --pytorch_checkpoint=DIC_CelebA.pth --config=x8 \
        --export_dir=saved_models/dic --tflite=fp32,fp16,dynamic_int8

Writes `<export_dir>/<version>/` atomically (see dic_tf/export/exporter.py
for the layout and docs/serving.md for serving it), prints a size/accuracy
table and stores it in `export_report.json`.
"""

import os

from absl import app, flags, logging

from dic_tf.cli import runner
from dic_tf.cli.common_flags import config_from_flags, define_config_flags

define_config_flags()
flags.DEFINE_string("checkpoint", None, "Training checkpoint directory (its own config is used).")
flags.DEFINE_string("pytorch_checkpoint", None, "Official .pth checkpoint; needs the config flags.")
flags.DEFINE_string("export_dir", None, "Model base path, e.g. saved_models/dic.", required=True)
flags.DEFINE_integer("version", None, "Version directory name; default: next integer.")
flags.DEFINE_integer("lr_size", 16, "LR side of super_resolve_image, warm-up and TFLite.")
flags.DEFINE_string("model_name", "dic", "TF Serving --model_name stored in the warm-up requests.")
flags.DEFINE_string("tflite", "", "Comma-separated TFLite variants: fp32, fp16, dynamic_int8.")
FLAGS = flags.FLAGS


def check_flags():
    """Checks the model source and the numbers before TensorFlow is imported."""
    if (FLAGS.checkpoint is None) == (FLAGS.pytorch_checkpoint is None):
        raise app.UsageError("Give exactly one of --checkpoint or --pytorch_checkpoint.")
    if FLAGS.checkpoint is not None and not os.path.isdir(FLAGS.checkpoint):
        raise app.UsageError(f"--checkpoint={FLAGS.checkpoint}: no such folder.")
    if FLAGS.pytorch_checkpoint is not None and not os.path.isfile(FLAGS.pytorch_checkpoint):
        raise app.UsageError(f"--pytorch_checkpoint={FLAGS.pytorch_checkpoint}: no such file.")
    config_given = runner.given_config_flags()
    if FLAGS.checkpoint is not None and config_given:
        raise app.UsageError(
            f"--{config_given[0]} describes an official checkpoint (--pytorch_checkpoint); "
            "--checkpoint uses its own config."
        )
    if FLAGS.pytorch_checkpoint is not None:
        config_from_flags(FLAGS)  # DICConfig checks its fields
    if FLAGS.version is not None and FLAGS.version < 1:
        raise app.UsageError(f"--version={FLAGS.version}: expected an integer >= 1.")


def _export():
    logging.set_verbosity(logging.WARNING)  # TensorFlow's saver logs every shard at INFO.
    from dic_tf.export import export, format_report
    from dic_tf.export.tflite import parse_variants
    from dic_tf.inference.loading import load_dic
    from dic_tf.models.dic import LR_SIZE_MULTIPLE

    if FLAGS.lr_size < LR_SIZE_MULTIPLE or FLAGS.lr_size % LR_SIZE_MULTIPLE:
        raise app.UsageError(
            f"--lr_size={FLAGS.lr_size}: expected a positive multiple of {LR_SIZE_MULTIPLE} "
            "(16 for 128x128 faces)."
        )
    try:
        variants = parse_variants(FLAGS.tflite)
    except ValueError as error:
        raise app.UsageError(f"--tflite={FLAGS.tflite}: {error}") from error
    model, source = load_dic(
        checkpoint=FLAGS.checkpoint,
        pytorch_checkpoint=FLAGS.pytorch_checkpoint,
        config=None if FLAGS.checkpoint else config_from_flags(FLAGS),
        lr_size=FLAGS.lr_size,
    )
    report = export(
        model,
        FLAGS.export_dir,
        version=FLAGS.version,
        lr_size=FLAGS.lr_size,
        model_name=FLAGS.model_name,
        tflite_variants=variants,
        source=source,
    )
    print(format_report(report))


def main():
    """Entry point of `python export.py` and the `dic-tf-export` command."""
    runner.run(check_flags, _export, doc=__doc__)
