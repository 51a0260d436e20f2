"""tf.data input pipeline over prepared TFRecord shards.

Per sample: read the record (random access, see `shards.RecordIndex`), parse
and PNG-decode it in TensorFlow, then augment and derive the LR (Pillow
bicubic, exactly `preparation.make_lr`, or a drawn real-world degradation,
`dic_tf.data.degradation`) and the heatmaps with the numpy code of
`dic_tf.data.sample` inside `tf.numpy_function`, and normalize. Batches equal
`pydataset.FacePyDataset`'s, except heatmap values below float32's smallest
normal number (1.2e-38), which TensorFlow's threads flush to zero.

Order and augmentations depend only on `(seed, epoch)` and the position in the
epoch (not on TensorFlow's global seed), with a full shuffle of the epoch. To
resume a run after `step` optimizer steps, rebuild the dataset with
`epoch, skip_batches = sample.resume_position(step, sample.steps_per_epoch(...))`; the
skipped batches are neither read nor augmented.
"""

import tensorflow as tf

from dic_tf.data import degradation as degradation_lib
from dic_tf.data import sample, shards
from dic_tf.utils.image_space import to_model_space


def _normalize(image):
    return to_model_space(tf.cast(image, tf.float32))


def make_dataset(
    manifest_or_dir,
    batch_size,
    training,
    augment=None,
    seed=0,
    epoch=0,
    skip_batches=0,
    repeat=None,
    drop_remainder=None,
    heatmap_size=None,
    sigma=1.0,
    degradation=None,
    scale=None,
):
    """Builds the input pipeline of a prepared dataset.

    Args:
        manifest_or_dir: `manifest.json` or its folder (from `prepare_data.py`).
        batch_size: samples per batch.
        training: shuffle each epoch by `(seed, epoch)` and apply `augment`;
            otherwise keep the stored order and never augment.
        augment: `augment.AugmentConfig` (e.g. `augment.HELEN`) or None.
        seed: data seed.
        epoch: first epoch to produce.
        skip_batches: batches of `epoch` to skip (resuming mid-epoch).
        repeat: run through epochs `epoch, epoch + 1, ...` forever, each
            with its own order; defaults to `training`.
        drop_remainder: drop a last partial batch; defaults to `training`.
        heatmap_size: heatmap side; defaults to `hr_size // 4`.
        sigma: heatmap Gaussian sigma in heatmap pixels.
        degradation: None or "bicubic" (the clean LR), or "real" / a
            `degradation.RealDegradation`, drawn per sample from
            `degradation_rng(seed, epoch, position)`, with or without `training`.
        scale: HR / LR side ratio of the LR made from each prepared HR (the
            model's, e.g. 4 for 32x32 LR of 128x128 faces); default the
            manifest's.

    Returns:
        `tf.data.Dataset` of dicts: `lr` float32 `[B, S/scale, S/scale, 3]`
        and `hr` float32 `[B, S, S, 3]` (RGB in [0, 1] minus `RGB_MEAN`),
        `heatmaps` float32 `[B, heatmap_size, heatmap_size, K]`, `landmarks`
        float32 `[B, K, 2]` (`(x, y)` in HR pixels), `name` string `[B]`.

    Example:
        batches = make_dataset("data/prepared", batch_size=16, training=True)
    """
    manifest = shards.read_manifest(manifest_or_dir)
    index = shards.RecordIndex([shard["path"] for shard in manifest["shards"]])
    num_examples, hr_size, scale = len(index), manifest["hr_size"], scale or manifest["scale"]
    num_keypoints = manifest["num_keypoints"]
    if num_examples != manifest["num_examples"]:
        raise ValueError(
            f"{manifest_or_dir}: shards hold {num_examples} records, manifest says {manifest['num_examples']}"
        )
    repeat = training if repeat is None else repeat
    drop_remainder = training if drop_remainder is None else drop_remainder
    heatmap_size = heatmap_size or hr_size // 4
    steps = sample.steps_per_epoch(num_examples, batch_size, drop_remainder)
    if steps == 0 or not 0 <= skip_batches < steps:
        raise ValueError(
            f"{manifest_or_dir}: {num_examples} examples make {steps} batches of {batch_size}; "
            f"skip_batches={skip_batches} must be in [0, {steps})"
        )
    augment = augment if training else None
    degradation = degradation_lib.resolve(degradation)
    if hr_size % scale:
        raise ValueError(f"{manifest_or_dir}: HR side {hr_size} is not divisible by scale={scale}")
    lr_size = hr_size // scale
    feature_spec = {
        shards.HR_KEY: tf.io.FixedLenFeature([], tf.string),
        shards.LANDMARKS_KEY: tf.io.FixedLenFeature([num_keypoints * 2], tf.float32),
        shards.NAME_KEY: tf.io.FixedLenFeature([], tf.string),
    }

    def order_of(epoch_value):
        return sample.epoch_order(num_examples, seed, int(epoch_value), training)

    def sample_of(hr, landmarks, epoch_value, position):
        rng = sample.sample_rng(seed, int(epoch_value), int(position)) if augment else None
        lr_rng = degradation_lib.degradation_rng(seed, int(epoch_value), int(position)) if degradation else None
        return sample.make_sample(hr, landmarks, augment, rng, scale, heatmap_size, sigma, degradation, lr_rng)

    def load(position, record, epoch_value):
        serialized = tf.numpy_function(lambda i: index.read(int(i)), [record], tf.string, stateful=False)
        parsed = tf.io.parse_single_example(serialized, feature_spec)
        hr = tf.io.decode_png(parsed[shards.HR_KEY], channels=3)
        landmarks = tf.reshape(parsed[shards.LANDMARKS_KEY], [num_keypoints, 2])
        hr, lr, heatmaps, landmarks = tf.numpy_function(
            sample_of,
            [hr, landmarks, epoch_value, position],
            [tf.uint8, tf.uint8, tf.float32, tf.float32],
            stateful=False,
        )
        return {
            "lr": _normalize(tf.ensure_shape(lr, [lr_size, lr_size, 3])),
            "hr": _normalize(tf.ensure_shape(hr, [hr_size, hr_size, 3])),
            "heatmaps": tf.ensure_shape(heatmaps, [heatmap_size, heatmap_size, num_keypoints]),
            "landmarks": tf.ensure_shape(landmarks, [num_keypoints, 2]),
            "name": parsed[shards.NAME_KEY],
        }

    def epoch_dataset(epoch_value):
        order = tf.ensure_shape(tf.numpy_function(order_of, [epoch_value], tf.int64, stateful=False), [num_examples])
        start = tf.where(epoch_value == epoch, skip_batches * batch_size, 0)
        positions = tf.range(tf.cast(start, tf.int64), num_examples, dtype=tf.int64)
        dataset = tf.data.Dataset.from_tensor_slices((positions, tf.gather(order, positions)))
        dataset = dataset.map(lambda p, r: load(p, r, epoch_value), num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.batch(batch_size, drop_remainder=drop_remainder)

    if repeat:
        dataset = tf.data.Dataset.counter(start=epoch, dtype=tf.int64).flat_map(epoch_dataset)
    else:
        dataset = epoch_dataset(tf.constant(epoch, tf.int64))
    return dataset.prefetch(tf.data.AUTOTUNE)
