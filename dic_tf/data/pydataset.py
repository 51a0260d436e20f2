"""`keras.utils.PyDataset` twin of `pipeline.make_dataset`, without TensorFlow.

For training on the JAX (or torch) backend: reads the same prepared shards
(`records`, no TensorFlow) or in-memory arrays, and yields the same batches as
`make_dataset` with the same arguments (same order, augmentations, LR, also
degraded, and heatmaps), as numpy arrays.
"""

import dataclasses
import os

import keras
import numpy as np

from dic_tf.data import degradation as degradation_lib
from dic_tf.data import sample, shards
from dic_tf.utils.image_space import pixels_to_model_space


@dataclasses.dataclass
class ArraySource:
    """Prepared faces held in memory.

    Attributes:
        hr: uint8 `[N, S, S, 3]` prepared HR faces.
        landmarks: `[N, K, 2]` `(x, y)` in HR pixels.
        names: N strings.
        scale: HR / LR side ratio.
    """

    hr: np.ndarray
    landmarks: np.ndarray
    names: list
    scale: int = 8

    def __post_init__(self):
        n, size = len(self.hr), self.hr.shape[1]
        if self.hr.dtype != np.uint8 or self.hr.shape[1:] != (size, size, 3):
            raise ValueError(f"ArraySource: hr is {self.hr.dtype} {self.hr.shape}, expected uint8 [N, S, S, 3]")
        if self.landmarks.shape[0] != n or self.landmarks.shape[2:] != (2,) or len(self.names) != n:
            raise ValueError(
                f"ArraySource: landmarks {self.landmarks.shape} and {len(self.names)} names do not match "
                f"hr {self.hr.shape}, expected [N, K, 2] and N names with N = {n}"
            )
        self.hr_size, self.num_keypoints = size, self.landmarks.shape[1]

    def __len__(self):
        return len(self.hr)

    def get(self, index):
        """`(hr, landmarks, name)` of record `index`."""
        return self.hr[index], np.asarray(self.landmarks[index], dtype=np.float32), self.names[index]


class ManifestSource:
    """Records of a prepared dataset (`manifest.json` or its folder)."""

    def __init__(self, manifest_or_dir):
        manifest = shards.read_manifest(manifest_or_dir)
        self.index = shards.RecordIndex([shard["path"] for shard in manifest["shards"]])
        self.hr_size, self.scale = manifest["hr_size"], manifest["scale"]
        self.num_keypoints = manifest["num_keypoints"]

    def __len__(self):
        return len(self.index)

    def get(self, index):
        """`(hr, landmarks, name)` of record `index`."""
        return shards.decode_record(self.index.read(index), self.num_keypoints)


