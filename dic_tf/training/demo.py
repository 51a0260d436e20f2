"""The embedded demo dataset: synthetic faces prepared like a real dataset."""

import os

from dic_tf.data import synthetic

# Seeds of the demo splits; validation faces are never seen in training.
TRAIN_SEED = 2020
VAL_SEED = 7


def prepare_demo_data(root, num_train, num_val):
    """Generates and prepares the demo faces under `root` once.

    Returns:
        (train_dir, val_dir): prepared dataset folders (manifest + shards).
    """
    dirs = []
    for split, count, seed in (("train", num_train, TRAIN_SEED), ("val", num_val, VAL_SEED)):
        prepared = os.path.join(root, split)
        manifest = os.path.join(prepared, "manifest.json")
        if not os.path.isfile(manifest):
            from dic_tf.data import tfrecords

            images = os.path.join(root, f"{split}_images")
            info = synthetic.write_faces(synthetic.generate_faces(count, seed), images)
            tfrecords.build_dataset(images, info, prepared, num_shards=2)
        dirs.append(prepared)
    return tuple(dirs)
