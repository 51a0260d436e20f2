r"""Evaluates face super-resolution under the official DIC protocol.

Folder mode compares any method's outputs with the ground truth by file name:

    python evaluate.py --sr_dir=results/DIC --hr_dir=data/CelebA/test/HR \
        --output_dir=runs/eval_dic [--scale=8] [--ssim=official|standard]

Model mode runs a DIC model (one of --checkpoint, --saved_model,
--pytorch_checkpoint) on a test set given as HR images (LR made with the
official preparation) or as paired --lr_dir/--hr_dir folders:

    python evaluate.py --pytorch_checkpoint=DIC_CelebA.pth --config=x8 \
        --hr_dir=data/CelebA/test/HR --annotations=data/CelebA/test/info.pkl \
        --landmark_detector=HG_68_CelebA.pth --saliency=landmark:30,component:mouth \
        --output_dir=runs/eval_dic --batch_size=16

It writes `sr/*.png` (final step), `steps/step_<t>/*.png`, `results.json`
(per-image and average PSNR/SSIM of every step, the bicubic baseline, NME,
landmark-detection errors, run time), `saliency/<target>/*.png` and an HTML
report (`--report_dir`, default <output_dir>/report). An official checkpoint
may also be an `.npz` of its tensors keyed by PyTorch name (no PyTorch
needed). See `dic_tf/evaluation/folders.py` and `dic_tf/evaluation/model_scoring.py`
for the `results.json` layout.
"""

import os
import sys

from absl import app, flags

from dic_tf import flags as config_flags
from dic_tf import metrics
from dic_tf.cli import runner

# --config=x8|tiny and one flag per DICConfig field (--scale included: also the
# border cropped before measuring, 8 when unset).
config_flags.define_config_flags()

flags.DEFINE_string("sr_dir", None, "Folder mode: folder of super-resolved images.")
flags.DEFINE_string("checkpoint", None, "Model mode: one of our training checkpoints (folder).")
flags.DEFINE_string("saved_model", None, "Model mode: an exported SavedModel folder "
                    "(its serving_default signature).")
flags.DEFINE_string("pytorch_checkpoint", None, "Model mode: an official DIC checkpoint "
                    "(.pth, or .npz keyed by PyTorch names) with --config.")
flags.DEFINE_string("hr_dir", None, "Folder of ground-truth (prepared HR) images.")
flags.DEFINE_string("lr_dir", None, "Model mode: LR images paired with --hr_dir by file "
                    "name; without it the LR is made with the official preparation.")
flags.DEFINE_string("annotations", None, "Model mode: info .json/.pkl with ground-truth "
                    "landmarks (matched by file stem, mapped into the HR frame by bbox).")
flags.DEFINE_string("landmark_detector", None, "Model mode: stacked-hourglass detector "
                    "(HG_68_CelebA.pth / .npz, our .weights.h5, or a train.py --mode=hg_eval run "
                    "directory); needs --annotations.")
flags.DEFINE_integer("detector_features", 256, "Channels of the landmark detector.")
flags.DEFINE_integer("detector_stacks", 4, "Hourglass stacks of the landmark detector.")
flags.DEFINE_string("saliency", None, "Model mode: saliency targets, e.g. "
                    "'landmark:30,component:mouth' (landmarks 0-based; components "
                    "left_eye, right_eye, nose, mouth, contour).")
flags.DEFINE_string("output_dir", None, "Folder receiving results.json (and, in model "
                    "mode, the SR images).")
flags.DEFINE_string("report_dir", None, "Model mode: report folder (default "
                    "<output_dir>/report).")
flags.DEFINE_integer("num_shown", 8, "Model mode: report strips in each of the best and "
                     "worst sections.", lower_bound=1)
flags.DEFINE_integer("batch_size", 16, "Model mode: LR faces per model call.", lower_bound=1)
flags.DEFINE_enum("ssim", "official", list(metrics.SSIM_VARIANTS),
                  "'official' reproduces the authors' numbers (SSIM on 256 - Y); "
                  "'standard' is the textbook SSIM on Y.")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.mark_flag_as_required("output_dir")

FLAGS = flags.FLAGS
_MODEL_SOURCES = ("checkpoint", "saved_model", "pytorch_checkpoint")
_MODEL_MODE_FLAGS = ("lr_dir", "annotations", "landmark_detector", "detector_features",
                     "detector_stacks", "saliency", "report_dir", "num_shown", "batch_size")


def border():
    """--scale, the SR factor and cropped border (8 when unset)."""
    return 8 if FLAGS.scale is None else FLAGS.scale


def _source():
    chosen = [name for name in ("sr_dir",) + _MODEL_SOURCES if FLAGS[name].value]
    if len(chosen) != 1:
        raise app.UsageError(
            "Give exactly one of --sr_dir (folder mode) or --checkpoint, --saved_model, "
            f"--pytorch_checkpoint (model mode); got {['--' + c for c in chosen] or 'none'}."
        )
    return chosen[0]


