r"""Face sizes x upscales, and unseen degradations: `--photos` output faces against bicubic (docs/photos.md).

    python scripts/measure_photo_faces.py --images_dir=../shared/faces/images \
        --annotations=holdout_info.json --checkpoint=runs/x8 --checkpoint=runs/x4 --checkpoint=runs/x2 \
        --output=runs/photo_faces.json

For every annotated face (the last `--last` by sorted name), every face size
`s` of `--sizes` and upscale `U` of `--upscales` with `s x U` at most the
source's crop box side, `dic_tf.photos.measurement` makes the input photo
(the truth shrunk by `U`, as `--degradations` says) and scores the face
region of `predict.py --photos`'s output (each model forced, and the model
the product chooses) and of Pillow bicubic upscaling against the truth:
PSNR / official SSIM on Y. `--degradations=grid` measures issue 34's grid of
unseen degradations (`measurement.UNSEEN_GRID`) at each cell instead of the
clean input. Prints one Markdown table per degradation and writes all
numbers to `--output` (JSON, a new file).
"""

import json
import os
import sys

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from dic_tf import inference  # noqa: E402
from dic_tf.data import annotations  # noqa: E402
from dic_tf.photos import measurement  # noqa: E402
from dic_tf.utils import atomic, image_files  # noqa: E402

flags.DEFINE_multi_string("checkpoint", None, "Training checkpoint or run folder of a DIC; repeat for several.",
                          required=True)
flags.DEFINE_multi_string("label", None, "A label per --checkpoint for the tables (default: the folder name).")
flags.DEFINE_string("images_dir", None, "Folder of the annotated face pictures (square).", required=True)
flags.DEFINE_string("annotations", None, "Info JSON/pickle of the pictures (authors' format).", required=True)
flags.DEFINE_integer("last", 100, "Measure the last N pictures by sorted name.", lower_bound=1)
flags.DEFINE_list("sizes", ["12", "16", "24", "32", "48", "64"], "Face sizes s (crop box side, input pixels).")
flags.DEFINE_list("upscales", ["2", "4", "8"], "Upscales U.")
flags.DEFINE_enum("degradations", "clean", ["clean", "jpeg90", "grid"],
                  "clean: the truth shrunk by Pillow bicubic, lossless; jpeg90: then a JPEG round trip at "
                  "quality 90; grid: issue 34's unseen degradations, one factor at a time.")
flags.DEFINE_integer("seed", 2026, "Seed of the noise.")
flags.DEFINE_string("output", None, "JSON file to write (must not exist).", required=True)
FLAGS = flags.FLAGS

DEGRADATIONS = {
    "clean": (measurement.CLEAN,),
    "jpeg90": (measurement.Degradation(jpeg_quality=90),),
    "grid": measurement.UNSEEN_GRID,
}


def _load_faces():
    records, problems = annotations.read_annotations(FLAGS.annotations)
    if problems:
        raise app.UsageError(f"--annotations={FLAGS.annotations}: {problems[0]}")
    records = sorted(records, key=lambda record: record.name)[-FLAGS.last:]
    return [(image_files.read_rgb(os.path.join(FLAGS.images_dir, r.name)), r.landmarks, r.bbox) for r in records]


def _table(cells, labels):
    head = "| s | U | output face | bicubic | " + " | ".join(labels) + " | chosen (faces per model) |"
    lines = [head, "|" + "---:|" * (head.count("|") - 1)]
    for cell in cells:
        result = cell["result"]
        models = " | ".join(f"{m['psnr']:.2f} / {m['ssim']:.3f}" for m in result["models"])
        counts = ", ".join(f"{labels[int(k)] if k != 'bicubic' else k} {n}"
                           for k, n in sorted(result["chosen_counts"].items()))
        lines.append(f"| {cell['size']} | {cell['upscale']} | {cell['size'] * cell['upscale']} px | "
                     f"{result['bicubic']['psnr']:.2f} / {result['bicubic']['ssim']:.3f} | {models} | "
                     f"{result['chosen']['psnr']:.2f} / {result['chosen']['ssim']:.3f} ({counts}) |")
    return "\n".join(lines)


def main(argv):
    del argv
    if os.path.exists(FLAGS.output):
        raise app.UsageError(f"--output={FLAGS.output} exists; give a new file.")
    labels = FLAGS.label or [os.path.basename(os.path.normpath(c)) for c in FLAGS.checkpoint]
    if len(labels) != len(FLAGS.checkpoint):
        raise app.UsageError(f"--label is given {len(labels)} times for {len(FLAGS.checkpoint)} --checkpoint.")
    predictors = []
    for checkpoint in FLAGS.checkpoint:
        model, info = inference.load_dic(checkpoint=checkpoint)
        predictors.append(inference.KerasPredictor(model, validation=info["validation"]))
    faces = _load_faces()
    report = {"checkpoints": FLAGS.checkpoint, "labels": labels, "faces": len(faces),
              "models": [{"scale": p.scale, "lr_size": p.lr_size, "validation": p.validation} for p in predictors],
              "tables": []}
    for degradation in DEGRADATIONS[FLAGS.degradations]:
        cells = []
        for size in map(int, FLAGS.sizes):
            for upscale in map(int, FLAGS.upscales):
                result = measurement.measure_cell(faces, predictors, size, upscale, degradation, FLAGS.seed)
                if result is not None:
                    cells.append({"size": size, "upscale": upscale, "result": result})
        report["tables"].append({"degradation": degradation._asdict(), "label": degradation.label(), "cells": cells})
        print(f"\n{degradation.label()}: PSNR (dB) / SSIM on Y of the face region, {len(faces)} faces\n")
        print(_table(cells, labels), flush=True)
    atomic.write_new_file(FLAGS.output, (json.dumps(report, indent=1) + "\n").encode("utf-8"))


if __name__ == "__main__":
    app.run(main)
