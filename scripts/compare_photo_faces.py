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

from PIL import Image, ImageDraw

LABEL_HEIGHT = 14


def _panel(path, size, label):
    image = Image.open(path).convert("RGB")
    image = image.resize((size, size), Image.NEAREST) if image.size[0] < size else image
    panel = Image.new("RGB", (size, size + LABEL_HEIGHT), "white")
    panel.paste(image, (0, 0))
    ImageDraw.Draw(panel).text((2, size + 1), label, fill="black")
    return panel


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
    size = Image.open(paths[-1]).size[0]
    panels = [_panel(p, size, label) for p, label in zip(paths, ["LR", "bicubic"] + labels)]
    canvas = Image.new("RGB", (len(panels) * (size + 4) - 4, size + LABEL_HEIGHT), "white")
    for i, panel in enumerate(panels):
        canvas.paste(panel, (i * (size + 4), 0))
    canvas.save(args.output)
    print(f"wrote {args.output}: {' | '.join(['LR', 'bicubic'] + labels)} ({canvas.size[0]}x{canvas.size[1]})")


if __name__ == "__main__":
    main()
