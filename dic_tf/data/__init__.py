"""Data layer: annotations, the official preparation, augmentations, input pipelines.

The numpy-level modules (`annotations`, `heatmaps`, `preparation`, `augment`,
`sample`, `records`, `pydataset`, `synthetic`) work without TensorFlow;
`tfrecords` and `pipeline` need it. Import the submodules explicitly, e.g.
`from dic_tf.data import pipeline`.
"""

NUM_KEYPOINTS = 68
"""Landmarks per face (iBUG 68-point layout)."""
