"""Times DIC inference and training steps; prints a markdown table, writes JSON.

    python -m dic_tf.benchmark --backend=tensorflow --config=x8 \\
        --batch_sizes=1,8,64 --train_batch_sizes=8,32 --json_out=bench.json
    KERAS_BACKEND=jax python -m dic_tf.benchmark --backend=jax --config=x8

Inference is the whole forward pass (every step's SR image and heatmaps) on
random LR faces [B, 128 / scale, 128 / scale, 3]. A training step is the loss over all steps,
the gradients and the Adam updates of both parameter groups (hourglass
released): `DICTask.train_on_batch`, the `fit()` step, on either backend.
The first call of each shape compiles and is timed apart; the table reports
the median and minimum of `--repeats` further calls. The JAX path is always
`jax.jit`-compiled (`--jit` only selects XLA on TensorFlow) and never imports
TensorFlow, so it runs where TensorFlow is not installed.

Peak memory: on GPU the device allocator's peak (TensorFlow: reset before
each measurement; JAX: `peak_bytes_in_use`, cumulative over the process); on
CPU the process' peak resident set size (cumulative). CPU time of the timed
calls (`resource.getrusage`): `kernel_share` is system / (user + system)
time, `minor_faults_per_call` the minor page faults per call.

A data row (`--data=bicubic,real`) times the training input pipeline alone:
faces per second of `pipeline.make_dataset` (TensorFlow) or `FacePyDataset`
(JAX) with that LR degradation, on `--data_dir` or 64 synthetic faces.

A photos row (`--photo=FILE`) times one photo through `predict.py --photos`
at `--photo_upscale` with the `--config` network (random weights): reading,
detection, alignment, SR, paste-back and writing, each part's median in the
row's `parts` and in the table (the batch column: faces found); TensorFlow
only (MTCNN). The first call includes the trace of the model's function; the
imports and the building of MTCNN and the model are not timed.

Every row runs in its own process (`dic_tf.benchmark.rows`) with
`dic_tf.utils.allocator.keep_memory_mapped()` applied first, as the entry
points do (`DIC_TF_MALLOC=default` measures glibc's defaults). `--config=real_faces` is the reduced real-face recipe of
`configs/real_faces.flags` (16 features, 3 groups, hourglass 64, 3 fusion blocks).
`--inter_op_threads`/`--intra_op_threads` size TensorFlow's thread pools of
every row; `--noprogress` prints no row line on stderr while measuring.
"""

import os

from absl import app, flags

from dic_tf.benchmark import rows, table
from dic_tf.cli import common_flags, runner
from dic_tf.data.degradation import DEGRADATIONS
from dic_tf.models.dic_config import REMAT_MODES
from dic_tf.utils import atomic

common_flags.define_common_flags()
flags.DEFINE_enum("backend", os.environ.get("KERAS_BACKEND", "tensorflow"), ["tensorflow", "jax"],
                  "Keras backend of the rows (default: $KERAS_BACKEND, else tensorflow); "
                  "KERAS_BACKEND must name it too.")
flags.DEFINE_enum("config", "x8", list(rows.CONFIGS), "DIC configuration: the paper's x8, our x4 and x2, tiny, or "
                  "real_faces (configs/real_faces.flags).")
flags.DEFINE_list("batch_sizes", ["1", "8", "64"], "Inference batch sizes ('' for none).")
flags.DEFINE_list("train_batch_sizes", ["8", "32"], "Training batch sizes ('' for none).")
flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16"], "Keras dtype policy "
                  "(bfloat16: mixed_bfloat16).")
flags.DEFINE_boolean("jit", False, "XLA-compile (TensorFlow; JAX always is).")
flags.DEFINE_enum("deconv", "auto", ["auto", "subpixel", "transpose"], "DeconvBlock implementation.")
flags.DEFINE_list("remat", ["none"], f"DIC remat modes of the training rows ({', '.join(REMAT_MODES)}).")
flags.DEFINE_list("data", [], "LR degradations of input-pipeline rows "
                  f"({', '.join(DEGRADATIONS)}); '' for none.")
flags.DEFINE_string("data_dir", None, "Prepared dataset of the data rows (default: 64 synthetic faces).")
flags.DEFINE_integer("data_batch_size", 8, "Batch size of the data rows.", lower_bound=1)
flags.DEFINE_string("photo", None, "A photo with faces: adds the photos row (predict.py --photos, TensorFlow).")
flags.DEFINE_enum("photo_upscale", "2", ["1", "2", "4", "8"], "--upscale of the photos row.")
flags.DEFINE_integer("repeats", 5, "Timed calls per row after the first.", lower_bound=1)
flags.DEFINE_string("json_out", None, "Also write the report as JSON to this file.")
FLAGS = flags.FLAGS


def _batch_sizes(name):
    try:
        sizes = [int(b) for b in FLAGS[name].value]
    except ValueError:
        sizes = [0]
    if any(b < 1 for b in sizes):
        raise app.UsageError(f"--{name}={','.join(FLAGS[name].value)}: expected integers >= 1, "
                             "comma-separated.")
    return sizes


def _choices(name, allowed, what):
    unknown = [value for value in FLAGS[name].value if value not in allowed]
    if unknown:
        raise app.UsageError(f"--{name}={','.join(unknown)}: expected {what} among {', '.join(allowed)}.")
    return list(FLAGS[name].value)


def options_from_flags():
    """The `rows.BenchmarkOptions` of the flags; a bad value raises `app.UsageError` naming it."""
    return rows.BenchmarkOptions(
        backend=FLAGS.backend,
        config=FLAGS.config,
        batch_sizes=_batch_sizes("batch_sizes"),
        train_batch_sizes=_batch_sizes("train_batch_sizes"),
        precision=FLAGS.precision,
        jit=FLAGS.jit,
        deconv=FLAGS.deconv,
        remat=_choices("remat", REMAT_MODES, "modes"),
        data=_choices("data", DEGRADATIONS, "degradations"),
        data_dir=FLAGS.data_dir,
        data_batch_size=FLAGS.data_batch_size,
        photo=FLAGS.photo,
        photo_upscale=int(FLAGS.photo_upscale),
        repeats=FLAGS.repeats,
    )


def check_flags():
    """Checks the lists and folders before anything is measured."""
    options_from_flags()
    if FLAGS.data_dir is not None and not os.path.isdir(FLAGS.data_dir):
        raise app.UsageError(f"--data_dir={FLAGS.data_dir}: no such folder.")
    if FLAGS.photo is not None and not os.path.isfile(FLAGS.photo):
        raise app.UsageError(f"--photo={FLAGS.photo}: no such file.")
    if FLAGS.photo is not None and FLAGS.backend != "tensorflow":
        raise app.UsageError(f"--photo needs --backend=tensorflow (MTCNN runs on TensorFlow), not {FLAGS.backend}.")
    if FLAGS["photo_upscale"].present and FLAGS.photo is None:
        raise app.UsageError("--photo_upscale applies to the photos row: give --photo.")
    if FLAGS.data_dir is not None and not FLAGS.data:
        raise app.UsageError("--data_dir applies to the data rows: give --data.")


def _benchmark():
    report = rows.run(options_from_flags(), progress=FLAGS.progress)
    print(table.format_table(report))
    if FLAGS.json_out:
        atomic.write_json(FLAGS.json_out, report, indent=2)


def main():
    """Entry point of `python -m dic_tf.benchmark`."""
    runner.run(check_flags, _benchmark, doc=__doc__)
