r"""Super-resolves face crops (one image or a folder) with DIC, or the faces of photos (--photos).

On the README's demo: the export of export.py, a run folder (runs/demo loads
its latest checkpoint, runs/demo/best its best one), the authors' format:

    python predict.py --saved_model=saved_models/demo --input=runs/demo_test/hr \
        --output_dir=runs/demo_predict --landmarks
    python predict.py --checkpoint=runs/demo/best --input=runs/demo_test/hr/synthetic_00000.png \
        --output_dir=runs/demo_predict_one
    python predict.py --pytorch_checkpoint=runs/demo_test/dic_tiny.npz --config=tiny \
        --input=runs/demo_test/hr --output_dir=runs/demo_predict_npz

The authors' DIC_CelebA.pth (in models/; reading .pth needs PyTorch):

    python predict.py --pytorch_checkpoint=models/DIC_CelebA.pth --config=x8 \
        --input=runs/demo_test/hr --output_dir=runs/predict_dic_celeba

Photos (--photos; needs the photos extra: pip install ".[photos]" in the checkout): the
photo enlarged --upscale times, every detected face that a given model fits
super-resolved in a window of the photo and pasted back:

    python predict.py --photos --checkpoint=runs/demo --input=docs/images/photos_input.png \
        --output_dir=runs/demo_photos --upscale=2

It writes <stem>_x<upscale>.jpg for a JPEG photo (.png otherwise) and
photos.json; --checkpoint and --saved_model may be repeated there (each face
goes to the model whose LR size fits it, or stays bicubic; a checkpoint its
run validated at or below bicubic is not used: docs/photos.md).

Inputs are read upright (EXIF orientation applied) as 8-bit RGB
(`dic_tf.utils.image_files`); crops of any size are resized to the LR size
with Pillow bicubic (as the data preparation). For each input `<stem>.<ext>` it writes `<stem>.png` (the 128x128 SR
face; inputs sharing a stem, such as a.png and a.jpg, keep their whole name:
`a.png.png`, `a.jpg.png`) and, with --landmarks, `landmarks/<same name>` (SR
with the landmarks drawn) plus one `landmarks.json` for the run:

    {"<input file name>": {"sr_file": "a.png", "overlay_file": "landmarks/a.png",
                           "landmarks": [[x, y], ...]}, ...}

with (x, y) in SR pixels (see dic_tf/export/serving.py for the peak rule).
An input is never overwritten, and an existing output only with --overwrite;
both are checked before the model is loaded. Unreadable files are reported and
skipped; the exit status is non-zero only if no image could be processed.
"""

import os
import sys

from absl import app, flags

from dic_tf.cli import common_flags, runner
from dic_tf.cli.common_flags import config_from_flags
from dic_tf.utils import atomic

PHOTO_MODELS = ("checkpoint", "saved_model")
"""The model sources --photos takes several of (each face gets the one its size fits)."""

common_flags.define_common_flags()
common_flags.define_config_flags()
common_flags.define_model_source_flags(repeatable=PHOTO_MODELS)
flags.DEFINE_string("input", None, "An image file or a folder of images.", required=True)
flags.DEFINE_string("output_dir", None, "Folder for the SR images (created).", required=True)
flags.DEFINE_integer("lr_size", None, "LR side inputs are resized to; default: the model's (128 / its scale).")
flags.DEFINE_boolean("landmarks", False, "Also write landmarks.json and landmark overlays.")
flags.DEFINE_boolean("overwrite", False, "Replace outputs of an earlier run in --output_dir "
                     "(inputs are never overwritten).")
flags.DEFINE_boolean("photos", False, "Inputs are photos: detect, align, super-resolve and paste "
                     "back every face (dic_tf.photos; needs mtcnn: pip install \".[photos]\" in the checkout).")
flags.DEFINE_enum("upscale", "2", ["1", "2", "4", "8"], "With --photos: the output photo is the input "
                  "times this (background: Pillow bicubic), written as <stem>_x<upscale>.<ext>.")
flags.DEFINE_enum("output_format", "auto", ["auto", "png", "jpeg"], "With --photos: the upscaled photo's "
                  "format; auto: JPEG (quality 95) for a JPEG photo, PNG for any other.")
FLAGS = flags.FLAGS
PHOTO_ONLY = ("upscale", "output_format")
LANDMARKS_FILE = "landmarks.json"
OVERLAY_DIR = "landmarks"


def _inputs():
    from dic_tf.utils import image_files

    if not os.path.isdir(FLAGS.input):
        return [FLAGS.input]
    paths = [os.path.join(FLAGS.input, name) for name in image_files.list_images(FLAGS.input)]
    if not paths:
        raise app.UsageError(
            f"--input={FLAGS.input}: no image files ({', '.join(image_files.IMAGE_EXTENSIONS)})."
        )
    return paths


def _planned_outputs(paths):
    """[(input, SR path, overlay path or None)] after checking that nothing is lost."""
    from dic_tf.utils.image_files import output_names

    try:
        names = output_names(paths)
    except ValueError as error:
        raise app.UsageError(f"--input={FLAGS.input}: {error}") from error
    planned = [
        (path, os.path.join(FLAGS.output_dir, name),
         os.path.join(FLAGS.output_dir, OVERLAY_DIR, name) if FLAGS.landmarks else None)
        for path, name in zip(paths, names)
    ]
    targets = [p for _, sr, overlay in planned for p in (sr, overlay) if p]
    if FLAGS.landmarks:
        targets.append(os.path.join(FLAGS.output_dir, LANDMARKS_FILE))
    existing = [t for t in targets if os.path.lexists(t)]
    for target in existing:
        for path in paths:
            if os.path.samefile(target, path):
                raise app.UsageError(
                    f"--output_dir={FLAGS.output_dir}: writing {target} would overwrite the input "
                    f"{path}; choose another --output_dir."
                )
    if existing and not FLAGS.overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise app.UsageError(
            f"--output_dir={FLAGS.output_dir} already holds {existing[0]}{more}; give a new "
            "folder, or --overwrite to replace earlier outputs."
        )
    return planned