class FacePyDataset(keras.utils.PyDataset):
    """Batches of prepared faces for `model.fit` or a manual loop.

    Args:
        source: `manifest.json`, its folder, or an `ArraySource`.
        batch_size: samples per batch.
        training: shuffle by `(seed, epoch)`, apply `augment`, drop the last
            partial batch.
        augment: `augment.AugmentConfig` or None.
        seed: data seed.
        epoch: epoch of the first pass; `on_epoch_end` advances it.
        skip_batches: batches of the first pass to skip (resuming mid-epoch).
        repeat: an endless stream (`num_batches` is None): batch `i` is batch
            `skip_batches + i` of epochs `epoch, epoch + 1, ...`, each with its
            own order, as `pipeline.make_dataset(..., repeat=True)`; give
            `fit()` a `steps_per_epoch`. Otherwise one epoch, and Keras sizes
            every epoch of one `fit` call from the first `len()`.
        heatmap_size: heatmap side; defaults to `hr_size // 4`.
        sigma: heatmap Gaussian sigma.
        degradation: None or "bicubic" (the clean LR), or "real" / a
            `degradation.RealDegradation`, drawn per sample from
            `degradation_rng(seed, epoch, position)`, with or without `training`.
        scale: HR / LR side ratio of the LR made from each HR; default the
            source's (the manifest's).
        with_names: include `name` (a numpy bytes array); set False for
            `model.fit` on backends that cannot hold strings.
        **kwargs: `workers`, `use_multiprocessing`, `max_queue_size`.

    Batches are dicts as `pipeline.make_dataset`: `lr`, `hr` float32 (RGB in
    [0, 1] minus `RGB_MEAN`), `heatmaps` float32 `[B, h, h, K]`, `landmarks`
    float32 `[B, K, 2]`, and `name` bytes `[B]`.
    """

    def __init__(
        self,
        source,
        batch_size,
        training,
        augment=None,
        seed=0,
        epoch=0,
        skip_batches=0,
        heatmap_size=None,
        sigma=1.0,
        with_names=True,
        repeat=False,
        degradation=None,
        scale=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source = ManifestSource(source) if isinstance(source, (str, os.PathLike)) else source
        self.batch_size, self.training = batch_size, training
        self.augment = augment if training else None
        self.seed, self.epoch, self.skip_batches = seed, epoch, skip_batches
        self.heatmap_size = heatmap_size or self.source.hr_size // 4
        self.sigma, self.with_names, self.repeat = sigma, with_names, repeat
        self.degradation = degradation_lib.resolve(degradation)
        self.scale = scale or self.source.scale
        if self.source.hr_size % self.scale:
            raise ValueError(f"FacePyDataset: HR side {self.source.hr_size} is not divisible by scale={self.scale}")
        self._steps = sample.steps_per_epoch(len(self.source), batch_size, drop_remainder=training)
        if self._steps == 0 or not 0 <= skip_batches < self._steps:
            raise ValueError(
                f"FacePyDataset: {len(self.source)} examples make {self._steps} batches of {batch_size}; "
                f"skip_batches={skip_batches} must be in [0, {self._steps})"
            )
        self._order = sample.epoch_order(len(self.source), seed, epoch, training)

    def __len__(self):
        return self._steps - self.skip_batches

    @property
    def num_batches(self):
        return None if self.repeat else len(self)

    def __getitem__(self, index):
        if self.repeat:
            epoch, batch = divmod(index + self.skip_batches, self._steps)
            epoch += self.epoch
            order = sample.epoch_order(len(self.source), self.seed, epoch, self.training)
        elif not 0 <= index < len(self):
            raise IndexError(f"FacePyDataset: batch {index} out of range [0, {len(self)})")
        else:
            epoch, batch, order = self.epoch, index + self.skip_batches, self._order
        start = batch * self.batch_size
        positions = range(start, min(start + self.batch_size, len(self.source)))
        columns = {"lr": [], "hr": [], "heatmaps": [], "landmarks": [], "name": []}
        for position in positions:
            hr, landmarks, name = self.source.get(int(order[position]))
            rng = sample.sample_rng(self.seed, epoch, position) if self.augment else None
            lr_rng = degradation_lib.degradation_rng(self.seed, epoch, position) if self.degradation else None
            hr, lr, heatmaps, landmarks = sample.make_sample(
                hr, landmarks, self.augment, rng, self.scale, self.heatmap_size, self.sigma,
                self.degradation, lr_rng,
            )
            for key, value in zip(columns, (lr, hr, heatmaps, landmarks, name.encode("utf-8"))):
                columns[key].append(value)
        batch = {
            "lr": pixels_to_model_space(np.stack(columns["lr"])),
            "hr": pixels_to_model_space(np.stack(columns["hr"])),
            "heatmaps": np.stack(columns["heatmaps"]),
            "landmarks": np.stack(columns["landmarks"]),
        }
        if self.with_names:
            batch["name"] = np.array(columns["name"], dtype=object)
        return batch

    def on_epoch_end(self):
        """Moves to the next epoch: a new order and new augmentations.

        An endless stream (`repeat=True`) ignores it: its batch `i` is fixed by
        `i` alone. Keras' `fit()` calls `on_epoch_end` once before the first
        step too (`EpochIterator.reset` after building the model), which would
        otherwise skip a whole epoch of the stream.
        """
        if self.repeat:
            return
        self.epoch += 1
        self.skip_batches = 0
        self._order = sample.epoch_order(len(self.source), self.seed, self.epoch, self.training)
