r"""README's photo picture: a region of a photo, its bicubic xU and `predict.py --photos` xU, at native size.

    python predict.py --photos --upscale=4 --checkpoint=runs/x4 --input=astronaut_128.png --output_dir=runs/fig
    python scripts/photo_figure.py --input=astronaut_128.png --photo=runs/fig/astronaut_128_x4.png \
        --upscale=4 --region=24,0,88,64 --truth=astronaut.png --output=docs/images/photo_x4.png

Panels, left to right, each with its label underneath: the region of the
input photo, of its Pillow bicubic upscale and of the `--photo` output, and
optionally of `--truth` (the same photo at the output's resolution), every
one at its own pixel size (nothing enlarged for display).
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from dic_tf.report import drawing  # noqa: E402
from dic_tf.utils import image_files, resize  # noqa: E402


def _region(image, box, factor):
    x0, y0, x1, y1 = (v * factor for v in box)
    return image[y0:y1, x0:x1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input", required=True, help="the photo given to predict.py --photos")
    parser.add_argument("--photo", required=True, help="its <stem>_x<U> output")
    parser.add_argument("--upscale", type=int, required=True)
    parser.add_argument("--region", required=True, help="x0,y0,x1,y1 in input pixels")
    parser.add_argument("--label", default="dic_tf", help="the --photo panel's label (followed by xU)")
    parser.add_argument("--truth", help="optional: the same photo at the output's resolution")
    parser.add_argument("--output", required=True, help="PNG to write (must not exist)")
    args = parser.parse_args(argv)
    if os.path.exists(args.output):
        parser.error(f"--output={args.output} exists; give a new file.")
    box = [int(v) for v in args.region.split(",")]
    small = image_files.read_rgb(args.input)
    output = image_files.read_rgb(args.photo)
    if output.shape[:2] != (small.shape[0] * args.upscale, small.shape[1] * args.upscale):
        parser.error(f"--photo={args.photo} is not --input={args.input} x{args.upscale}.")
    panels = [(_region(small, box, 1), "input"),
              (_region(resize.upscale_bicubic(small, args.upscale), box, args.upscale), f"bicubic x{args.upscale}"),
              (_region(output, box, args.upscale), f"{args.label} x{args.upscale}")]
    if args.truth:
        truth = image_files.read_rgb(args.truth)
        if truth.shape != output.shape:
            parser.error(f"--truth={args.truth} is {truth.shape[1]}x{truth.shape[0]}, not the output's size.")
        panels.append((_region(truth, box, args.upscale), "original"))
    figure = drawing.labelled_panels(panels)
    image_files.write_png(args.output, figure)
    print(f"wrote {args.output}: {' | '.join(label for _, label in panels)} ({figure.shape[1]}x{figure.shape[0]})")


if __name__ == "__main__":
    main()
