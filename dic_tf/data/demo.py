"""The embedded demo dataset: synthetic faces prepared like a real dataset."""

import os

from dic_tf.data import shards, synthetic

# Seeds of the demo splits; validation faces are never seen in training.
TRAIN_SEED = 2020
VAL_SEED = 7


def prepare_demo_data(root, num_train, num_val):
    """Generates and prepares the demo faces under `root` once.

    Args:
        root: folder of the demo data (`<train_dir>/demo_data`).
        num_train, num_val: synthetic faces per split.

    Returns:
        (train_dir, val_dir): prepared dataset folders (manifest + shards).

    Raises:
        ValueError: `root` already holds another number of demo faces (a run
            resumed with other --demo_*_faces flags).

    Example:
        train_dir, val_dir = prepare_demo_data("runs/demo/demo_data", 600, 32)
    """
    dirs = []
    for split, count, seed in (("train", num_train, TRAIN_SEED), ("val", num_val, VAL_SEED)):
        prepared = os.path.join(root, split)
        manifest = os.path.join(prepared, "manifest.json")
        if os.path.isfile(manifest):
            found = shards.read_manifest(manifest)["num_examples"]
            if found != count:
                raise ValueError(
                    f"{root} holds {found} {split} demo faces, but --demo_{split}_faces={count}: "
                    "give the value the run was started with, or another --train_dir."
                )
        else:
            from dic_tf.data import dataset_builder

            images = os.path.join(root, f"{split}_images")
            info = synthetic.write_faces(synthetic.generate_faces(count, seed), images)
            dataset_builder.build_dataset(images, info, prepared, num_shards=2)
        dirs.append(prepared)
    return tuple(dirs)
