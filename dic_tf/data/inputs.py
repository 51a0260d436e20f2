"""The training input of the current Keras backend: the one place that picks it.

TensorFlow trains on `pipeline.make_dataset` (tf.data: parallel map,
prefetch, and what `tf.distribute` strategies shard); other backends train on
`pydataset.FacePyDataset`, which needs no TensorFlow. Both give the same
batches from any position (order, augmentations, LR and heatmaps;
tests/test_data_pipeline.py), so a run resumes on either.

Example:
    batches = training_batches("data/prepared", 8, augment=augment.CELEBA, epoch=2, skip_batches=30)
    task.fit(batches, steps_per_epoch=1000)
"""

from dic_tf.utils import backend


def training_batches(data, batch_size, *, keys=None, augment=None, seed=0, epoch=0, skip_batches=0,
                     degradation=None, scale=None):
    """The endless training batches of a prepared dataset from `(epoch, skip_batches)` on.

    Args:
        data: `manifest.json` or its folder (from `prepare_data.py`).
        batch_size: samples per batch (the last partial batch of an epoch is dropped).
        keys: the batch keys the task reads (e.g. `("lr", "hr", "heatmaps")`);
            None keeps every numeric key. tf.data keeps only these; a
            `FacePyDataset` batch holds every numeric key.
        augment: `augment.AugmentConfig` or None.
        seed: data seed (order, augmentations, degradation).
        epoch: the first epoch; skip_batches: its batches to skip (resuming).
        degradation: None / "bicubic", "real" or a `degradation.RealDegradation`.
        scale: HR / LR side ratio of the LR made from each HR (the model's);
            default the manifest's.

    Returns:
        A `tf.data.Dataset` (TensorFlow) or a `FacePyDataset` with `repeat=True`
        (other backends), both endless and iterable, for `fit(...,
        steps_per_epoch=...)`: dicts of `lr` float32 `[B, S/scale, S/scale, 3]`,
        `hr` float32 `[B, S, S, 3]` (RGB in [0, 1] minus `RGB_MEAN`),
        `heatmaps` float32 `[B, S/4, S/4, K]` and `landmarks` float32 `[B, K, 2]`.
    """
    if backend.name() == "tensorflow":
        from dic_tf.data import pipeline

        dataset = pipeline.make_dataset(data, batch_size, training=True, augment=augment, seed=seed,
                                        epoch=epoch, skip_batches=skip_batches, degradation=degradation,
                                        scale=scale)
        keys = keys or ("lr", "hr", "heatmaps", "landmarks")
        return dataset.map(lambda batch: {key: batch[key] for key in keys})
    from dic_tf.data.pydataset import FacePyDataset

    return FacePyDataset(data, batch_size, training=True, augment=augment, seed=seed, epoch=epoch,
                         skip_batches=skip_batches, with_names=False, repeat=True, degradation=degradation,
                         scale=scale)
