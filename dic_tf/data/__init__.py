"""Data layer: from annotated photos to the batches a task trains on.

- `annotations`, `pts_files`, `restricted_pickle`: the annotation formats;
- `preparation`: the official crop and resize; `dataset_builder` writes the
  prepared faces as TFRecord shards with a manifest, `shards` reads them;
- `augment`, `heatmaps`, `sample`: one training sample from a stored face;
  `degradation/`: its real-world LR (options, kernels, operations);
- `pipeline` (tf.data) and `pydataset` (`keras.utils.PyDataset`): the same
  batches; `inputs.training_batches` picks the one of the Keras backend;
- `synthetic` and `demo`: synthetic faces with exact landmarks, and the demo
  dataset prepared from them.

Everything but `pipeline` works without TensorFlow (`dataset_builder` writes
the shards with TensorFlow's writer where it is installed). Import the
submodules explicitly, e.g. `from dic_tf.data import pipeline`.
"""

NUM_KEYPOINTS = 68
"""Landmarks per face (iBUG 68-point layout)."""
