r"""Exports DIC for TF Serving, TFLite and Keras applications.

From a training run (--checkpoint=runs/demo loads its latest checkpoint,
runs/demo/best its best one), here the README's demo:

    python export.py --checkpoint=runs/demo --export_dir=saved_models/demo

From the authors' checkpoint in models/ (--config gives its architecture;
reading .pth needs PyTorch), with TFLite models beside the SavedModel:

    python export.py --pytorch_checkpoint=models/DIC_CelebA.pth --config=x8 \
        --export_dir=saved_models/dic_celeba --tflite=fp32,fp16,dynamic_int8

Writes `<export_dir>/<version>/` atomically (see dic_tf/export/exporter.py
for the layout and docs/serving.md for serving it), prints a size/accuracy
table and stores it in `export_report.json`.
"""

from absl import app, flags, logging

from dic_tf.cli import common_flags, runner
from dic_tf.cli.common_flags import config_from_flags
from dic_tf.models.dic_config import HR_SIZE, SCALES, SR_SIZE_MULTIPLE

MODEL_SOURCES = ("checkpoint", "pytorch_checkpoint")
common_flags.define_common_flags()
common_flags.define_config_flags()
common_flags.define_model_source_flags(MODEL_SOURCES)
flags.DEFINE_string("export_dir", None, "Model base path, e.g. saved_models/dic.", required=True)
flags.DEFINE_integer("version", None, "Version directory name; default: next integer.")
flags.DEFINE_integer(
    "lr_size", None, "LR side of super_resolve_image, warm-up and TFLite; default 128 / the model's scale."
)
flags.DEFINE_string("model_name", "dic", "TF Serving --model_name stored in the warm-up requests.")
flags.DEFINE_string("tflite", "", "Comma-separated TFLite variants: fp32, fp16, dynamic_int8.")
FLAGS = flags.FLAGS


def check_flags():
    """Checks the model source and the numbers before TensorFlow is imported."""
    common_flags.model_source_from_flags(MODEL_SOURCES)
    if FLAGS.lr_size is not None:
        _check_lr_size(FLAGS.lr_size, max(SCALES))  # what every scale needs; the model's own after loading
    if FLAGS.version is not None and FLAGS.version < 1:
        raise app.UsageError(f"--version={FLAGS.version}: expected an integer >= 1.")


def _check_lr_size(lr_size, scale):
    multiple = SR_SIZE_MULTIPLE // scale
    if lr_size < 1 or lr_size % multiple:
        raise app.UsageError(
            f"--lr_size={lr_size}: expected a positive multiple of {multiple} for DIC x{scale} "
            f"({HR_SIZE // scale} for {HR_SIZE}x{HR_SIZE} faces)."
        )


def _export():
    logging.set_verbosity(logging.WARNING)  # TensorFlow's saver logs every shard at INFO.
    from dic_tf.export import export, format_report
    from dic_tf.export.tflite import parse_variants
    from dic_tf.inference.loading import load_dic

    try:
        variants = parse_variants(FLAGS.tflite)
    except ValueError as error:
        raise app.UsageError(f"--tflite={FLAGS.tflite}: {error}") from error
    model, source = load_dic(
        checkpoint=FLAGS.checkpoint,
        pytorch_checkpoint=FLAGS.pytorch_checkpoint,
        config=None if FLAGS.checkpoint else config_from_flags(FLAGS),
    )
    lr_size = FLAGS.lr_size or model.config.lr_size
    _check_lr_size(lr_size, model.config.scale)
    report = export(
        model,
        FLAGS.export_dir,
        version=FLAGS.version,
        lr_size=lr_size,
        model_name=FLAGS.model_name,
        tflite_variants=variants,
        source={key: value for key, value in source.items() if key != "validation"},
        validation=source["validation"],
    )
    print(format_report(report))


def main():
    """Entry point of `python export.py` and the `dic-tf-export` command."""
    runner.run(check_flags, _export, doc=__doc__)
