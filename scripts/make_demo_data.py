r"""Writes a small demo test set and tiny weights for `evaluate.py`.

    python scripts/make_demo_data.py --output_dir=runs/demo [--num_faces=6]

Writes into --output_dir:

    hr/synthetic_*.png   prepared 128x128 HR faces (dic_tf.data.synthetic)
    info.json            their landmarks and crop boxes in the original frame
    dic_tiny.npz         DICConfig.tiny() weights keyed by PyTorch name
    hg_tiny.npz          a 2-stack, 32-feature landmark detector, same format

The weights are the reference fixtures in tests/fixtures (untrained), so the
demo exercises the pipeline, not the quality. Then run the printed command.
"""

import os
import sys

import numpy as np
from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from dic_tf.data import annotations, preparation, synthetic  # noqa: E402
from dic_tf.utils import image_files  # noqa: E402

flags.DEFINE_string("output_dir", None, "Folder receiving the demo data.")
flags.DEFINE_integer("num_faces", 6, "Number of synthetic faces.", lower_bound=1)
flags.DEFINE_integer("seed", 0, "Seed of the synthetic faces.")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS
FIXTURES = os.path.join(REPO, "tests", "fixtures")


def write_state_dict(fixture, path):
    """Copies the `w:<pytorch name>` arrays of a fixture to `{pytorch name: array}`."""
    with np.load(os.path.join(FIXTURES, fixture)) as data:
        weights = {k[2:]: data[k] for k in data.files if k.startswith("w:")}
    np.savez(path, **weights)


def make_demo_data(output_dir, num_faces=6, seed=0):
    """Writes the demo folder (see the module docstring)."""
    hr_dir = os.path.join(output_dir, "hr")
    os.makedirs(hr_dir, exist_ok=True)
    faces = synthetic.generate_faces(num_faces, seed)
    for name, image in zip(faces.names, faces.images):
        face = faces.info[name]
        hr, _ = preparation.crop_and_resize(image, face["landmark"], face["bbox"])
        image_files.write_png(os.path.join(hr_dir, name), hr, overwrite=True)
    annotations.write_info_json(faces.info, os.path.join(output_dir, "info.json"))
    write_state_dict("dic_tiny.npz", os.path.join(output_dir, "dic_tiny.npz"))
    write_state_dict("hg_tiny.npz", os.path.join(output_dir, "hg_tiny.npz"))


def main(argv):
    del argv
    make_demo_data(FLAGS.output_dir, FLAGS.num_faces, FLAGS.seed)
    d = FLAGS.output_dir
    print(
        f"Wrote {FLAGS.num_faces} faces to {d}. Evaluate with:\n"
        f"  python evaluate.py --pytorch_checkpoint={d}/dic_tiny.npz --config=tiny "
        f"--hr_dir={d}/hr --annotations={d}/info.json --landmark_detector={d}/hg_tiny.npz "
        "--detector_features=32 --detector_stacks=2 --saliency=landmark:30,component:mouth "
        f"--batch_size=4 --output_dir={d}/eval"
    )


if __name__ == "__main__":
    app.run(main)
