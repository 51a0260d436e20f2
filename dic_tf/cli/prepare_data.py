r"""Prepares annotated faces: TFRecord shards for train.py, or HR/LR image folders for evaluate.py.

Training and validation sets (shards plus manifest.json), here the demo's
validation faces (written by `python train.py --flagfile=configs/demo.flags`):

    python prepare_data.py --images_dir=runs/demo/demo_data/val_images \
        --annotations=runs/demo/demo_data/val_images/info.json --output_dir=runs/demo_prepared

Test sets as image folders (--image_folders): `<output_dir>/HR/<stem>.png`,
the official crop resized to --hr_size, and `<output_dir>/LR_x<scale>/<stem>.png`,
its Pillow bicubic LR, file stems kept; evaluate.py scores them:

    python prepare_data.py --image_folders --scale=8 --images_dir=runs/demo/demo_data/val_images \
        --annotations=runs/demo/demo_data/val_images/info.json --output_dir=runs/demo_test_x8
    python evaluate.py --checkpoint=runs/demo --hr_dir=runs/demo_test_x8/HR \
        --lr_dir=runs/demo_test_x8/LR_x8 --output_dir=runs/demo_eval_x8

The paper's test sets (Table 1: CelebA, 1,000 faces; Helen, 50 faces) from
the authors' annotation files:

    python prepare_data.py --image_folders --images_dir=CelebA/img_celeba \
        --annotations=new_val_info_list.pkl --output_dir=data/celeba_test
    python prepare_data.py --image_folders --images_dir=Helen/img_helen \
        --annotations=test_info_list_68.pkl --output_dir=data/helen_test

Without --annotations, every `NAME.pts` (300-W format) under --images_dir is
paired with its image. Every record is validated first; without --skip_bad any
bad record (missing/unreadable image, wrong landmark count, bbox outside the
image, ...) fails the run with the full list, and nothing is written. Nothing
is ever overwritten: shards and folders are written aside and moved into place
when complete, and an existing HR or LR_x<scale> folder stops the run.
"""

import os
import sys

from absl import app, flags

from dic_tf.cli import common_flags, runner
from dic_tf.data import preparation
from dic_tf.models.dic_config import SCALES

FLAGS = flags.FLAGS
common_flags.define_common_flags()
flags.DEFINE_string("images_dir", None, "Folder of face images (names in the annotations are relative to it).")
flags.DEFINE_string("annotations", None, "Info .pkl/.pickle or .json; omit to read .pts files next to the images.")
flags.DEFINE_string("output_dir", None, "Where shards and manifest.json (or, with --image_folders, "
                    "HR/ and LR_x<scale>/) are written.")
flags.DEFINE_bool("image_folders", False, "Write the faces as image folders for evaluate.py: <output_dir>/HR and "
                  "<output_dir>/LR_x<scale> (Pillow bicubic LR), one <stem>.png per face, instead of shards.")
flags.DEFINE_integer("num_shards", 1, "Number of TFRecord shards.", lower_bound=1)
flags.DEFINE_bool("skip_bad", False, "Leave bad records out (listed in the manifest, or printed) instead of failing.")
flags.DEFINE_integer("hr_size", preparation.HR_SIZE, "Side of the prepared HR faces.", lower_bound=1)
flags.DEFINE_enum("scale", str(preparation.SCALE), [str(s) for s in SCALES],
                  "HR / LR side ratio: 8 (the paper's), 4 or 2.")
flags.DEFINE_bool("pts_one_based", False, "Subtract 1 from .pts coordinates (original 300-W files count from 1).")
flags.mark_flags_as_required(["images_dir", "output_dir"])


def check_flags():
    """Checks folders, files and sizes before TensorFlow is imported."""
    if not os.path.isdir(FLAGS.images_dir):
        raise app.UsageError(f"--images_dir={FLAGS.images_dir}: no such folder.")
    if FLAGS.annotations and not os.path.isfile(FLAGS.annotations):
        raise app.UsageError(f"--annotations={FLAGS.annotations}: no such file.")
    if FLAGS.hr_size % int(FLAGS.scale):
        raise app.UsageError(
            f"--hr_size={FLAGS.hr_size} is not divisible by --scale={int(FLAGS.scale)}."
        )
    if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
        raise app.UsageError(f"--output_dir={FLAGS.output_dir} is a file, not a folder.")
    if FLAGS.image_folders and FLAGS["num_shards"].present:
        raise app.UsageError("--num_shards applies to TFRecord shards, not to --image_folders.")
    if FLAGS.image_folders:
        from dic_tf.data import image_folders

        for folder in (image_folders.HR_DIR, image_folders.lr_dir_name(int(FLAGS.scale))):
            if os.path.lexists(os.path.join(FLAGS.output_dir, folder)):
                raise app.UsageError(
                    f"--output_dir={FLAGS.output_dir} already holds {folder}; it is left as it was "
                    "(give another --output_dir)."
                )


def _write_image_folders():
    from dic_tf.data import image_folders

    summary = image_folders.write_image_folders(
        FLAGS.images_dir,
        FLAGS.annotations,
        FLAGS.output_dir,
        scale=int(FLAGS.scale),
        hr_size=FLAGS.hr_size,
        skip_bad=FLAGS.skip_bad,
        pts_one_based=FLAGS.pts_one_based,
        progress=common_flags.show_progress(),
    )
    for skipped in summary["skipped"]:
        print(f"skipped {skipped}")
    print(
        f"prepare_data: wrote {summary['num_faces']} HR faces to {summary['hr_dir']} and their x{int(FLAGS.scale)} LR "
        f"to {summary['lr_dir']}; skipped {len(summary['skipped'])} bad record(s)"
    )


def _prepare():
    from dic_tf.data import annotations, dataset_builder

    try:
        if FLAGS.image_folders:
            return _write_image_folders()
        manifest = dataset_builder.build_dataset(
            FLAGS.images_dir,
            FLAGS.annotations,
            FLAGS.output_dir,
            num_shards=FLAGS.num_shards,
            skip_bad=FLAGS.skip_bad,
            hr_size=FLAGS.hr_size,
            scale=int(FLAGS.scale),
            pts_one_based=FLAGS.pts_one_based,
            progress=common_flags.show_progress(),
        )
    except (annotations.AnnotationError, dataset_builder.PreparationError) as error:
        # One record per line: the message lists every bad record by image name.
        sys.exit(f"{runner.program()}: error: {error}")
    for skipped in manifest["skipped"]:
        print(f"skipped {skipped['problem']}")
    print(
        f"prepare_data: wrote {manifest['num_examples']} records in {len(manifest['shards'])} shard(s) "
        f"to {FLAGS.output_dir}; skipped {manifest['num_skipped']} bad record(s)"
    )


def main():
    """Entry point of `python prepare_data.py` and the `dic-tf-prepare-data` command."""
    runner.run(check_flags, _prepare, doc=__doc__)