def check_flags():
    """Checks the model source and the input before TensorFlow is imported."""
    if FLAGS.photos:
        for name in ("landmarks", "overwrite", "lr_size"):
            if FLAGS[name].present:
                raise app.UsageError(
                    f"--{name} does not apply to --photos (photos.json always has the landmarks, "
                    "--photos never replaces a file, and each model samples faces at its own LR size)."
                )
        common_flags.model_sources_from_flags()
        from dic_tf.photos.batch import REPORT_FILE

        report = os.path.join(FLAGS.output_dir, REPORT_FILE)
        if os.path.exists(report):
            raise app.UsageError(f"{report} exists: give a new --output_dir (--photos never replaces a file).")
    else:
        for name in PHOTO_ONLY:
            if FLAGS[name].present:
                raise app.UsageError(f"--{name} applies to --photos only.")
        common_flags.model_source_from_flags()
    if FLAGS.lr_size is not None and (FLAGS.lr_size < 8 or FLAGS.lr_size % 8):
        raise app.UsageError(f"--lr_size={FLAGS.lr_size}: expected a positive multiple of 8.")
    if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
        raise app.UsageError(f"--output_dir={FLAGS.output_dir} is a file, not a folder.")
    if not os.path.isfile(FLAGS.input) and not os.path.isdir(FLAGS.input):
        raise app.UsageError(f"--input={FLAGS.input}: neither a file nor a folder.")


def _load(source, path):
    """The predictor of one model source (`--<source>=<path>`)."""
    from dic_tf import inference

    if source == "saved_model":
        return inference.SavedModelPredictor(path, FLAGS.lr_size)
    model, info = inference.load_dic(
        checkpoint=path if source == "checkpoint" else None,
        pytorch_checkpoint=path if source == "pytorch_checkpoint" else None,
        config=None if source == "checkpoint" else config_from_flags(FLAGS),
        lr_size=FLAGS.lr_size,
    )
    return inference.KerasPredictor(model, FLAGS.lr_size, validation=info["validation"])


def _predictor():
    source = common_flags.model_source_from_flags()
    value = FLAGS[source].value
    return _load(source, value[0] if isinstance(value, list) else value)


def _photo_models():
    """`[(source label, predictor)]` of every model given to --photos."""
    return [(f"--{source}={path}", _load(source, path)) for source, path in common_flags.model_sources_from_flags()]


def _predict():
    from tqdm import tqdm

    from dic_tf.report.drawing import draw_landmarks
    from dic_tf.utils import image_files
    from dic_tf.utils.resize import resize_bicubic

    paths = _inputs()
    if FLAGS.photos:
        from dic_tf.photos import batch

        return batch.run(paths, _photo_models, FLAGS.output_dir, int(FLAGS.upscale), FLAGS.output_format,
                         progress=common_flags.show_progress())
    planned = _planned_outputs(paths)
    predictor = _predictor()
    os.makedirs(os.path.join(FLAGS.output_dir, OVERLAY_DIR) if FLAGS.landmarks
                else FLAGS.output_dir, exist_ok=True)
    landmarks, failures, renamed = {}, [], []
    show_bar = len(paths) > 1 and common_flags.show_progress()
    for path, sr_path, overlay_path in tqdm(planned, desc="super-resolving", unit="image",
                                            disable=not show_bar):
        name = os.path.basename(path)
        try:
            lr = image_files.read_rgb(path)
        except image_files.ImageReadError as error:
            tqdm.write(f"skipped {name}: {error}", file=sys.stderr)
            failures.append(name)
            continue
        if lr.shape[:2] != (predictor.lr_size, predictor.lr_size):
            lr = resize_bicubic(lr, predictor.lr_size)
        prediction = predictor(lr[None])
        sr = prediction.sr[-1][0]
        image_files.write_png(sr_path, sr, overwrite=FLAGS.overwrite)
        sr_file = os.path.basename(sr_path)
        if sr_file != os.path.splitext(name)[0] + ".png":
            renamed.append(f"{name} -> {sr_file}")
        if FLAGS.landmarks:
            points = prediction.landmarks[-1][0]
            image_files.write_png(overlay_path, draw_landmarks(sr, points), overwrite=FLAGS.overwrite)
            landmarks[name] = {"sr_file": sr_file, "overlay_file": f"{OVERLAY_DIR}/{sr_file}",
                               "landmarks": points.tolist()}
    done = len(paths) - len(failures)
    written = [f"SR faces in {FLAGS.output_dir}"]
    if FLAGS.landmarks:
        landmarks_path = os.path.join(FLAGS.output_dir, LANDMARKS_FILE)
        atomic.write_json(landmarks_path, landmarks, indent=1)
        written.append(f"overlays in {os.path.join(FLAGS.output_dir, OVERLAY_DIR)}, "
                       f"points in {landmarks_path}")
    print(f"{done} of {len(paths)} image(s) written: {'; '.join(written)}")
    if renamed:
        print(f"inputs sharing a name keep their extension: {', '.join(renamed)}")
    if failures:
        print(f"skipped: {', '.join(failures)}")
    return 0 if done else 1


def main():
    """Entry point of `python predict.py` and the `dic-tf-predict` command."""
    runner.run(check_flags, _predict, doc=__doc__)
