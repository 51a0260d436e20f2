"""Super-resolves face crops (one image or a folder) with DIC.

    python predict.py --saved_model=saved_models/dic --input=faces/ --output_dir=out --landmarks
    python predict.py --checkpoint=runs/dic/ckpt --input=face.png --output_dir=out
    python predict.py --pytorch_checkpoint=DIC_CelebA.pth --config=x8 --input=faces/ --output_dir=out

Crops of any size are resized to the LR size with Pillow bicubic (as the data
preparation). For each input `<name>.<ext>` it writes `<name>.png` (the x8 SR
face) and, with --landmarks, `<name>_landmarks.png` (SR with the landmarks
drawn) plus one `landmarks.json` for the run:

    {"<input file name>": {"sr_file": "<name>.png", "landmarks": [[x, y], ...]}, ...}

with (x, y) in SR pixels (see dic_tf/export/serving.py for the peak rule).
Unreadable files are reported and skipped; the exit status is non-zero only
if no image could be processed.
"""

import json
import os
import sys

from absl import app, flags, logging
from tqdm import tqdm

from dic_tf.flags import config_from_flags, define_config_flags

define_config_flags()
flags.DEFINE_string("input", None, "An image file or a folder of images.", required=True)
flags.DEFINE_string("output_dir", None, "Folder for the SR images (created).", required=True)
flags.DEFINE_string("saved_model", None, "Export base path or version directory.")
flags.DEFINE_string("checkpoint", None, "Training checkpoint directory.")
flags.DEFINE_string("pytorch_checkpoint", None, "Official .pth checkpoint; needs the config flags.")
flags.DEFINE_integer("lr_size", None, "LR side inputs are resized to; default: the export's, else 16.")
flags.DEFINE_boolean("landmarks", False, "Also write landmarks.json and landmark overlays.")
flags.DEFINE_boolean("photos", False, "Inputs are photos: detect, align, super-resolve and paste back every face "
                     "(dic_tf.photos.batch; needs mtcnn).")
FLAGS = flags.FLAGS
LANDMARKS_FILE = "landmarks.json"


def _predictor():
    from dic_tf import inference

    sources = [s for s in (FLAGS.saved_model, FLAGS.checkpoint, FLAGS.pytorch_checkpoint) if s]
    if len(sources) != 1:
        raise app.UsageError("Give exactly one of --saved_model, --checkpoint or --pytorch_checkpoint.")
    if FLAGS.saved_model:
        predictor = inference.SavedModelPredictor(FLAGS.saved_model)
        if FLAGS.lr_size:
            predictor.lr_size = FLAGS.lr_size
        return predictor
    lr_size = FLAGS.lr_size or inference.DEFAULT_LR_SIZE
    model, _ = inference.load_dic(
        checkpoint=FLAGS.checkpoint,
        pytorch_checkpoint=FLAGS.pytorch_checkpoint,
        config=None if FLAGS.checkpoint else config_from_flags(FLAGS),
        lr_size=lr_size,
    )
    return inference.KerasPredictor(model, lr_size)


def _inputs():
    from dic_tf import inference

    if os.path.isdir(FLAGS.input):
        return inference.list_images(FLAGS.input)
    if os.path.isfile(FLAGS.input):
        return [FLAGS.input]
    raise app.UsageError(f"--input {FLAGS.input!r} is neither a file nor a folder.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from dic_tf import inference

    paths = _inputs()
    if not paths:
        logging.error("No image files in %s.", FLAGS.input)
        return 1
    if FLAGS.photos:
        if FLAGS.landmarks:
            raise app.UsageError("--landmarks does not apply to --photos: photos.json always has the landmarks.")
        from dic_tf.photos import batch

        return batch.run(paths, _predictor, FLAGS.output_dir)
    predictor = _predictor()
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    landmarks, failures = {}, []
    for path in tqdm(paths, desc="super-resolving", unit="image", disable=len(paths) == 1):
        name = os.path.basename(path)
        stem = os.path.splitext(name)[0]
        try:
            lr = inference.to_lr(inference.read_rgb(path), predictor.lr_size)
        except inference.ImageReadError as error:
            tqdm.write(f"skipped {name}: {error}", file=sys.stderr)
            failures.append(name)
            continue
        outputs = predictor(lr[None])
        sr = inference.to_uint8(outputs["sr"][0])
        inference.write_png(os.path.join(FLAGS.output_dir, f"{stem}.png"), sr)
        if FLAGS.landmarks:
            points = outputs["landmarks"][0]
            overlay = inference.draw_landmarks(sr, points)
            inference.write_png(os.path.join(FLAGS.output_dir, f"{stem}_landmarks.png"), overlay)
            landmarks[name] = {"sr_file": f"{stem}.png", "landmarks": points.tolist()}
    if FLAGS.landmarks:
        with open(os.path.join(FLAGS.output_dir, LANDMARKS_FILE), "w") as f:
            json.dump(landmarks, f, indent=1)
    done = len(paths) - len(failures)
    print(f"{done} of {len(paths)} image(s) written to {FLAGS.output_dir}", end="")
    print(f"; skipped: {', '.join(failures)}" if failures else "")
    return 0 if done else 1


if __name__ == "__main__":
    app.run(main)
