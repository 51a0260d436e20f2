"""Prepares annotated faces into TFRecord shards and a manifest.json.

    python prepare_data.py --images_dir=DIR [--annotations=info.pkl|info.json] \
        --output_dir=OUT [--num_shards=N] [--skip_bad]

Without --annotations, every `NAME.pts` (300-W format) under --images_dir is
paired with its image. Every record is validated first; without --skip_bad any
bad record (missing/unreadable image, wrong landmark count, bbox outside the
image, ...) fails the run with the full list, and nothing is written.
"""

import os
import sys

from absl import app, flags

from dic_tf.cli import common_flags, runner
from dic_tf.data import preparation

FLAGS = flags.FLAGS
common_flags.define_common_flags()
flags.DEFINE_string("images_dir", None, "Folder of face images (names in the annotations are relative to it).")
flags.DEFINE_string("annotations", None, "Info .pkl/.pickle or .json; omit to read .pts files next to the images.")
flags.DEFINE_string("output_dir", None, "Where shards and manifest.json are written.")
flags.DEFINE_integer("num_shards", 1, "Number of TFRecord shards.", lower_bound=1)
flags.DEFINE_bool("skip_bad", False, "Leave bad records out (listed in the manifest) instead of failing.")
flags.DEFINE_integer("hr_size", preparation.HR_SIZE, "Side of the prepared HR faces.", lower_bound=1)
flags.DEFINE_integer("scale", preparation.SCALE, "HR / LR side ratio.", lower_bound=1)
flags.DEFINE_bool("pts_one_based", False, "Subtract 1 from .pts coordinates (original 300-W files count from 1).")
flags.mark_flags_as_required(["images_dir", "output_dir"])


def check_flags():
    """Checks folders, files and sizes before TensorFlow is imported."""
    if not os.path.isdir(FLAGS.images_dir):
        raise app.UsageError(f"--images_dir={FLAGS.images_dir}: no such folder.")
    if FLAGS.annotations and not os.path.isfile(FLAGS.annotations):
        raise app.UsageError(f"--annotations={FLAGS.annotations}: no such file.")
    if FLAGS.hr_size % FLAGS.scale:
        raise app.UsageError(
            f"--hr_size={FLAGS.hr_size} is not divisible by --scale={FLAGS.scale}."
        )
    if os.path.exists(FLAGS.output_dir) and not os.path.isdir(FLAGS.output_dir):
        raise app.UsageError(f"--output_dir={FLAGS.output_dir} is a file, not a folder.")


def _prepare():
    from dic_tf.data import annotations
    from dic_tf.data import dataset_builder as tfrecords

    try:
        manifest = tfrecords.build_dataset(
            FLAGS.images_dir,
            FLAGS.annotations,
            FLAGS.output_dir,
            num_shards=FLAGS.num_shards,
            skip_bad=FLAGS.skip_bad,
            hr_size=FLAGS.hr_size,
            scale=FLAGS.scale,
            pts_one_based=FLAGS.pts_one_based,
            progress=common_flags.show_progress(),
        )
    except (annotations.AnnotationError, tfrecords.PreparationError) as error:
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
