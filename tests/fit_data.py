"""TensorFlow-free test data of the fit() tests (imported by the JAX subprocesses too)."""

import numpy as np

from dic_tf.data.pydataset import ArraySource, FacePyDataset
from dic_tf.models.dic_config import DICConfig

MICRO = DICConfig(num_features=4, num_steps=2, num_groups=1, hg_num_features=8, num_fusion_blocks=1)
MICRO_FLAGS = ["--num_features=4", "--num_steps=2", "--num_groups=1", "--hg_num_features=8",
               "--num_fusion_blocks=1"]


def faces():
    """Eight random faces, batches of two: 4 batches per epoch, endless."""
    rng = np.random.default_rng(0)
    source = ArraySource(rng.integers(0, 256, (8, 128, 128, 3), dtype=np.uint8),
                         rng.uniform(30, 98, (8, 68, 2)).astype("float32"), list("abcdefgh"))
    return FacePyDataset(source, batch_size=2, training=True, seed=3, with_names=False,
                         repeat=True)
