r"""Evaluates face super-resolution under the official DIC protocol.

Model mode runs a DIC model on a test set given as HR images (the LR made
with the official preparation) or as paired --lr_dir/--hr_dir folders. The
model is one of --checkpoint (a run folder loads its latest checkpoint,
<run>/best its best one, <run>/checkpoints/ckpt-<step> that one),
--saved_model or --pytorch_checkpoint. On the README's demo (runs/demo from
train.py, runs/demo_test from scripts/make_demo_data.py):

    python evaluate.py --checkpoint=runs/demo --hr_dir=runs/demo_test/hr \
        --annotations=runs/demo_test/info.json --saliency=landmark:30,component:mouth \
        --output_dir=runs/demo_eval

The paper's Table 1 (CelebA, x8: 27.37 dB) with the authors' models in models/
and the test folders of `prepare_data.py --image_folders`:

    python evaluate.py --pytorch_checkpoint=models/DIC_CelebA.pth --config=x8 \
        --hr_dir=data/celeba_test/HR --lr_dir=data/celeba_test/LR_x8 \
        --annotations=new_val_info_list.pkl --landmark_detector=models/HG_68_CelebA.pth \
        --output_dir=runs/eval_dic_celeba

Folder mode compares any method's outputs with the ground truth by file name
(here predict.py's outputs of the demo faces):

    python evaluate.py --sr_dir=runs/demo_predict --hr_dir=runs/demo_test/hr \
        --output_dir=runs/demo_eval_folders

Without --lr_dir, --degradation=real makes the LR of each HR face with the
seeded real-world degradation of `dic_tf.data.degradation` instead
(--degradation=bicubic, the default, is the official preparation): the LR of a
face depends only on --degradation_seed and its file name, so every run scores
the same inputs; --degradation_params overrides the degradation's fields.
--save_lr_dir (a new or empty folder) receives the LR faces that were scored,
`<HR stem>.png`, which `--lr_dir` reads back:

    python evaluate.py --checkpoint=runs/demo/best --hr_dir=runs/demo_test/hr \
        --degradation=real --degradation_seed=3 --save_lr_dir=runs/demo_lr_real_3 \
        --output_dir=runs/demo_eval_real_3

It writes `sr/*.png` (final step), `steps/step_<t>/*.png`, `results.json`
(per-image and average PSNR/SSIM of every step, the bicubic baseline, NME,
landmark-detection errors, run time; its "protocol" records the LR source:
official bicubic, --lr_dir, or the degradation with its seed and parameters,
and --save_lr_dir), `saliency/<target>/*.png` and an HTML report
(`--report_dir`, default <output_dir>/report). An official checkpoint
may also be an `.npz` of its tensors keyed by PyTorch name (no PyTorch
needed). See `dic_tf/evaluation/folders.py` and `dic_tf/evaluation/model_scoring.py`
for the `results.json` layout.
"""

import os

from absl import app, flags

from dic_tf import metrics
from dic_tf.cli import common_flags, runner

# Folders model mode writes inside --output_dir: the default report folder and the
# SR/saliency images (model_mode.REPORT_DIR, model_scoring.SR_DIR and STEPS_DIR,
# saliency_overlays.SALIENCY_DIR; importing them would import TensorFlow).
_REPORT_DIR = "report"
_OUTPUT_SUBDIRS = ("sr", "steps", "saliency")

common_flags.define_common_flags()
# --config=x8|x4|x2|tiny and one flag per DICConfig field (--scale included: also the
# border cropped before measuring, 8 when unset).
common_flags.define_config_flags()
common_flags.define_model_source_flags(scope="Model mode: ")
common_flags.define_degradation_flags("Model mode without --lr_dir: ")

flags.DEFINE_string("sr_dir", None, "Folder mode: folder of super-resolved images.")
flags.DEFINE_string("hr_dir", None, "Folder of ground-truth (prepared HR) images.")
flags.DEFINE_string("lr_dir", None, "Model mode: LR images paired with --hr_dir by file "
                    "name; without it the LR is made from --hr_dir (see --degradation).")
flags.DEFINE_integer("degradation_seed", 0, "With --degradation=real: seed; a face's LR "
                     "depends only on it and the HR file name.", lower_bound=0)
