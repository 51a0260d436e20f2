"""From a stored HR record to one model sample (numpy; shared by both input pipelines).

Sample order, augmentation and degradation randomness depend only on
`(seed, epoch)` and a sample's position in the epoch (`sample_rng`,
`degradation.degradation_rng`), so an epoch can be replayed from any batch:
a trainer at global step `g` with `n` steps per epoch resumes with
`epoch = g // n` and `skip_batches = g % n` (`resume_position`).
"""

import math

import numpy as np

from dic_tf.data import augment as augment_lib
from dic_tf.data import degradation as degradation_lib
from dic_tf.data import heatmaps as heatmaps_lib
from dic_tf.data import preparation


def epoch_order(num_examples, seed, epoch, shuffle):
    """Record indices of one epoch: a permutation drawn from `(seed, epoch)`, or `0..n-1`.

    Returns:
        int64 `[num_examples]`.

    Example:
        epoch_order(4, seed=0, epoch=1, shuffle=True)  # a permutation of 0..3
    """
    if not shuffle:
        return np.arange(num_examples, dtype=np.int64)
    return np.random.default_rng([seed, epoch]).permutation(num_examples).astype(np.int64)


def sample_rng(seed, epoch, position):
    """The augmentation generator of the sample at `position` of `epoch`.

    Example:
        rng = sample_rng(seed=0, epoch=1, position=5)
    """
    return np.random.default_rng([seed, epoch, position, 1])


def steps_per_epoch(num_examples, batch_size, drop_remainder):
    """Batches in one epoch.

    Example:
        steps_per_epoch(10, 4, drop_remainder=False)  # 3
    """
    return num_examples // batch_size if drop_remainder else math.ceil(num_examples / batch_size)


def resume_position(step, epoch_steps):
    """`(epoch, skip_batches)` that continues a run after `step` batches of `epoch_steps` per epoch.

    Example:
        resume_position(25, 10)  # (2, 5)
    """
    return step // epoch_steps, step % epoch_steps


def make_sample(
    hr,
    landmarks,
    augment=None,
    rng=None,
    scale=preparation.SCALE,
    heatmap_size=preparation.HEATMAP_SIZE,
    sigma=preparation.SIGMA,
    degradation=None,
    degradation_rng=None,
):
    """Augments a prepared HR face and derives its LR and heatmaps.

    Args:
        hr: uint8 `[S, S, 3]`.
        landmarks: `[K, 2]` `(x, y)` in HR pixels.
        augment: `AugmentConfig` or None.
        rng: `np.random.Generator`, required with `augment`.
        scale: HR / LR side ratio.
        heatmap_size: heatmap side.
        sigma: heatmap Gaussian sigma.
        degradation: None or "bicubic" (the clean LR, `preparation.make_lr`),
            or a `degradation.RealDegradation` applied to the augmented HR.
        degradation_rng: `np.random.Generator` of the degradation
            (`degradation.degradation_rng`), required with a `RealDegradation`.

    Returns:
        `(hr, lr, heatmaps, landmarks)`: uint8 `[S, S, 3]`, uint8
        `[S / scale, S / scale, 3]`, float32 `[heatmap_size, heatmap_size, K]`,
        float32 `[K, 2]`.

    Example:
        hr, lr, heatmaps, landmarks = make_sample(hr, landmarks, HELEN, sample_rng(0, 0, 5))
    """
    if augment is not None:
        hr, landmarks = augment_lib.augment(hr, landmarks, augment, rng)
    landmarks = np.asarray(landmarks, dtype=np.float32)
    heatmaps = heatmaps_lib.gaussian_heatmaps(landmarks, heatmap_size, hr.shape[0] / heatmap_size, sigma)
    return hr, degradation_lib.make_lr(hr, scale, degradation, degradation_rng), heatmaps, landmarks