def _check_exists(name, kind):
    path = FLAGS[name].value
    if path is None:
        return
    found = os.path.isdir(path) if kind == "folder" else os.path.exists(path)
    if not found:
        raise app.UsageError(f"--{name}={path}: no such {kind}.")


def check_flags():
    """Checks sources, paths and flags that do not apply, before TensorFlow is imported."""
    source = _source()
    if not FLAGS.hr_dir:
        if source == "sr_dir":
            raise app.UsageError("Folder mode (--sr_dir) needs --hr_dir.")
        raise app.UsageError(f"--{source} needs the test set: --hr_dir (and optionally --lr_dir).")
    for name in ("sr_dir", "checkpoint", "saved_model", "hr_dir", "lr_dir"):
        _check_exists(name, "folder")
    for name in ("pytorch_checkpoint", "annotations", "landmark_detector"):
        _check_exists(name, "file or folder")
    given = [name for name in _MODEL_MODE_FLAGS if FLAGS[name].present]
    if source == "sr_dir" and given:
        raise app.UsageError(f"--{given[0]} applies to model mode only, not to --sr_dir.")
    config_given = runner.given_config_flags(("scale",))
    if source != "pytorch_checkpoint" and config_given:
        raise app.UsageError(
            f"--{config_given[0]} describes an official checkpoint's architecture "
            f"(--pytorch_checkpoint); --{source} does not use it."
        )
    if FLAGS.landmark_detector and not FLAGS.annotations:
        raise app.UsageError("--landmark_detector needs ground-truth landmarks: --annotations.")
    for name in ("detector_features", "detector_stacks"):
        if FLAGS[name].present and not FLAGS.landmark_detector:
            raise app.UsageError(f"--{name} applies to --landmark_detector only.")
    if source == "pytorch_checkpoint":
        config_flags.config_from_flags()  # DICConfig checks its fields


def run_folder_mode():
    from dic_tf.evaluation.folders import run_folder_mode as run

    run(
        FLAGS.sr_dir, FLAGS.hr_dir, FLAGS.output_dir,
        scale=border(), ssim_variant=FLAGS.ssim, progress=FLAGS.progress and sys.stderr.isatty(),
    )


def run_model_mode(source):
    from dic_tf import inference
    from dic_tf import saliency as saliency_lib
    from dic_tf.evaluation import face_sets, landmark_detector, model_mode, predictors

    report_dir = FLAGS.report_dir or os.path.join(FLAGS.output_dir, model_mode.REPORT_DIR)
    model_mode.check_report_dir(report_dir, FLAGS.output_dir)
    config = config_flags.config_from_flags() if source == "pytorch_checkpoint" else None
    targets = []
    if FLAGS.saliency:
        targets = saliency_lib.parse_targets(
            FLAGS.saliency, config.num_keypoints if config else 68
        )
    test_set, unmatched = face_sets.load_test_set(
        FLAGS.hr_dir, FLAGS.lr_dir, scale=border(), annotations_path=FLAGS.annotations,
        num_keypoints=config.num_keypoints if config else 68,
    )
    keras_model = None
    if source == "saved_model":
        predictor = predictors.SavedModelPredictor(FLAGS.saved_model)
        model_info = {"kind": "saved_model", "path": FLAGS.saved_model}
    else:
        keras_model, model_info = inference.load_dic(
            checkpoint=FLAGS.checkpoint, pytorch_checkpoint=FLAGS.pytorch_checkpoint,
            config=config, lr_size=test_set[0].lr.shape[0],
        )
        predictor = predictors.KerasPredictor(keras_model)
    detector = None
    if FLAGS.landmark_detector:
        detector = landmark_detector.load_landmark_detector(
            FLAGS.landmark_detector, FLAGS.detector_features, FLAGS.detector_stacks,
        )
    model_mode.run_model_mode(
        predictor, test_set, FLAGS.output_dir, model_info, keras_model=keras_model,
        report_dir=report_dir, scale=border(), ssim_variant=FLAGS.ssim,
        batch_size=FLAGS.batch_size, detector=detector, saliency_targets=targets,
        num_shown=FLAGS.num_shown, progress=FLAGS.progress and sys.stderr.isatty(),
        sources={"hr_dir": FLAGS.hr_dir, "lr_dir": FLAGS.lr_dir,
                 "annotations": FLAGS.annotations, "unmatched_hr_files": unmatched},
    )


def _evaluate():
    source = _source()
    if source == "sr_dir":
        run_folder_mode()
    else:
        run_model_mode(source)


def main():
    """Entry point of `python evaluate.py` and the `dic-tf-evaluate` command."""
    runner.run(check_flags, _evaluate, doc=__doc__)