flags.DEFINE_string("save_lr_dir", None, "Model mode without --lr_dir: new or empty folder "
                    "receiving the LR faces that were scored, <HR stem>.png (readable back "
                    "with --lr_dir).")
flags.DEFINE_string("annotations", None, "Model mode: info .json/.pkl with ground-truth "
                    "landmarks (matched by file stem, mapped into the HR frame by bbox).")
flags.DEFINE_string("landmark_detector", None, "Model mode: stacked-hourglass detector "
                    "(HG_68_CelebA.pth / .npz, our .weights.h5, or a train.py --mode=hg_eval run "
                    "folder: loads its best checkpoint, else its latest); needs --annotations.")
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
flags.DEFINE_integer("batch_size", metrics.SCORING_BATCH_SIZE, "Model mode: LR faces per model "
                     "call (other sizes change the last float32 digits).", lower_bound=1)
flags.DEFINE_enum("ssim", "official", list(metrics.SSIM_VARIANTS),
                  "'official' reproduces the authors' numbers (SSIM on 256 - Y); "
                  "'standard' is the textbook SSIM on Y.")
flags.mark_flag_as_required("output_dir")

FLAGS = flags.FLAGS
_MODEL_MODE_FLAGS = ("lr_dir", "degradation", "degradation_seed", "degradation_params",
                     "save_lr_dir", "annotations", "landmark_detector", "detector_features",
                     "detector_stacks", "saliency", "report_dir", "num_shown", "batch_size")


def border():
    """--scale, the SR factor and cropped border (8 when unset)."""
    return 8 if FLAGS.scale is None else FLAGS.scale


def _source():
    """--sr_dir (folder mode) or the model source (model mode), checked."""
    return common_flags.model_source_from_flags(others=("sr_dir",), config_exclude=("scale",))


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
    for name in ("sr_dir", "hr_dir", "lr_dir"):
        _check_exists(name, "folder")
    for name in ("annotations", "landmark_detector"):
        _check_exists(name, "file or folder")
    given = [name for name in _MODEL_MODE_FLAGS if FLAGS[name].present]
    if source == "sr_dir" and given:
        raise app.UsageError(f"--{given[0]} applies to model mode only, not to --sr_dir.")
    if FLAGS.landmark_detector and not FLAGS.annotations:
        raise app.UsageError("--landmark_detector needs ground-truth landmarks: --annotations.")
    for name in ("detector_features", "detector_stacks"):
        if FLAGS[name].present and not FLAGS.landmark_detector:
            raise app.UsageError(f"--{name} applies to --landmark_detector only.")
    _check_lr_flags()


def _check_lr_flags():
    """--degradation*, --save_lr_dir: only where the LR is made from --hr_dir."""
    if FLAGS.lr_dir:
        for name in ("degradation", "degradation_seed", "degradation_params"):
            if FLAGS[name].present:
                raise app.UsageError(
                    f"--{name} describes how the LR is made from --hr_dir; with --lr_dir the "
                    "LR is given (drop one of them)."
                )
        if FLAGS.save_lr_dir is not None:
            raise app.UsageError(
                "--save_lr_dir saves the LR made from --hr_dir; with --lr_dir the LR faces "
                "are already files (drop one of them)."
            )
    if FLAGS["degradation_seed"].present and FLAGS.degradation != "real":
        raise app.UsageError("--degradation_seed applies to --degradation=real only.")
    common_flags.degradation_from_flags()
    if FLAGS.save_lr_dir is not None:
        _check_save_lr_dir(FLAGS.save_lr_dir)


def _check_save_lr_dir(path):
    """A new or empty folder of its own: not the report folder, --output_dir or its image folders."""
    real = os.path.realpath(path)

    def inside(folder):
        folder = os.path.realpath(folder)
        return os.path.commonpath([real, folder]) == folder

    report_dir = FLAGS.report_dir or os.path.join(FLAGS.output_dir, _REPORT_DIR)
    if inside(report_dir):
        raise app.UsageError(
            f"--save_lr_dir={path} is inside the report folder {report_dir}, which is "
            "replaced as a whole; give a folder outside it."
        )
    if real == os.path.realpath(FLAGS.output_dir) or any(
            inside(os.path.join(FLAGS.output_dir, name)) for name in _OUTPUT_SUBDIRS):
        raise app.UsageError(
            f"--save_lr_dir={path} is --output_dir or one of its sr/, steps/, saliency/ "
            "folders; give the LR faces a folder of their own."
        )
    if os.path.lexists(path) and not os.path.isdir(path):
        raise app.UsageError(f"--save_lr_dir={path} exists and is not a folder.")
    if os.path.isdir(path) and os.listdir(path):
        raise app.UsageError(
            f"--save_lr_dir={path} exists and is not empty; give a new or empty folder "
            "(files we did not write are never replaced)."
        )


