"""Side by side: one face of `predict.py --photos` runs of several models, as one PNG.

Each `--runs` folder is the `--output_dir` of a `predict.py --photos` run on
the same photo. The picture shows, enlarged to the SR size with nearest
neighbours where smaller, the face's LR, its bicubic upsampling (from the
first run) and every run's SR face, each with its label underneath.

    python scripts/compare_photo_faces.py --stem=photo --face=0 \
        --runs=runs/photos_bicubic,runs/photos_real --labels="bicubic-trained,real-trained" \
        --output=docs/images/photos_real_vs_bicubic.png
"""

import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from dic_tf.report import drawing  # noqa: E402
from dic_tf.utils import image_files  # noqa: E402


def _enlarged(path, size):
    """The image at `path`, enlarged to `size` with nearest neighbours when smaller."""
    image = image_files.read_rgb(path)
    factor = size // image.shape[0]
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1) if factor > 1 else image


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stem", required=True, help="the photo's file stem")
    parser.add_argument("--face", type=int, default=0)
    parser.add_argument("--runs", required=True, help="comma-separated predict.py --photos output folders")
    parser.add_argument("--labels", required=True, help="comma-separated labels of the runs")
    parser.add_argument("--output", required=True, help="PNG to write (must not exist)")
    args = parser.parse_args(argv)
    runs, labels = args.runs.split(","), args.labels.split(",")
    if len(runs) != len(labels):
        parser.error(f"--runs has {len(runs)} folders but --labels {len(labels)} labels.")
    if os.path.exists(args.output):
        parser.error(f"--output={args.output} exists; give a new file.")
    face = f"{args.stem}_face{args.face}"
    paths = [os.path.join(runs[0], f"{face}_lr.png"), os.path.join(runs[0], f"{face}_bicubic.png")]
    paths += [os.path.join(run, f"{face}_sr.png") for run in runs]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        parser.error(f"{missing[0]} does not exist: is it a predict.py --photos output of {args.stem!r}?")
    size = image_files.read_rgb(paths[-1]).shape[0]
    panels = [(_enlarged(p, size), label) for p, label in zip(paths, ["LR", "bicubic"] + labels)]
    figure = drawing.labelled_panels(panels, gap=4)
    image_files.write_png(args.output, figure)
    print(f"wrote {args.output}: {' | '.join(['LR', 'bicubic'] + labels)} ({figure.shape[1]}x{figure.shape[0]})")


if __name__ == "__main__":
    main()
