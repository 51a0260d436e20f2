r"""Evaluates face super-resolution under the official DIC protocol.

Folder mode compares any method's outputs with the ground truth by file name:

    python evaluate.py --sr_dir=results/DIC --hr_dir=data/CelebA/test/HR \
        --output_dir=runs/eval_dic [--scale=8] [--ssim=official|standard]

and writes `<output_dir>/results.json` (per-image and average PSNR/SSIM on the
Y channel, plus the protocol). See `dic_tf/evaluation.py`.
"""

import sys

from absl import app, flags

from dic_tf import evaluation, metrics

flags.DEFINE_enum("mode", "folder", ["folder"], "What to evaluate: 'folder' compares "
                  "--sr_dir with --hr_dir.")
flags.DEFINE_string("sr_dir", None, "Folder of super-resolved images (folder mode).")
flags.DEFINE_string("hr_dir", None, "Folder of ground-truth images (folder mode).")
flags.DEFINE_string("output_dir", None, "Folder receiving results.json.")
flags.DEFINE_integer("scale", 8, "Super-resolution factor; also the border cropped "
                     "before measuring.", lower_bound=0)
flags.DEFINE_enum("ssim", "official", list(metrics.SSIM_VARIANTS),
                  "'official' reproduces the authors' numbers (SSIM on 256 - Y); "
                  "'standard' is the textbook SSIM on Y.")
flags.mark_flag_as_required("output_dir")

FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if FLAGS.mode == "folder":
        missing = [name for name in ("sr_dir", "hr_dir") if not FLAGS[name].value]
        if missing:
            raise app.UsageError(f"--mode=folder needs --{' and --'.join(missing)}.")
        try:
            evaluation.run_folder_mode(
                FLAGS.sr_dir, FLAGS.hr_dir, FLAGS.output_dir,
                scale=FLAGS.scale, ssim_variant=FLAGS.ssim,
            )
        except (OSError, ValueError) as error:
            sys.exit(f"evaluate.py: error: {error}")


if __name__ == "__main__":
    app.run(main)