def run_folder_mode():
    from dic_tf.evaluation.folders import run_folder_mode as run

    run(
        FLAGS.sr_dir, FLAGS.hr_dir, FLAGS.output_dir,
        scale=border(), ssim_variant=FLAGS.ssim, progress=common_flags.show_progress(),
    )


def _model_scale(source, config):
    """The model's SR factor (the LR is made for it and it is the cropped border); --scale must agree."""
    if config is not None:
        return config.scale
    if source == "checkpoint":
        from dic_tf.models import saving

        scale = saving.read_model_state(FLAGS.checkpoint, "DIC")[1]["config"]["scale"]
    else:
        from dic_tf.inference import resolve_saved_model_dir
        from dic_tf.inference.predictors import saved_model_scale

        scale = saved_model_scale(resolve_saved_model_dir(FLAGS.saved_model))
        if scale is None:
            return border()  # an export without its report: --scale, else 8
    if FLAGS.scale is not None and FLAGS.scale != scale:
        raise app.UsageError(f"--scale={FLAGS.scale}: --{source} is a x{scale} model.")
    return scale


def run_model_mode(source):
    from dic_tf import inference
    from dic_tf.evaluation import face_sets, landmark_detector, model_mode, protocol
    from dic_tf.evaluation import saliency as saliency_lib

    report_dir = FLAGS.report_dir or os.path.join(FLAGS.output_dir, model_mode.REPORT_DIR)
    model_mode.check_report_dir(report_dir, FLAGS.output_dir)
    config = common_flags.config_from_flags() if source == "pytorch_checkpoint" else None
    targets = []
    if FLAGS.saliency:
        targets = saliency_lib.parse_targets(
            FLAGS.saliency, config.num_keypoints if config else 68
        )
    degradation = common_flags.degradation_from_flags()
    scale = _model_scale(source, config)
    test_set, unmatched = face_sets.load_test_set(
        FLAGS.hr_dir, FLAGS.lr_dir, scale=scale, annotations_path=FLAGS.annotations,
        num_keypoints=config.num_keypoints if config else 68,
        degradation=degradation, degradation_seed=FLAGS.degradation_seed,
    )
    lr_source = protocol.lr_source(
        lr_dir=FLAGS.lr_dir, degradation=FLAGS.degradation,
        seed=FLAGS.degradation_seed if degradation else None,
        params=degradation.to_dict() if degradation else None, saved_lr_dir=FLAGS.save_lr_dir,
    )
    keras_model = None
    if source == "saved_model":
        predictor = inference.SavedModelPredictor(FLAGS.saved_model)
        model_info = {"kind": "saved_model", "path": predictor.path}
    else:
        keras_model, model_info = inference.load_dic(
            checkpoint=FLAGS.checkpoint, pytorch_checkpoint=FLAGS.pytorch_checkpoint,
            config=config, lr_size=test_set[0].lr.shape[0],
        )
        predictor = inference.KerasPredictor(keras_model)
    detector = None
    if FLAGS.landmark_detector:
        detector = landmark_detector.load_landmark_detector(
            FLAGS.landmark_detector, FLAGS.detector_features, FLAGS.detector_stacks,
        )
    model_mode.run_model_mode(
        predictor, test_set, FLAGS.output_dir, model_info, keras_model=keras_model,
        report_dir=report_dir, scale=scale, ssim_variant=FLAGS.ssim,
        batch_size=FLAGS.batch_size, detector=detector, saliency_targets=targets,
        num_shown=FLAGS.num_shown, progress=common_flags.show_progress(),
        sources={"hr_dir": FLAGS.hr_dir, "lr_dir": FLAGS.lr_dir,
                 "annotations": FLAGS.annotations, "unmatched_hr_files": unmatched},
        lr_source=lr_source, save_lr_dir=FLAGS.save_lr_dir,
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
